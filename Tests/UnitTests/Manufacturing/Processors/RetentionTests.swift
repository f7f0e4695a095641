import Foundation
import Streams
import TestSupport
import Testing

@testable import Manufacturing

/// Retention of finished work (issue 16, part 2), on stream time through the processor test driver.
@Suite("Retention of finished work orders and released orders")
struct RetentionTests {
    static let day = ProcessingSettings.day

    /// An MES event at an explicit offset (so the same record can be replayed, and copied to a new one).
    static func record(_ event: (topic: String, key: String, value: [UInt8]), offset: Int64) -> StreamRecord {
        StreamRecord(topic: event.topic, partition: 0, offset: offset, key: Array(event.key.utf8), value: event.value)
    }

    static func processor(_ driver: ProcessorTestDriver) -> ConfirmationProcessor? { driver.processor as? ConfirmationProcessor }

    @Test(
        "a completed work order is retired exactly workOrderRetention of stream time after it completed: its rows go, a retirement record stays, its table record gets a tombstone; a work order still in production stays"
    )
    func completedRetiredExactlyAfterRetention() throws {
        let driver = try Shop.driver(workOrders: [Shop.workOrder("WO-DONE-10", ordered: 100), Shop.workOrder("WO-OPEN-10", ordered: 500)])
        let store = driver.store(ConfirmationProcessor.storeName)
        try driver.pipe(Self.record(Shop.completed("WO-DONE-10", good: 100, at: Shop.minutes(1)), offset: 0))  // COMPLETED at 08:01
        #expect(try Shop.postings(driver).map(\.kind) == [.milestone])
        let completedAt = Shop.minutes(1)
        let retention = ProcessingSettings().workOrderRetention
        #expect(retention == 14 * Self.day, "the default")

        // The open work order moves stream time; the finished one is kept until the retention passed.
        try driver.pipe(Self.record(Shop.completed("WO-OPEN-10", op: 10, good: 1, at: completedAt + retention - 1, final: false), offset: 1))
        #expect(store.get("workorder:WO-DONE-10") != nil && store.get("progress:WO-DONE-10") != nil)
        #expect(store.get("retired:WO-DONE-10") == nil)
        #expect(driver.drainOutputs(topic: Topics.workOrders).isEmpty)

        try driver.pipe(Self.record(Shop.completed("WO-OPEN-10", op: 10, good: 1, at: completedAt + retention, final: false), offset: 2))
        #expect(store.get("workorder:WO-DONE-10") == nil && store.get("progress:WO-DONE-10") == nil, "its rows are deleted")
        let record = try #require(store.get("retired:WO-DONE-10").flatMap(RetirementRecord.init(bytes:)))
        #expect(record.retiredAt == completedAt + retention)
        #expect(record.erpPostings == 1 && record.postingDigest == stableHash("WO-DONE-10:2026-11-27T08:00:00.000Z:milestone"))
        #expect(record.bytes.count < 40, "compact")
        let tombstones = driver.drainOutputs(topic: Topics.workOrders)
        #expect(tombstones.count == 1 && tombstones.first?.key == Array("WO-DONE-10".utf8) && tombstones.first?.value == nil)
        #expect(store.get("workorder:WO-OPEN-10") != nil, "a work order in production is not finished")
        #expect(store.get("retired:WO-OPEN-10") == nil)
        #expect(Self.processor(driver)?.retiredWorkOrders == 1)
    }

    @Test(
        "a work order with no event for workOrderIdleRetention counts as finished and retires workOrderRetention later; one just released counts from its release; an event keeps it"
    )
    func idleRetired() throws {
        let settings = ProcessingSettings()
        let idle = settings.workOrderIdleRetention + settings.workOrderRetention
        #expect(idle == 104 * Self.day, "90 + 14 days by default")
        let driver = try Shop.driver(workOrders: [
            Shop.workOrder("WO-QUIET-10", ordered: 10), Shop.workOrder("WO-STARTED-10", ordered: 10), Shop.workOrder("WO-BUSY-10", ordered: 1_000),
        ])
        let store = driver.store(ConfirmationProcessor.storeName)
        try driver.pipe(Self.record(Shop.completed("WO-STARTED-10", op: 10, good: 1, at: Shop.minutes(60), final: false), offset: 0))
        // WO-BUSY-10 has an event every 30 days; the others none after the first hour.
        var offset: Int64 = 1
        for month in 1...3 {
            try driver.pipe(
                Self.record(Shop.completed("WO-BUSY-10", op: 10, good: 1, at: Shop.t0 + Int64(month) * 30 * Self.day, final: false), offset: offset))
            offset += 1
        }
        try driver.pipe(Self.record(Shop.completed("WO-BUSY-10", op: 10, good: 1, at: Shop.t0 + idle - 1, final: false), offset: offset))
        #expect(store.get("workorder:WO-QUIET-10") != nil, "released at t0 (its release's time): not yet")
        try driver.pipe(Self.record(Shop.completed("WO-BUSY-10", op: 10, good: 1, at: Shop.t0 + idle, final: false), offset: offset + 1))
        #expect(store.get("workorder:WO-QUIET-10") == nil && store.get("retired:WO-QUIET-10") != nil, "no event since its release for 90 + 14 days")
        #expect(store.get("workorder:WO-STARTED-10") != nil, "its last event was an hour later")
        try driver.pipe(Self.record(Shop.completed("WO-BUSY-10", op: 10, good: 1, at: Shop.minutes(60) + idle, final: false), offset: offset + 2))
        #expect(store.get("workorder:WO-STARTED-10") == nil && store.get("progress:WO-STARTED-10") == nil)
        #expect(store.get("retired:WO-STARTED-10") != nil)
        #expect(store.get("workorder:WO-BUSY-10") != nil && store.get("retired:WO-BUSY-10") == nil, "events keep it")
    }

    @Test("a late event for a retired work order is quarantined as WORK_ORDER_RETIRED, never posted, also after a restart")
    func lateEventAfterRetirement() throws {
        let driver = try Shop.driver(workOrders: [Shop.workOrder("WO-DONE-10", ordered: 100), Shop.workOrder("WO-OPEN-10", ordered: 500)])
        try driver.pipe(Self.record(Shop.completed("WO-DONE-10", good: 100, at: Shop.minutes(1)), offset: 0))
        try driver.pipe(Self.record(Shop.completed("WO-OPEN-10", op: 10, good: 1, at: Shop.minutes(1) + 15 * Self.day, final: false), offset: 1))
        _ = driver.drainOutputs()
        let late = Shop.scrap("WO-DONE-10", qty: 2, at: Shop.minutes(3), id: "mes-late-1")
        try driver.pipe(Self.record(late, offset: 0))
        #expect(try Shop.postings(driver).isEmpty, "never posted")
        let held = try Shop.quarantines(driver)
        #expect(held.map(\.reason) == [.workOrderRetired])
        #expect(held.first?.originalTopic == Topics.scrapReported && held.first?.originalOffset == 0)
        #expect(held.first?.original == (try JSONParser.parse(late.value)), "the whole input envelope")
        #expect(held.first?.detail.contains("WO-DONE-10") == true && held.first?.detail.contains("1 postings went to ERP") == true)
        #expect(try Shop.statuses(driver).isEmpty)
        try driver.advanceWallClock(by: 60 * 60_000)
        #expect(try Shop.quarantines(driver).isEmpty, "not parked: not quarantined again as UNKNOWN_WORK_ORDER")

        let restarted = ProcessorTestDriver(processor: ConfirmationProcessor(), wallClock: driver.wallClock, stores: driver.stores)
        try restarted.pipe(Self.record(Shop.completed("WO-DONE-10", good: 5, at: Shop.minutes(4)), offset: 2))
        #expect(try Shop.postings(restarted).isEmpty)
        #expect(try Shop.quarantines(restarted).map(\.reason) == [.workOrderRetired], "the retirement record was restored")
    }

    @Test(
        "a replay after retirement posts nothing twice: the table read again does not bring the work order back, its events at their offsets change nothing, sent again they are quarantined"
    )
    func replayAfterRetirement() throws {
        let workOrder = Shop.workOrder("WO-DONE-10", ordered: 100)
        let driver = try Shop.driver(workOrders: [workOrder, Shop.workOrder("WO-OPEN-10", ordered: 500)])
        let events = [
            Shop.completed("WO-DONE-10", op: 10, good: 100, at: Shop.minutes(1), final: false),
            Shop.scrap("WO-DONE-10", qty: 1, at: Shop.minutes(2)),
            Shop.completed("WO-DONE-10", good: 60, at: Shop.minutes(20)),
            Shop.completed("WO-DONE-10", good: 40, at: Shop.minutes(40)),
        ]
        var offsets: [String: Int64] = [:]
        var records: [StreamRecord] = []
        for event in events {
            records.append(Self.record(event, offset: offsets[event.topic, default: 0]))
            offsets[event.topic, default: 0] += 1
            try driver.pipe(records.last!)
        }
        try driver.pipe(Self.record(Shop.completed("WO-OPEN-10", op: 10, good: 1, at: Shop.minutes(40) + 15 * Self.day, final: false), offset: 3))
        func postingsOfRetired() throws -> [String] { try Shop.postings(driver).filter { $0.workOrderId == "WO-DONE-10" }.map(\.postingId) }
        var posted = try postingsOfRetired()
        #expect(posted.count == 3, "the windows of 08:00 and 08:15, the milestone in 08:30's: \(posted)")
        let store = driver.store(ConfirmationProcessor.storeName)
        #expect(store.get("retired:WO-DONE-10") != nil)
        _ = driver.drainOutputs()

        // The operator resets the group to the start: the table first, then the MES topics.
        try driver.pipe(topic: Topics.workOrders, key: workOrder.workOrderId, value: Shop.envelope(workOrder, id: "work-order:WO-DONE-10"))
        #expect(store.get("workorder:WO-DONE-10") == nil, "the table's record does not bring it back")
        for record in records { try driver.pipe(record) }
        #expect(driver.drainOutputs().filter { $0.topic != Topics.workOrders }.isEmpty, "applied before: nothing, not even a quarantine")
        // MES sends the same events again (new offsets): each is quarantined, none posted.
        for (index, event) in events.enumerated() {
            try driver.pipe(Self.record(event, offset: 100 + Int64(index)))
        }
        try driver.advanceWallClock(by: 30 * Self.day)
        posted += try postingsOfRetired()
        #expect(posted.count == 3 && Set(posted).count == 3, "no posting id twice")
        #expect(try Shop.quarantines(driver).map(\.reason) == Array(repeating: .workOrderRetired, count: 4))
    }

    @Test(
        "retirement records and replayable quarantines are forgotten retirementRecordRetention after them; a late event then waits as for any unknown work order and is never posted"
    )
    func retirementRecordsExpire() throws {
        var settings = ProcessingSettings()
        settings.retirementRecordRetention = 20 * Self.day
        let driver = try Shop.driver(settings: settings, workOrders: [Shop.workOrder("WO-DONE-10", ordered: 100), Shop.workOrder("WO-OPEN-10", ordered: 500)])
        let store = driver.store(ConfirmationProcessor.storeName)
        try driver.pipe(Self.record(Shop.completed("WO-DONE-10", good: 100, at: Shop.minutes(1)), offset: 0))
        try driver.pipe(Self.record(Shop.completed("WO-UNKNOWN-1", good: 1, at: Shop.minutes(2)), offset: 1))
        try driver.advanceWallClock(by: 11 * 60_000)  // parked, then UNKNOWN_WORK_ORDER: replayable
        #expect(try Shop.quarantines(driver).map(\.reason) == [.unknownWorkOrder])
        #expect(Self.processor(driver)?.replayable.count == 1)
        try driver.pipe(Self.record(Shop.completed("WO-OPEN-10", op: 10, good: 1, at: Shop.minutes(1) + 14 * Self.day, final: false), offset: 2))
        #expect(store.get("retired:WO-DONE-10") != nil)
        // 20 days after the retirement (looked for once a day of stream time) it is gone.
        try driver.pipe(Self.record(Shop.completed("WO-OPEN-10", op: 10, good: 1, at: Shop.minutes(1) + 35 * Self.day, final: false), offset: 3))
        #expect(store.get("retired:WO-DONE-10") == nil)
        #expect(Self.processor(driver)?.replayable.isEmpty == true, "a replay cannot reach that input any more")
        _ = driver.drainOutputs()
        try driver.pipe(Self.record(Shop.scrap("WO-DONE-10", qty: 1, at: Shop.minutes(5)), offset: 0))
        try driver.advanceWallClock(by: 11 * 60_000)
        #expect(try Shop.postings(driver).isEmpty)
        #expect(try Shop.quarantines(driver).map(\.reason) == [.unknownWorkOrder])
    }

    @Test(
        "rows written before the retention's times were kept count from the first stream time after the start, and are written again with it: never retired early, and a restart does not postpone them"
    )
    func earlierRowsStamped() throws {
        // WO-OLD-10 is due in a year: nothing reads it back meanwhile.
        let driver = try Shop.driver(workOrders: [
            Shop.workOrder("WO-OLD-10", ordered: 10, due: Shop.t0 + 365 * Self.day), Shop.workOrder("WO-DONE-10", ordered: 10),
        ])
        try driver.pipe(Self.record(Shop.completed("WO-DONE-10", good: 10, at: Shop.minutes(1)), offset: 0))
        try driver.pipe(Self.record(Shop.completed("WO-OTHER-1", good: 1, at: Shop.minutes(30)), offset: 1))  // its window closes
        // As an earlier version wrote them: a format-2 work-order row (no time), a format-2 progress row.
        var stores = driver.stores
        let store = try #require(stores[ConfirmationProcessor.storeName])
        let row = try #require(store.get("workorder:WO-OLD-10").flatMap(WorkOrder.storedRow))
        store.put("workorder:WO-OLD-10", [2] + row.workOrder.storedBytes(releaseCause: row.releaseCause, receivedAt: 0).dropFirst().dropLast(8))
        let progress = try #require(store.get("progress:WO-DONE-10").flatMap(StoredProgress.init(bytes:)))
        #expect(progress.progress.completedAt == Shop.minutes(1) && progress.isDone)
        store.put("progress:WO-DONE-10", [2] + progress.bytes.dropFirst().dropLast(8 + 9 + 1 + 8))
        stores[ConfirmationProcessor.storeName] = store

        let restarted = ProcessorTestDriver(processor: ConfirmationProcessor(), wallClock: driver.wallClock, stores: stores)
        let upgradedAt = Shop.t0 + 5 * Self.day
        try restarted.pipe(Self.record(Shop.completed("WO-OTHER-1", good: 1, at: upgradedAt), offset: 2))  // parked: moves stream time
        let live = restarted.store(ConfirmationProcessor.storeName)
        #expect(live.get("workorder:WO-OLD-10").flatMap(WorkOrder.storedRow)?.receivedAt == upgradedAt, "stamped and written again")
        #expect(live.get("progress:WO-DONE-10").flatMap(StoredProgress.init(bytes:))?.progress.completedAt == upgradedAt)
        // Retired 14 days after the stamp (not after its real completion: never earlier than it would have been).
        let again = ProcessorTestDriver(processor: ConfirmationProcessor(), wallClock: restarted.wallClock, stores: restarted.stores)
        try again.pipe(Self.record(Shop.completed("WO-OTHER-1", good: 1, at: upgradedAt + 14 * Self.day - 1), offset: 3))
        #expect(again.store(ConfirmationProcessor.storeName).get("progress:WO-DONE-10") != nil)
        try again.pipe(Self.record(Shop.completed("WO-OTHER-1", good: 1, at: upgradedAt + 14 * Self.day), offset: 4))
        #expect(again.store(ConfirmationProcessor.storeName).get("retired:WO-DONE-10") != nil, "the restart kept the stamped time")
        #expect(again.store(ConfirmationProcessor.storeName).get("workorder:WO-OLD-10") != nil, "idle: 104 days from its stamp")
    }

    @Test("settings: each retention has its default and is refused below its minimum, naming the setting")
    func settingsValidated() throws {
        let defaults = ProcessingSettings()
        #expect(defaults.workOrderIdleRetention == 90 * Self.day && defaults.orderRetention == 30 * Self.day)
        #expect(defaults.retirementRecordRetention == 90 * Self.day)
        var short = defaults
        short.workOrderRetention = short.windowSize
        #expect(throws: SettingsError.self) { try short.validate() }
        short = defaults
        short.orderRetention = Self.day - 1
        let error = #expect(throws: SettingsError.self) { try short.validate() }
        #expect(error?.description == "orderRetention: at least 1 day")
    }
}

@Suite("Retention of the release ledger")
struct ReleaseRetentionTests {
    static let file = "valid-01-gb-200-120-ea.json"

    /// The example approval with `occurredAt` moved to `at` (the release processor's stream time).
    static func approval(at: Int64, offset: Int64) throws -> StreamRecord {
        let text = String(decoding: try Examples.bytes(Topics.orderApproved, file), as: UTF8.self)
            .replacingOccurrences(of: "2026-11-27T08:15:00.000Z", with: Timestamp(milliseconds: at).rfc3339)
        return StreamRecord(topic: Topics.orderApproved, partition: 0, offset: offset, key: Array("order".utf8), value: Array(text.utf8))
    }

    @Test(
        "an order released longer ago than orderRetention leaves the ledger for a retirement record; approved again it is quarantined WORK_ORDER_RETIRED, never released twice; replayed it changes nothing"
    )
    func ledgerRetired() throws {
        let driver = ProcessorTestDriver(processor: ReleaseProcessor(masterData: try Examples.masterData()), wallClock: Shop.t0)
        let ledger = driver.store(ReleaseProcessor.storeName)
        let releasedAt = Shop.t0 + 15 * 60_000  // the example's occurredAt
        let first = try Self.approval(at: releasedAt, offset: 0)
        try driver.pipe(first)
        #expect(driver.drainOutputs(topic: "mes.P100.production-release.v1").count == 1)
        let workOrderId = "WO-4500012345-10"
        #expect(ledger.get(workOrderId) != nil)
        let retention = ProcessingSettings().orderRetention

        try driver.pipe(try Self.approval(at: releasedAt + retention - 1, offset: 1))  // ERP sends it again
        #expect(ledger.get(workOrderId) != nil && ledger.get("retired:\(workOrderId)") == nil)
        try driver.pipe(try Self.approval(at: releasedAt + retention, offset: 2))
        #expect(ledger.get(workOrderId) == nil, "retired exactly orderRetention after its release")
        #expect(ledger.get("retired:\(workOrderId)").flatMap(RetirementRecord.init(bytes:))?.retiredAt == releasedAt + retention)
        #expect(driver.drainOutputs(topic: "mes.P100.production-release.v1").isEmpty)
        _ = driver.drainOutputs()

        try driver.pipe(try Self.approval(at: releasedAt + retention + 1, offset: 3))
        #expect(driver.drainOutputs(topic: "mes.P100.production-release.v1").isEmpty, "never released twice")
        #expect(driver.drainOutputs(topic: Topics.workOrders).isEmpty)
        #expect(try Shop.quarantines(driver).map(\.reason) == [.workOrderRetired])
        #expect(try Shop.statuses(driver).isEmpty, "ERP is not told the order is quarantined: it was released")
        try driver.pipe(first)  // a replay of the first approval
        #expect(driver.drainOutputs().isEmpty)
    }
}
