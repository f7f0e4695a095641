import Streams
import TestSupport
import Testing

@testable import Manufacturing

/// Completed work orders leave memory and come back from the store when an event needs them.
@Suite("Completed work orders out of memory")
struct ResidentWorkOrderTests {
    static func resident(_ driver: ProcessorTestDriver) -> Int {
        (driver.processor as? ConfirmationProcessor)?.residentWorkOrders ?? -1
    }

    @Test("a completed work order is evicted once its last window closed; a late scrap report reads it back and is posted as an adjustment")
    func evictAndReadBack() throws {
        let open = Shop.workOrder("WO-OPEN-10", ordered: 500)
        let done = Shop.workOrder("WO-DONE-10", ordered: 100)
        let driver = try Shop.driver(workOrders: [open, done])
        #expect(Self.resident(driver) == 2)
        try driver.pipe(Shop.completed("WO-DONE-10", good: 100, at: Shop.minutes(1)))
        try driver.pipe(Shop.completed("WO-OPEN-10", good: 10, at: Shop.minutes(2)))
        #expect(try Shop.postings(driver).map(\.kind) == [.milestone])
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
}
