import Streams

/// `erp.order-approved.v1` → one release on `mes.<plant>.production-release.v1` (and the work
/// order on the internal table), or a quarantine; order status RELEASED / QUARANTINED for ERP and
/// CRM; poison input to the dead-letter topic.
///
/// Exactly once: a work order released once is never released again (a ledger in the
/// `releases` store), whatever is replayed; an order quarantined before a master-data fix is
/// released when it is processed again. Input read again — after a crash between a transaction
/// and its group commit, or an operator's replay — is recognised by its offset (below the
/// `applied:<topic>` position in the store): its dead letter, or its quarantine when the checks
/// still fail, was published the first time and is not published again.
///
/// The ledger is bounded: an order released longer ago than `orderRetention` (stream time) leaves
/// it for a retirement record, and an approval of it read for the first time after that is
/// quarantined as WORK_ORDER_RETIRED, not released again (ReleaseProcessor+Retention.swift).
public final class ReleaseProcessor: StreamProcessor {
    public static let storeName = "releases"
    private let masterData: any MasterDataLookup
    let settings: ProcessingSettings
    /// Work orders in the ledger, at the stream time they retire.
    var retirements = KeyedTimerSchedule<String>()
    /// Ledger entries of unknown age (written by an earlier version): stamped with the next stream time.
    var unstamped: [String] = []
    var nextSweep: Int64 = .min

    /// - Important: `masterData` must have caught up before the first record is processed.
    public init(masterData: any MasterDataLookup, settings: ProcessingSettings = ProcessingSettings()) {
        self.masterData = masterData
        self.settings = settings
    }

    /// Schedules the retirement of every ledger entry; retention runs on stream time.
    public func initialize(context: any ProcessorContext) throws {
        loadRetirements(context.store(Self.storeName))
        context.schedule(.streamTime, every: 1) { [unowned self] time, context in retainUntil(time, context: context) }
    }

    public func process(_ record: StreamRecord, context: any ProcessorContext) throws {
        let ledger = context.store(Self.storeName)
        let appliedKey = "applied:\(record.topic)"
        let applied = ledger.get(appliedKey).flatMap { Int64(String(decoding: $0, as: UTF8.self)) }
        let readBefore = applied.map { record.offset < $0 } ?? false
        if !readBefore { ledger.put(appliedKey, Array(String(record.offset + 1).utf8)) }
        let order: Envelope<OrderApproved>
        switch InputRoute(record, as: OrderApproved.self) {
        case .deadLetter(let letter, _):
            if !readBefore { context.forward(letter) }
            return
        case .event(let event):
            order = event
        }
        context.observeEventTime(order.metadata.occurredAt.milliseconds)
        let workOrderId = order.data.workOrderId
        let factory = OutputFactory(
            now: context.wallClock, correlationId: order.metadata.correlationId, causationId: order.metadata.eventId,
            plant: order.data.plant)
        if ledger.get(workOrderId) != nil {
            return  // released before: never twice (a replay, or ERP sent the approval again)
        }
        if let retirement = ledger.get(RetirementRecord.key(workOrderId)).flatMap(RetirementRecord.init(bytes:)) {
            // Released, and retired since: never again. Read before, it was released then.
            guard !readBefore else { return }
            context.forward(
                retirement.quarantine(
                    of: record, source: RecordOrigin(topic: record.topic, partition: record.partition, offset: record.offset),
                    detail:
                        "work order \(workOrderId) was released and retired from the release ledger at \(Timestamp(milliseconds: retirement.retiredAt).rfc3339) (stream time, orderRetention after its release); it is not released again",
                    key: order.data.orderId, eventId: order.metadata.eventId, factory: factory))
            return
        }
        switch ReleaseCheck.evaluate(order.data, against: masterData) {
        case .success(let release):
            guard let topic = ProductionRelease.topic(forPlant: release.plant) else { return }
            context.forward(factory.record(release, topic: topic, key: workOrderId, eventId: "release:\(workOrderId)").tallied(.release(plant: release.plant)))
            context.forward(factory.record(WorkOrder(release: release), topic: Topics.workOrders, key: workOrderId, eventId: "work-order:\(workOrderId)"))
            let releasedAt = context.streamTime
            ledger.put(workOrderId, Self.ledgerBytes(eventId: order.metadata.eventId, releasedAt: releasedAt, plant: release.plant))
            retirements.schedule(workOrderId, at: releasedAt.addingSaturated(settings.orderRetention))
            let status = OrderStatus(
                orderId: order.data.orderId, workOrderId: workOrderId, plant: release.plant, status: .released,
                orderedQty: release.quantity, goodsReceiptQty: 0, scrapQty: 0, riskReasons: [],
                dueDate: order.data.dueDate, updatedAt: Timestamp(milliseconds: context.wallClock))
            for output in factory.statusRecords(status, sequence: "released") { context.forward(output) }
        case .failure(let failure):
            guard !readBefore else { return }  // quarantined the first time; still failing
            let original = (try? JSONParser.parse(record.value ?? [])) ?? .null
            let quarantine = Quarantine(
                reason: failure.reason, detail: failure.detail, originalTopic: record.topic,
                originalPartition: Int(record.partition), originalOffset: record.offset, original: original)
            context.forward(
                factory.record(
                    quarantine, topic: Topics.quarantine, key: record.keyString ?? order.data.orderId, eventId: "quarantine:\(order.metadata.eventId)"
                )
                .tallied(.quarantine(failure.reason, plant: order.data.plant)))
            let status = OrderStatus(
                orderId: order.data.orderId, workOrderId: nil, plant: nil, status: .quarantined,
                orderedQty: order.data.quantity, goodsReceiptQty: 0, scrapQty: 0, riskReasons: [],
                dueDate: order.data.dueDate, updatedAt: Timestamp(milliseconds: context.wallClock))
            for output in factory.statusRecords(status, sequence: "quarantined:\(order.metadata.eventId)") { context.forward(output) }
        }
    }
}
