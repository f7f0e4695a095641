import Foundation
import Streams

/// `mes.operation-completed.v1` + `mes.scrap-reported.v1` (+ the internal work-order table) →
/// buffered, tolerance-checked postings on `erp.production-confirmation.v1`, order status for ERP
/// and CRM, quarantines (UNKNOWN_WORK_ORDER, OVER_CONFIRMATION) and dead letters.
///
/// Per work order, tumbling event-time windows aligned to the epoch: a WINDOW posting when stream
/// time passes windowEnd + grace, a MILESTONE posting at once when a final completion brings the
/// goods receipt to the ordered quantity, an ADJUSTMENT posting for an event later than the grace.
/// Every event is counted in exactly one posting; a posting id is never emitted twice.
public final class ConfirmationProcessor: StreamProcessor {
    public static let storeName = "confirmations"
    private let settings: ProcessingSettings

    // Task state, cached in memory and written to the store on `flush`. A work order with no open
    // window and nothing parked (released and not started yet, between bursts of events, or
    // completed) leaves memory after its flush and is read back from the store when an event or
    // its due date needs it: memory holds the work orders with windows open, not all released ones.
    private var loaded = false
    private var store: (any KeyValueStore)?
    private var workOrders: [String: Resident] = [:]
    private var progress: [String: WorkOrderProgress] = [:]
    private var parked: [String: [ParkedEvent]] = [:]
    private var dirty: Set<String> = []
    /// Next offset to apply per input topic of this task: a record below it was applied before
    /// (a replay after a crash or an offset reset) and changes nothing.
    private var appliedOffsets: [String: Int64] = [:]
    /// Inputs quarantined as UNKNOWN_WORK_ORDER (`topic:offset`): a replay may apply them, once
    /// their work order is known.
    private var replayable: Set<String> = []
    private var appliedDirty = false
    private var dirtyParking: Set<String> = []
    /// Work orders read back from the store since the last flush without a change (the flush
    /// lets them go again).
    private var touched: Set<String> = []
    /// Work orders received since the last flush (their table row is written once).
    private var newWorkOrders: Set<String> = []
    /// Work orders with a window closing at a time (ms).
    private var closeSchedule: [Int64: Set<String>] = [:]
    /// Work orders that turn LATE at a time (ms) unless completed.
    private var dueSchedule: [Int64: Set<String>] = [:]
    /// The earliest keys of the two schedules (`.max` when empty).
    private var nextClose = Int64.max
    private var nextDue = Int64.max

    public init(settings: ProcessingSettings = ProcessingSettings()) {
        self.settings = settings
    }

    // MARK: Input

    public func process(_ record: StreamRecord, context: any ProcessorContext) throws {
        load(context)
        if record.topic != Topics.workOrders {
            if let applied = appliedOffsets[record.topic], record.offset < applied {
                guard replayable.remove("\(record.topic):\(record.offset)") != nil else { return }
                appliedDirty = true
            } else {
                appliedOffsets[record.topic] = record.offset + 1
                appliedDirty = true
            }
        }
        switch record.topic {
        case Topics.workOrders:
            receiveWorkOrder(record, context: context)
        case Topics.operationCompleted:
            switch InputRoute(record, as: OperationCompleted.self) {
            case .deadLetter(let letter, _): context.forward(letter)
            case .event(let e): receive(.completed(e.data), metadata: e.metadata, record: record, context: context)
            }
        case Topics.scrapReported:
            switch InputRoute(record, as: ScrapReported.self) {
            case .deadLetter(let letter, _): context.forward(letter)
            case .event(let e): receive(.scrap(e.data), metadata: e.metadata, record: record, context: context)
            }
        default:
            break
        }
    }

    private func receiveWorkOrder(_ record: StreamRecord, context: any ProcessorContext) {
        guard case .success(let envelope) = EventDecoder.decode(record, as: WorkOrder.self) else { return }
        let workOrder = envelope.data
        if resident(workOrder.workOrderId)?.workOrder != workOrder { newWorkOrders.insert(workOrder.workOrderId) }
        workOrders[workOrder.workOrderId] = Resident(workOrder)
        if progress[workOrder.workOrderId] == nil {
            progress[workOrder.workOrderId] = .released(by: EventCause(
                eventId: envelope.metadata.eventId, correlationId: envelope.metadata.correlationId, topic: record.topic,
                partition: Int(record.partition), offset: record.offset))
        }
        dirty.insert(workOrder.workOrderId)
        due(at: workOrder.dueDate.milliseconds, for: workOrder.workOrderId)
        // Events that arrived before the release go in now, in arrival order.
        if let waiting = parked.removeValue(forKey: workOrder.workOrderId) {
            dirtyParking.insert(workOrder.workOrderId)
            for event in waiting { replayParked(event, context: context) }
        }
    }

    private func receive(_ event: ShopFloorEvent, metadata: EventMetadata, record: StreamRecord, context: any ProcessorContext) {
        context.observeEventTime(event.eventTime)
        let id = event.workOrderId
        let cause = EventCause(
            eventId: metadata.eventId, correlationId: metadata.correlationId, topic: record.topic,
            partition: Int(record.partition), offset: record.offset)
        guard let resident = resident(id) else {
            park(record, workOrderId: id, now: context.wallClock, correlation: record.header(EventHeader.correlationId)?.stringValue)
            return
        }
        apply(event, cause: cause, workOrder: resident.workOrder, context: context)
    }

    private func apply(_ event: ShopFloorEvent, cause: EventCause, workOrder: WorkOrder, context: any ProcessorContext) {
        let id = workOrder.workOrderId
        let eventHash = stableHash(cause.eventId)
        // Changed in place in the dictionary (one lookup, no copy of its collections).
        modifyProgress(id) { state in
            guard !state.recentEvents.contains(eventHash) else { return }
            state.recentEvents.appendBounded(eventHash)
            state.lastCause = cause
            dirty.insert(id)
            let windowStart = floorDiv(event.eventTime, settings.windowSize) * settings.windowSize
            let closesAt = windowStart + settings.windowSize + settings.grace
            if case .completed = event { state.started = true }

            if closesAt <= context.streamTime {
                // Later than the grace period: its window is closed; an adjustment carries it.
                var late = WindowTotals()
                late.add(event, cause: cause)
                if case .completed(let c) = event, c.final { state.seenGoodsReceipt += c.goodQty }
                post(.adjustment, windowStart: windowStart, totals: late, workOrder: workOrder, state: &state, context: context)
            } else {
                let opened = state.windows.index(forKey: windowStart) == nil
                state.windows[windowStart, default: WindowTotals()].add(event, cause: cause)
                // A window already open is already scheduled to close.
                if opened { self.window(closingAt: closesAt, for: id) }
                if case .completed(let c) = event, c.final {
                    state.seenGoodsReceipt += c.goodQty
                    if !state.milestoneReached && state.seenGoodsReceipt >= workOrder.orderedQty {
                        state.milestoneReached = true
                        let totals = state.windows[windowStart] ?? WindowTotals()
                        state.windows[windowStart] = WindowTotals()
                        post(.milestone, windowStart: windowStart, totals: totals, workOrder: workOrder, state: &state, context: context)
                    }
                }
            }
            publishStatus(workOrder, state: &state, cause: cause, force: false, context: context)
        }
    }

    /// Runs `body` on the work order's progress where it sits in the dictionary (a new one if it
    /// has none yet): no copy of it, one lookup. `body` must not touch `progress` itself.
    private func modifyProgress<R>(_ id: String, _ body: (inout WorkOrderProgress) -> R) -> R {
        body(&progress[id, default: WorkOrderProgress()])
    }

    // MARK: Time

    /// Schedules the work order's window closing at `closesAt`.
    private func window(closingAt closesAt: Int64, for id: String) {
        closeSchedule[closesAt, default: []].insert(id)
        nextClose = min(nextClose, closesAt)
    }

    private func due(at dueAt: Int64, for id: String) {
        dueSchedule[dueAt, default: []].insert(id)
        nextDue = min(nextDue, dueAt)
    }

    public func streamTimeAdvanced(to milliseconds: Int64, context: any ProcessorContext) throws {
        load(context)
        // Stream time moves with nearly every event; the schedules rarely have anything due.
        if nextClose <= milliseconds { closeWindows(through: milliseconds, context: context) }
        if nextDue < milliseconds { markLate(before: milliseconds, context: context) }
    }

    private func closeWindows(through milliseconds: Int64, context: any ProcessorContext) {
        for closeAt in closeSchedule.keys.sorted() where closeAt <= milliseconds {
            for id in closeSchedule.removeValue(forKey: closeAt) ?? [] {
                guard let resident = workOrders[id], progress[id] != nil else { continue }
                modifyProgress(id) { state in
                    var closing: [(start: Int64, totals: WindowTotals)] = []
                    for (start, totals) in state.windows where start + settings.windowSize + settings.grace <= milliseconds {
                        closing.append((start, totals))
                    }
                    guard !closing.isEmpty else { return }
                    for (start, _) in closing { state.windows[start] = nil }
                    dirty.insert(id)
                    if closing.count > 1 { closing.sort { $0.start < $1.start } }
                    for (start, totals) in closing where totals.eventCount > 0 {
                        post(.window, windowStart: start, totals: totals, workOrder: resident.workOrder, state: &state, context: context)
                    }
                }
            }
        }
        nextClose = closeSchedule.keys.min() ?? .max
    }

    private func markLate(before milliseconds: Int64, context: any ProcessorContext) {
        for dueAt in dueSchedule.keys.sorted() where dueAt < milliseconds {
            for id in dueSchedule.removeValue(forKey: dueAt) ?? [] {
                guard let resident = resident(id), progress[id] != nil else { continue }
                modifyProgress(id) { state in
                    publishStatus(resident.workOrder, state: &state, cause: state.lastCause, force: false, context: context)
                }
            }
        }
        nextDue = dueSchedule.keys.min() ?? .max
    }

    public func wallClockTick(_ milliseconds: Int64, context: any ProcessorContext) throws {
        load(context)
        for (id, events) in parked {
            let (expired, waiting) = (events.filter { $0.parkedAt + settings.parkingTimeout <= milliseconds }, events.filter { $0.parkedAt + settings.parkingTimeout > milliseconds })
            guard !expired.isEmpty else { continue }
            parked[id] = waiting.isEmpty ? nil : waiting
            dirtyParking.insert(id)
            for event in expired { quarantineUnknown(event, workOrderId: id, context: context) }
        }
    }

    // MARK: Postings

    private func post(
        _ kind: ProductionConfirmation.Kind, windowStart: Int64, totals: WindowTotals, workOrder: WorkOrder,
        state: inout WorkOrderProgress, context: any ProcessorContext
    ) {
        let id = workOrder.workOrderId
        guard let cause = totals.lastCause else { return }
        let startText = Timestamp(milliseconds: windowStart).rfc3339
        let postingId: String
        switch kind {
        case .window: postingId = "\(id):\(startText)"
        case .milestone: postingId = "\(id):\(startText):milestone"
        case .adjustment:
            let n = (state.adjustments[windowStart] ?? 0) + 1
            state.adjustments[windowStart] = n
            postingId = "\(id):\(startText):adj\(n)"
        }
        guard !state.recentPostings.contains(postingId) else { return }
        state.recentPostings.appendBounded(postingId)
        state.postingCount += 1
        let consumed = totals.goodsReceipt + totals.scrap
        let posting = ProductionConfirmation(
            postingId: postingId, workOrderId: id, orderId: workOrder.orderId, plant: workOrder.plant,
            windowStart: Timestamp(milliseconds: windowStart), windowEnd: Timestamp(milliseconds: windowStart + settings.windowSize),
            kind: kind, goodsReceiptQty: totals.goodsReceipt, scrapQty: totals.scrap, uom: workOrder.uom,
            operations: totals.operations.sorted { $0.key < $1.key }.map { .init(operationSeq: $0.key, goodQty: $0.value.goodQty, scrapQty: $0.value.scrapQty) },
            materialConsumption: workOrder.components.map { .init(itemId: $0.itemId, qty: $0.qtyPer * consumed, uom: $0.uom) },
            eventCount: totals.eventCount)
        let factory = OutputFactory(now: context.wallClock, correlationId: cause.correlationId, causationId: cause.eventId, plant: workOrder.plant)
        let limit = workOrder.orderedQty * (1 + settings.overDeliveryTolerance)
        if state.postedGoodsReceipt + totals.goodsReceipt > limit + 1e-9 {
            let envelope = factory.envelope(posting, eventId: "posting:\(postingId)")
            let quarantine = Quarantine(
                reason: .overConfirmation,
                detail: "cumulative goods receipt \((state.postedGoodsReceipt + totals.goodsReceipt).plain) \(workOrder.uom) would exceed ordered \(workOrder.orderedQty.plain) \(workOrder.uom) × \(1 + settings.overDeliveryTolerance) = \(limit.plain) \(workOrder.uom) for \(id); posting held back",
                originalTopic: cause.topic, originalPartition: cause.partition, originalOffset: cause.offset, original: envelope.json)
            dirty.insert(id)
            context.forward(factory.record(quarantine, topic: Topics.quarantine, key: id, eventId: "quarantine:\(postingId)").tallied(.quarantine(.overConfirmation, plant: workOrder.plant)))
            return
        }
        state.postedGoodsReceipt += totals.goodsReceipt
        state.postedScrap += totals.scrap
        dirty.insert(id)
        context.forward(
            factory.record(posting, topic: Topics.productionConfirmation, key: id, eventId: "posting:\(postingId)")
                .tallied(.posting(kind, plant: workOrder.plant, windowStart: windowStart)))
        publishStatus(workOrder, state: &state, cause: cause, force: true, context: context)
    }

    /// Sends ERP and CRM status when status or risk changed, or always with a posting.
    private func publishStatus(
        _ workOrder: WorkOrder, state: inout WorkOrderProgress, cause: EventCause?, force: Bool, context: any ProcessorContext
    ) {
        let id = workOrder.workOrderId
        guard let cause else { return }
        let status: OrderStatusCode =
            state.postedGoodsReceipt >= workOrder.orderedQty - 1e-9 ? .completed : state.started ? .inProduction : .released
        let total = state.postedGoodsReceipt + state.postedScrap
        let scrapRisk = total > 0 && state.postedScrap / total > settings.scrapTolerance
        let late = status != .completed && context.streamTime > workOrder.dueDate.milliseconds
        // Fast path: nothing changed (no allocation).
        if !force && state.lastStatus == status.rawValue
            && state.lastRisks.count == (scrapRisk ? 1 : 0) + (late ? 1 : 0)
            && (!late || state.lastRisks.contains(RiskReason.late.rawValue))
            && (!scrapRisk || state.lastRisks.contains(RiskReason.scrapOverTolerance.rawValue))
        { return }
        var risks: [RiskReason] = []
        if scrapRisk { risks.append(.scrapOverTolerance) }
        if late { risks.append(.late) }
        let riskNames = risks.sorted().map(\.rawValue)
        guard force || state.lastStatus != status.rawValue || state.lastRisks != riskNames else { return }
        state.lastStatus = status.rawValue
        state.lastRisks = riskNames
        dirty.insert(id)
        let orderStatus = OrderStatus(
            orderId: workOrder.orderId, workOrderId: id, plant: workOrder.plant, status: status,
            orderedQty: workOrder.orderedQty, goodsReceiptQty: state.postedGoodsReceipt, scrapQty: state.postedScrap,
            riskReasons: risks, dueDate: workOrder.dueDate, updatedAt: Timestamp(milliseconds: context.wallClock))
        let factory = OutputFactory(now: context.wallClock, correlationId: cause.correlationId, causationId: cause.eventId, plant: workOrder.plant)
        let sequence = "\(cause.eventId):\(status.rawValue):\(riskNames.joined(separator: "+")):\(state.postingCount)"
        for record in factory.statusRecords(orderStatus, sequence: sequence) { context.forward(record) }
    }

    // MARK: Parking

    private func park(_ record: StreamRecord, workOrderId: String, now: Int64, correlation: String?) {
        guard let value = record.value.flatMap({ String(validating: $0, as: UTF8.self) }) else { return }
        var list = parked[workOrderId] ?? []
        guard !list.contains(where: { $0.topic == record.topic && $0.partition == record.partition && $0.offset == record.offset }) else { return }
        list.append(ParkedEvent(topic: record.topic, partition: record.partition, offset: record.offset, key: record.keyString, value: value, correlationHeader: correlation, parkedAt: now))
        parked[workOrderId] = list
        dirtyParking.insert(workOrderId)
    }

    private func record(of event: ParkedEvent) -> StreamRecord {
        StreamRecord(
            topic: event.topic, partition: event.partition, offset: event.offset, key: event.key.map { Array($0.utf8) },
            value: Array(event.value.utf8), headers: event.correlationHeader.map { [.init(key: EventHeader.correlationId, value: $0)] } ?? [])
    }

    private func replayParked(_ event: ParkedEvent, context: any ProcessorContext) {
        let record = record(of: event)
        let decoded: (ShopFloorEvent, EventMetadata)?
        switch event.topic {
        case Topics.operationCompleted: decoded = (try? EventDecoder.decode(record, as: OperationCompleted.self).get()).map { (.completed($0.data), $0.metadata) }
        default: decoded = (try? EventDecoder.decode(record, as: ScrapReported.self).get()).map { (.scrap($0.data), $0.metadata) }
        }
        guard let (shopFloorEvent, metadata) = decoded, let resident = resident(shopFloorEvent.workOrderId) else { return }
        let cause = EventCause(eventId: metadata.eventId, correlationId: metadata.correlationId, topic: event.topic, partition: Int(event.partition), offset: event.offset)
        apply(shopFloorEvent, cause: cause, workOrder: resident.workOrder, context: context)
    }

    private func quarantineUnknown(_ event: ParkedEvent, workOrderId: String, context: any ProcessorContext) {
        replayable.insert("\(event.topic):\(event.offset)")
        appliedDirty = true
        let original = (try? JSONParser.parse(Array(event.value.utf8))) ?? .null
        var metadata: EventMetadata?
        if case .object(let object) = original, case .string(let eventId)? = object["eventId"] {
            let correlation: String
            if case .string(let c)? = object["correlationId"] { correlation = c } else { correlation = event.correlationHeader ?? eventId }
            metadata = EventMetadata(schema: "", schemaVersion: 1, eventId: eventId, correlationId: correlation, occurredAt: Timestamp(milliseconds: 0), source: EventSource(system: "MES"))
        }
        let eventId = metadata?.eventId ?? "\(event.topic):\(event.partition):\(event.offset)"
        let factory = OutputFactory(now: context.wallClock, correlationId: metadata?.correlationId ?? eventId, causationId: eventId, plant: nil)
        let quarantine = Quarantine(
            reason: .unknownWorkOrder,
            detail: "no release seen for work order \(workOrderId) within \(settings.parkingTimeout / 1000) s of processing time",
            originalTopic: event.topic, originalPartition: Int(event.partition), originalOffset: event.offset, original: original)
        context.forward(factory.record(quarantine, topic: Topics.quarantine, key: event.key ?? workOrderId, eventId: "quarantine:\(eventId)").tallied(.quarantine(.unknownWorkOrder, plant: nil)))
    }

    // MARK: State

    /// `applied`: input topic → next offset applied, keys sorted.
    static func appliedBytes(_ offsets: [String: Int64]) -> [UInt8] {
        JSONWriter.bytes(.object(JSONObject(offsets.sorted { $0.key < $1.key }.map { ($0.key, .number(Double($0.value), isInteger: true)) })))
    }

    static func applied(_ bytes: [UInt8]) -> [String: Int64]? {
        guard case .object(let object)? = try? JSONParser.parse(bytes) else { return nil }
        var offsets: [String: Int64] = [:]
        for member in object.members {
            guard let offset = member.value.int64 else { return nil }
            offsets[member.key] = offset
        }
        return offsets
    }

    /// Writes what changed to the store: called before every commit (and by the test driver
    /// after every record).
    /// Open windows, work orders held in memory, parked events, quarantined inputs a replay may apply.
    public func stateSizes() -> [(name: String, value: Int)] {
        [
            ("open_windows", closeSchedule.values.reduce(0) { $0 + $1.count }),
            ("resident_work_orders", workOrders.count),
            ("parked_events", parked.values.reduce(0) { $0 + $1.count }),
            ("replayable_quarantines", replayable.count),
        ]
    }

    public func flush(context: any ProcessorContext) throws {
        let store = context.store(Self.storeName)
        // A work order just released, with nothing else happened yet, is one row: the work order
        // with its release cause (its progress follows from that when it is read back). Half
        // the rows, changelog records and file writes of loading the table.
        var rowSaysAll: Set<String> = []
        for id in newWorkOrders {
            guard let workOrder = workOrders[id]?.workOrder else { continue }
            if let i = progress.index(forKey: id), progress.values[i].isJustReleased {
                store.put("workorder:\(id)", workOrder.storedBytes(releaseCause: progress.values[i].lastCause))
                rowSaysAll.insert(id)
            } else {
                store.put("workorder:\(id)", workOrder.storedBytes)
            }
        }
        newWorkOrders.removeAll()
        for id in dirty where !rowSaysAll.contains(id) {
            if let i = progress.index(forKey: id) { store.put("progress:\(id)", progress.values[i].bytes) }
        }
        for id in dirtyParking {
            if let list = parked[id] { store.put("parked:\(id)", ParkedEvent.bytes(list)) } else { store.delete("parked:\(id)") }
        }
        if appliedDirty {
            store.put("applied", Self.appliedBytes(appliedOffsets))
            store.put("replayable", JSONWriter.bytes(.array(replayable.sorted().map(JSONValue.string))))
            appliedDirty = false
        }
        for id in dirty.union(touched) { evictIfQuiet(id) }
        dirty.removeAll()
        touched.removeAll()
        dirtyParking.removeAll()
    }

    // MARK: Resident work orders

    /// The work order and its progress in memory, read back from the store if it was evicted.
    private func resident(_ id: String) -> Resident? {
        if let resident = workOrders[id] { return resident }
        guard let bytes = store?.get("workorder:\(id)"), let row = WorkOrder.storedRow(bytes) else { return nil }
        let resident = Resident(row.workOrder)
        workOrders[id] = resident
        if let bytes = store?.get("progress:\(id)"), let state = WorkOrderProgress(bytes: bytes) {
            adopt(state, for: id)
        } else if let cause = row.releaseCause {
            progress[id] = .released(by: cause)  // released, nothing else since (no progress row)
        }
        touched.insert(id)
        return resident
    }

    /// Holds a work order's stored progress in memory, its open windows scheduled to close.
    private func adopt(_ state: WorkOrderProgress, for id: String) {
        progress[id] = state
        for start in state.windows.keys { window(closingAt: start + settings.windowSize + settings.grace, for: id) }
    }

    /// Drops a work order from memory when it has no open window and nothing parked, its state
    /// already in the store (called after the flush wrote it). A completed one also leaves the due
    /// schedule; any other keeps its place there (it may still turn LATE).
    private func evictIfQuiet(_ id: String) {
        guard let state = progress[id], state.windows.isEmpty, parked[id] == nil, let resident = workOrders[id], store != nil
        else { return }
        workOrders[id] = nil
        progress[id] = nil
        if state.isDone { dueSchedule[resident.workOrder.dueDate.milliseconds]?.remove(id) }
    }

    /// Work orders held in memory (for tests and statistics).
    var residentWorkOrders: Int { workOrders.count }

    /// Restores the task's state from its store (after an assignment or a restart).
    private func load(_ context: any ProcessorContext) {
        guard !loaded else { return }
        loaded = true
        let store = context.store(Self.storeName)
        self.store = store
        // In memory: work orders with an open window. Every one not completed keeps its due date
        // scheduled; the rest stay in the store until an event or the due date needs them.
        var done = Set<String>()
        for (key, value) in store.entries(prefix: "progress:") {
            guard let state = WorkOrderProgress(bytes: value) else { continue }
            let id = String(key.dropFirst("progress:".count))
            if state.isDone { done.insert(id) } else if !state.windows.isEmpty { adopt(state, for: id) }
        }
        for (key, value) in store.entries(prefix: "workorder:") {
            let id = String(key.dropFirst("workorder:".count))
            guard !done.contains(id), let workOrder = WorkOrder(storedBytes: value) else { continue }
            if progress[id] != nil { workOrders[id] = Resident(workOrder) }
            due(at: workOrder.dueDate.milliseconds, for: workOrder.workOrderId)
        }
        if let value = store.get("applied"), let offsets = Self.applied(value) {
            appliedOffsets = offsets
        }
        if let value = store.get("replayable"), case .array(let keys)? = try? JSONParser.parse(value) {
            replayable = Set(keys.compactMap(\.stringValue))
        }
        for (key, value) in store.entries(prefix: "parked:") {
            guard let list = ParkedEvent.list(value) else { continue }
            parked[String(key.dropFirst("parked:".count))] = list
        }
    }
}

/// A work order held in memory. A reference: looking one up costs one retain, not one per field.
private final class Resident {
    let workOrder: WorkOrder
    init(_ workOrder: WorkOrder) { self.workOrder = workOrder }
}

func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}
