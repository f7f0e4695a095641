import Streams
import TestSupport
import Testing

@testable import Manufacturing

/// Work orders with no open window leave memory and come back from the store when an event or
/// their due date needs them.
@Suite("Quiet work orders out of memory")
struct ResidentWorkOrderTests {
    static func resident(_ driver: ProcessorTestDriver) -> Int {
        (driver.processor as? ConfirmationProcessor)?.residentWorkOrders ?? -1
    }

    @Test("a completed work order is evicted once its last window closed; a late scrap report reads it back and is posted as an adjustment")
    func evictAndReadBack() throws {
        let open = Shop.workOrder("WO-OPEN-10", ordered: 500)
        let done = Shop.workOrder("WO-DONE-10", ordered: 100)
        let driver = try Shop.driver(workOrders: [open, done])
        #expect(Self.resident(driver) == 0, "released, no event yet: both wait in the store")
        try driver.pipe(Shop.completed("WO-DONE-10", good: 100, at: Shop.minutes(1)))
        try driver.pipe(Shop.completed("WO-OPEN-10", good: 10, at: Shop.minutes(2)))
        #expect(try Shop.postings(driver).map(\.kind) == [.milestone])
        #expect(Self.resident(driver) == 2, "each has a window open")
        // Stream time passes the milestone window's end + grace: the empty window closes.
        try driver.pipe(Shop.completed("WO-OPEN-10", good: 10, at: Shop.minutes(21), final: false))
        #expect(try Shop.postings(driver).map(\.workOrderId) == ["WO-OPEN-10"], "the open order's first window")
        #expect(Self.resident(driver) == 1, "only the open work order stays in memory")

        try driver.pipe(Shop.scrap("WO-DONE-10", qty: 2, at: Shop.minutes(3)))
        let late = try Shop.postings(driver)
        #expect(late.map(\.kind) == [.adjustment], "the evicted work order came back for its late scrap report")
        let adjustment = try #require(late.first)
        #expect(adjustment.workOrderId == "WO-DONE-10" && adjustment.scrapQty == 2)
        #expect(adjustment.postingId.hasSuffix(":adj1"))

        // A restart on the same store keeps only the open one in memory. (The test driver starts
        // stream time afresh, unlike the runtime: an event moves it past the window first.)
        let restarted = ProcessorTestDriver(processor: ConfirmationProcessor(), wallClock: driver.wallClock, stores: driver.stores)
        let later = Shop.completed("WO-OPEN-10", good: 10, at: Shop.minutes(22), final: false)
        try restarted.pipe(StreamRecord(topic: later.topic, partition: 0, offset: 4, key: Array(later.key.utf8), value: later.value))
        #expect(Self.resident(restarted) == 1)
        _ = restarted.drainOutputs()
        let scrap = Shop.scrap("WO-DONE-10", qty: 1, at: Shop.minutes(4))
        // Offset 1: the first scrap report was offset 0 (a new driver would count from 0 again).
        try restarted.pipe(StreamRecord(topic: scrap.topic, partition: 0, offset: 1, key: Array(scrap.key.utf8), value: scrap.value))
        let afterRestart = try Shop.postings(restarted).map(\.postingId)
        #expect(afterRestart == ["WO-DONE-10:2026-11-27T08:00:00.000Z:adj2"], "its adjustment count survived eviction and restart")
    }

    @Test("a released work order waits in the store until its first event; every event counts once, and past its due date it is flagged LATE")
    func quietWorkOrderReadBack() throws {
        let driver = try Shop.driver(workOrders: [Shop.workOrder("WO-QUIET-10", ordered: 50, due: Shop.minutes(60))])
        #expect(Self.resident(driver) == 0)
        try driver.pipe(Shop.completed("WO-QUIET-10", op: 10, good: 5, at: Shop.minutes(1), final: false))
        #expect(try Shop.statuses(driver).map(\.status) == [.inProduction], "read back with its RELEASED status, then the first completion")
        #expect(Self.resident(driver) == 1)
        // Its window closes (posted), and with no window open it leaves memory again.
        try driver.pipe(Shop.completed("WO-OTHER-10", op: 10, good: 1, at: Shop.minutes(21), final: false))
        let first = try Shop.postings(driver).filter { $0.workOrderId == "WO-QUIET-10" }
        #expect(first.map(\.goodsReceiptQty) == [0] && first.first?.operations.first?.goodQty == 5)
        #expect(Self.resident(driver) == 0, "posted and quiet again")
        // Stream time passes the due date: read back, flagged LATE with the next event's status.
        try driver.pipe(Shop.completed("WO-QUIET-10", op: 10, good: 5, at: Shop.minutes(61), final: false))
        let statuses = try Shop.statuses(driver)
        #expect(statuses.last?.riskReasons == [.late])
        try driver.pipe(Shop.completed("WO-QUIET-10", good: 50, at: Shop.minutes(62)))
        let milestone = try Shop.postings(driver)
        #expect(milestone.map(\.kind) == [.milestone])
        #expect(milestone.first?.operations.map(\.goodQty) == [5, 50], "the second burst's events, not the first's again")
    }

    @Test(
        "a work order just released is one store row (with its release cause), not two; its first event writes its progress, and read back it goes on from RELEASED"
    )
    func releasedIsOneRow() throws {
        let driver = try Shop.driver(workOrders: [Shop.workOrder("WO-ROW-10", ordered: 10)])
        let store = driver.store(ConfirmationProcessor.storeName)
        #expect(store.get("workorder:WO-ROW-10") != nil)
        #expect(store.get("progress:WO-ROW-10") == nil, "its progress follows from the row")
        let bytes = try #require(store.get("workorder:WO-ROW-10"))
        let row = try #require(WorkOrder.storedRow(bytes))
        #expect(row.releaseCause?.topic == Topics.workOrders)
        try driver.pipe(Shop.completed("WO-ROW-10", op: 10, good: 1, at: Shop.minutes(1), final: false))
        #expect(store.get("progress:WO-ROW-10") != nil, "an event changes it: now it has a row of its own")
        #expect(try Shop.statuses(driver).map(\.status) == [.inProduction], "read back as RELEASED, then in production")
        // A restart on the same store reads the released-only work order the same way.
        let other = Shop.workOrder("WO-ROW-20", ordered: 10)
        try driver.pipe(topic: Topics.workOrders, key: other.workOrderId, value: Shop.envelope(other, id: "work-order:WO-ROW-20", correlation: "erp-row-20"))
        #expect(store.get("progress:WO-ROW-20") == nil)
        let restarted = ProcessorTestDriver(processor: ConfirmationProcessor(), wallClock: driver.wallClock, stores: driver.stores)
        let first = Shop.completed("WO-ROW-20", op: 10, good: 1, at: Shop.minutes(2), final: false)
        try restarted.pipe(StreamRecord(topic: first.topic, partition: 0, offset: 7, key: Array(first.key.utf8), value: first.value))
        #expect(try Shop.statuses(restarted).map(\.status) == [.inProduction])
    }

    @Test("a released work order with no event turns LATE when stream time passes its due date: ERP and CRM hear it, with the release's correlation id")
    func lateWithoutEvents() throws {
        let driver = try Shop.driver(workOrders: [Shop.workOrder("WO-BUSY-10", ordered: 10)])
        let idle = Shop.workOrder("WO-IDLE-10", ordered: 10, due: Shop.minutes(30))
        try driver.pipe(topic: Topics.workOrders, key: idle.workOrderId, value: Shop.envelope(idle, id: "work-order:WO-IDLE-10", correlation: "erp-order-idle"))
        try driver.pipe(Shop.completed("WO-BUSY-10", op: 10, good: 1, at: Shop.minutes(5), final: false))
        _ = driver.drainOutputs()
        try driver.pipe(Shop.completed("WO-BUSY-10", op: 10, good: 1, at: Shop.minutes(31), final: false))  // stream time past 30 min
        let erp = driver.drainOutputs(topic: Topics.erpOrderStatus).filter { record in
            (try? EventDecoder.decode(record.value, as: OrderStatus.self).get().data.workOrderId) == "WO-IDLE-10"
        }
        let status = try EventDecoder.decode(try #require(erp.first).value, as: OrderStatus.self).get()
        #expect(erp.count == 1)
        #expect(status.data.status == .released && status.data.riskReasons == [.late])
        #expect(status.metadata.correlationId == "erp-order-idle", "the release's correlation id")
        let crm = try driver.drainOutputs(topic: Topics.crmOrderStatus).map { try EventDecoder.decode($0.value, as: CustomerOrderStatus.self).get() }
        #expect(crm.contains { $0.metadata.correlationId == "erp-order-idle" && $0.data.riskReasons == [.late] })
    }
}
