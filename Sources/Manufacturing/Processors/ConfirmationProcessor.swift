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
    // Many stored properties, on purpose: this is a task's whole state, cached in memory between
    // flushes (the work orders, their progress and open windows, parked events, applied offsets,
    // the due dates, and which of them changed since the last flush), kept in one place so that
    // one flush writes it all. The state's code is in ConfirmationProcessor+State.swift.
    public static let storeName = "confirmations"
    let settings: ProcessingSettings

    // Task state, cached in memory and written to the store on `flush`. A work order with no open
    // window and nothing parked (released and not started yet, between bursts of events, or
    // completed) leaves memory after its flush and is read back from the store when an event or
    // its due date needs it: memory holds the work orders with windows open, not all released ones.
    var loaded = false
    var store: (any KeyValueStore)?
    var workOrders: [String: Resident] = [:]
    var progress: [String: WorkOrderProgress] = [:]
    var parked: [String: [ParkedEvent]] = [:]
    var dirty: Set<String> = []
    /// Next offset to apply per input topic of this task: a record below it was applied before
    /// (a replay after a crash or an offset reset) and changes nothing. Also, per origin partition
    /// of forwarded records (`<topic>[<partition>]`), the next origin offset to apply.
    var appliedOffsets: [String: Int64] = [:]
    /// Inputs quarantined as UNKNOWN_WORK_ORDER (`topic:offset`) → stream time then: a replay may
    /// apply them, once their work order is known. Forgotten after `retirementRecordRetention`.
    var replayable: [String: Int64] = [:]
    var appliedDirty = false
    var dirtyParking: Set<String> = []
    /// Work orders read back from the store since the last flush without a change (the flush
    /// lets them go again).
    var touched: Set<String> = []
    /// Work orders received since the last flush (their table row is written once).
    var newWorkOrders: Set<String> = []
    /// Open windows per work order, closing at their end plus the grace.
    var windowStore: TumblingWindowStore<String, WindowTotals>
    /// Work orders that turn LATE once stream time passes their due date (ms) unless completed.
    var dueSchedule = KeyedTimerSchedule<String>()
    /// Every work order in the store, once, at the stream time it may retire (looked at again
    /// then: an event since moves it later; its completion moves it). See
    /// ConfirmationProcessor+Retention.swift.
    var retirements = KeyedTimerSchedule<String>()
    /// Work orders whose stored times are unknown (written by an earlier version), stamped with the
    /// next stream time.
    var unstamped: [String] = []
    /// Stream time of the next look for expired retirement records.
    var nextSweep: Int64 = .min
    /// Work orders retired by this instance (for tests and statistics).
    var retiredWorkOrders = 0

    public init(settings: ProcessingSettings = ProcessingSettings()) {
        self.settings = settings
        windowStore = TumblingWindowStore(TumblingWindows(size: settings.windowSize, grace: settings.grace))
    }

    /// Reads the task's state back and schedules the punctuations: windows close and due dates
    /// pass on stream time (every advance); parked events expire on the wall clock (every second).
    public func initialize(context: any ProcessorContext) throws {
        load(context)
        context.schedule(.streamTime, every: 1) { [unowned self] time, context in streamTimeAdvanced(to: time, context: context) }
        context.schedule(.wallClock, every: 1_000) { [unowned self] time, context in expireParked(at: time, context: context) }
    }

    // MARK: Input

    public func process(_ record: StreamRecord, context: any ProcessorContext) throws {
        if record.topic != Topics.workOrders {
            if let applied = appliedOffsets[record.topic], record.offset < applied {
                guard replayable.removeValue(forKey: "\(record.topic):\(record.offset)") != nil else { return }
                appliedDirty = true
            } else {
                appliedOffsets[record.topic] = record.offset + 1
                appliedDirty = true
                if let origin = record.origin, !firstForwardedCopy(origin) { return }
            }
        }
        switch record.sourceTopic {
        case Topics.workOrders:
            receiveWorkOrder(record, context: context)
        case Topics.operationCompleted:
            switch InputRoute(record, as: OperationCompleted.self) {
            case .deadLetter(let letter, _): context.forward(letter)
            case .event(let e):
                if forwardedToOwner(record, workOrderId: e.data.workOrderId, context: context) { return }
                receive(.completed(e.data), metadata: e.metadata, record: record, context: context)
            }
        case Topics.scrapReported:
            switch InputRoute(record, as: ScrapReported.self) {
            case .deadLetter(let letter, _): context.forward(letter)
            case .event(let e):
                if forwardedToOwner(record, workOrderId: e.data.workOrderId, context: context) { return }
                receive(.scrap(e.data), metadata: e.metadata, record: record, context: context)
            }
        default:
            break
        }
    }

    /// Forwarded records of one origin partition arrive in its offset order; one at or below the
    /// highest seen is a second copy (a forwarding transaction that was aborted, which librdkafka's
    /// in-process cluster still shows to `read_committed` readers) and is skipped.
    func firstForwardedCopy(_ origin: RecordOrigin) -> Bool {
        let key = "\(origin.topic)[\(origin.partition)]"
        if let next = appliedOffsets[key], origin.offset < next { return false }
        appliedOffsets[key] = origin.offset + 1
        return true
    }

    /// An MES event on a partition whose task does not hold its work order (its producer used
    /// another partitioner, another key, or none) goes to the task that does, through the
    /// repartition topic; true when it went. Its key there is `data.workOrderId`, whatever its
    /// own key was.
    func forwardedToOwner(_ record: StreamRecord, workOrderId: String, context: any ProcessorContext) -> Bool {
        guard record.origin == nil, let owner = context.owner(ofKey: workOrderId), owner != context.partition else { return false }
        context.repartition(record, key: workOrderId)
        return true
    }

    func receiveWorkOrder(_ record: StreamRecord, context: any ProcessorContext) {
        // A tombstone (a retirement's, or a release side's) changes nothing here.
        guard case .success(let envelope) = EventDecoder.decode(record, as: WorkOrder.self) else { return }
        let workOrder = envelope.data
        let current = resident(workOrder.workOrderId)
        // The table read again (a replay from its start) does not bring a retired work order back.
        if current == nil, retirementRecord(workOrder.workOrderId) != nil { return }
        if current?.workOrder != workOrder { newWorkOrders.insert(workOrder.workOrderId) }
        workOrders[workOrder.workOrderId] = Resident(workOrder)
        if progress[workOrder.workOrderId] == nil {
            // Its retention counts from the release (the table is read before the events that
            // move stream time, so stream time may not have reached it yet).
            let released = WorkOrderProgress.released(
                by: EventCause(
                    eventId: envelope.metadata.eventId, correlationId: envelope.metadata.correlationId, topic: record.topic,
                    partition: Int(record.partition), offset: record.offset),
                at: max(context.streamTime, envelope.metadata.occurredAt.milliseconds))
            progress[workOrder.workOrderId] = released
            scheduleRetirement(workOrder.workOrderId, released)
        }
        dirty.insert(workOrder.workOrderId)
        due(at: workOrder.dueDate.milliseconds, for: workOrder.workOrderId)
        // Events that arrived before the release go in now, in arrival order.
        if let waiting = parked.removeValue(forKey: workOrder.workOrderId) {
            dirtyParking.insert(workOrder.workOrderId)
            for event in waiting { replayParked(event, context: context) }
        }
    }

    func receive(_ event: ShopFloorEvent, metadata: EventMetadata, record: StreamRecord, context: any ProcessorContext) {
        context.observeEventTime(event.eventTime)
        let id = event.workOrderId
        let cause = EventCause(metadata, record)
        guard let resident = resident(id) else {
            if let retirement = retirementRecord(id) {
                quarantineRetired(record, metadata: metadata, workOrderId: id, retirement: retirement, context: context)
                return
            }
            park(record, workOrderId: id, now: context.wallClock, correlation: record.header(EventHeader.correlationId)?.stringValue)
            return
        }
        apply(event, cause: cause, workOrder: resident.workOrder, context: context)
    }

    func apply(_ event: ShopFloorEvent, cause: EventCause, workOrder: WorkOrder, context: any ProcessorContext) {
        let id = workOrder.workOrderId
        let eventHash = stableHash(cause.eventId)
        // Changed in place in the dictionary (one lookup, no copy of its collections).
        modifyProgress(id) { state in
            guard !state.recentEvents.contains(eventHash) else { return }
            state.recentEvents.appendBounded(eventHash)
            state.lastCause = cause
            state.lastActivity = max(state.lastActivity, context.streamTime)
            dirty.insert(id)
            if case .completed = event { state.started = true }
            switch windowStore.placement(of: event.eventTime, streamTime: context.streamTime) {
            case .late(let windowStart):
                // Later than the grace period: its window is closed; an adjustment carries it.
                var late = WindowTotals()
                late.add(event, cause: cause)
                if case .completed(let c) = event, c.final { state.seenGoodsReceipt += c.goodQty }
                post(.adjustment, windowStart: windowStart, totals: late, workOrder: workOrder, state: &state, context: context)
            case .open(let windowStart):
                windowStore.update(id, windowStart: windowStart, empty: WindowTotals()) { $0.add(event, cause: cause) }
                if case .completed(let c) = event, c.final {
                    state.seenGoodsReceipt += c.goodQty
                    if !state.milestoneReached && state.seenGoodsReceipt >= workOrder.orderedQty {
                        state.milestoneReached = true
                        // The window stays open, emptied: what it held so far goes in the milestone.
                        let totals = windowStore.update(id, windowStart: windowStart, empty: WindowTotals()) { totals in
                            defer { totals = WindowTotals() }
                            return totals
                        }
                        post(.milestone, windowStart: windowStart, totals: totals, workOrder: workOrder, state: &state, context: context)
                    }
                }
            }
            publishStatus(workOrder, state: &state, cause: cause, context: context)
        }
    }

    /// Runs `body` on the work order's progress where it sits in the dictionary (a new one if it
    /// has none yet): no copy of it, one lookup. `body` must not touch `progress` itself.
    func modifyProgress<R>(_ id: String, _ body: (inout WorkOrderProgress) -> R) -> R {
        body(&progress[id, default: WorkOrderProgress()])
    }

    // MARK: Time

    func due(at dueAt: Int64, for id: String) { dueSchedule.schedule(id, at: dueAt) }

    func streamTimeAdvanced(to milliseconds: Int64, context: any ProcessorContext) {
        // Stream time moves with nearly every event; the schedules rarely have anything due.
        if windowStore.isDue(at: milliseconds) { closeWindows(at: milliseconds, context: context) }
        if dueSchedule.isDue(at: milliseconds, inclusive: false) { markLate(before: milliseconds, context: context) }
        retainUntil(milliseconds, context: context)
    }

    /// A WINDOW posting for each window stream time closed that holds events.
    func closeWindows(at milliseconds: Int64, context: any ProcessorContext) {
        for (id, closed) in windowStore.takeClosed(at: milliseconds) {
            // A work order with an open window is never evicted: it is resident.
            guard let resident = workOrders[id], progress[id] != nil else { continue }
            dirty.insert(id)
            modifyProgress(id) { state in
                for (start, totals) in closed where totals.eventCount > 0 {
                    post(.window, windowStart: start, totals: totals, workOrder: resident.workOrder, state: &state, context: context)
                }
            }
        }
    }

    func markLate(before milliseconds: Int64, context: any ProcessorContext) {
        for (_, ids) in dueSchedule.takeDue(at: milliseconds, inclusive: false) {
            for id in ids.sorted() {  // in a stable order: a replay gives the same outputs
                guard let resident = resident(id), progress[id] != nil else { continue }
                modifyProgress(id) { state in
                    publishStatus(resident.workOrder, state: &state, cause: state.lastCause, context: context)
                }
            }
        }
    }

    // MARK: Postings

    func post(
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
            operations: totals.operations.sorted { $0.key < $1.key }.map {
                .init(operationSeq: $0.key, goodQty: $0.value.goodQty, scrapQty: $0.value.scrapQty)
            },
            materialConsumption: workOrder.components.map { .init(itemId: $0.itemId, qty: $0.qtyPer * consumed, uom: $0.uom) },
            eventCount: totals.eventCount)
        let factory = OutputFactory(now: context.wallClock, correlationId: cause.correlationId, causationId: cause.eventId, plant: workOrder.plant)
        let limit = workOrder.orderedQty * (1 + settings.overDeliveryTolerance)
        if state.postedGoodsReceipt + totals.goodsReceipt > limit + 1e-9 {
            let envelope = factory.envelope(posting, eventId: "posting:\(postingId)")
            let quarantine = Quarantine(
                reason: .overConfirmation,
                detail:
                    "cumulative goods receipt \((state.postedGoodsReceipt + totals.goodsReceipt).plain) \(workOrder.uom) would exceed ordered \(workOrder.orderedQty.plain) \(workOrder.uom) × \(1 + settings.overDeliveryTolerance) = \(limit.plain) \(workOrder.uom) for \(id); posting held back",
                originalTopic: cause.topic, originalPartition: cause.partition, originalOffset: cause.offset, original: envelope.json)
            dirty.insert(id)
            context.forward(
                factory.record(quarantine, topic: Topics.quarantine, key: id, eventId: "quarantine:\(postingId)").tallied(
                    .quarantine(.overConfirmation, plant: workOrder.plant)))
            return
        }
        let progressBefore = OrderStatus.progress(goodsReceipt: state.postedGoodsReceipt, ordered: workOrder.orderedQty)
        state.postedGoodsReceipt += totals.goodsReceipt
        state.postedScrap += totals.scrap
        state.recordErpPosting(postingId)
        dirty.insert(id)
        context.forward(
            factory.record(posting, topic: Topics.productionConfirmation, key: id, eventId: "posting:\(postingId)")
                .tallied(.posting(kind, plant: workOrder.plant, windowStart: windowStart)))
        // ERP hears of changed quantities; CRM, which sees no quantities, of changed progress only.
        let progressAfter = OrderStatus.progress(goodsReceipt: state.postedGoodsReceipt, ordered: workOrder.orderedQty)
        publishStatus(
            workOrder, state: &state, cause: cause, erpChanged: totals.goodsReceipt != 0 || totals.scrap != 0,
            crmChanged: progressAfter != progressBefore, context: context)
    }

    /// Sends ERP and CRM status when a field its reader sees changed: status or risk (both), the
    /// quantities of a posting (ERP), the progress (CRM); nothing when nothing changed (the contract).
    func publishStatus(
        _ workOrder: WorkOrder, state: inout WorkOrderProgress, cause: EventCause?, erpChanged: Bool = false, crmChanged: Bool = false,
        context: any ProcessorContext
    ) {
        let force = erpChanged || crmChanged
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
        {
            return
        }
        var risks: [RiskReason] = []
        if scrapRisk { risks.append(.scrapOverTolerance) }
        if late { risks.append(.late) }
        let riskNames = risks.sorted().map(\.rawValue)
        let statusOrRiskChanged = state.lastStatus != status.rawValue || state.lastRisks != riskNames
        guard force || statusOrRiskChanged else { return }
        state.lastStatus = status.rawValue
        state.lastRisks = riskNames
        if status == .completed && state.completedAt == nil {
            // Finished: retired workOrderRetention of stream time from now.
            state.completedAt = context.streamTime
            scheduleRetirement(id, state)
        }
        dirty.insert(id)
        let orderStatus = OrderStatus(
            orderId: workOrder.orderId, workOrderId: id, plant: workOrder.plant, status: status,
            orderedQty: workOrder.orderedQty, goodsReceiptQty: state.postedGoodsReceipt, scrapQty: state.postedScrap,
            riskReasons: risks, dueDate: workOrder.dueDate, updatedAt: Timestamp(milliseconds: context.wallClock))
        let factory = OutputFactory(now: context.wallClock, correlationId: cause.correlationId, causationId: cause.eventId, plant: workOrder.plant)
        let sequence = "\(cause.eventId):\(status.rawValue):\(riskNames.joined(separator: "+")):\(state.postingCount)"
        let records = factory.statusRecords(
            orderStatus, sequence: sequence, erp: statusOrRiskChanged || erpChanged, crm: statusOrRiskChanged || crmChanged)
        for record in records { context.forward(record) }
    }
}
