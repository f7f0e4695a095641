import Foundation
import Manufacturing
import Streams
import TestSupport
import Testing

@Suite("Order status is not published again when nothing a reader sees changed")
struct ConfirmationStatusTests {
    /// The MES events of one work order, piped with their own offsets so that a restarted
    /// processor (a new driver on the old one's stores) sees new input, not a replay.
    final class Line {
        var driver: ProcessorTestDriver
        var offset: Int64 = 0

        init(_ driver: ProcessorTestDriver) { self.driver = driver }

        func pipe(_ event: (topic: String, key: String, value: [UInt8])) throws {
            defer { offset += 1 }
            try driver.pipe(StreamRecord(topic: event.topic, partition: 0, offset: offset, key: Array(event.key.utf8), value: event.value))
        }

        /// A new processor on the stores as they are: a worker restarted, or the task moved.
        func restart() {
            driver = ProcessorTestDriver(processor: ConfirmationProcessor(), wallClock: driver.wallClock, stores: driver.stores)
        }

        /// ERP's and CRM's status events since the last call, as "STATUS goodsReceipt/ordered progress%".
        func statuses() throws -> (erp: [String], crm: [String]) {
            let erp = try Shop.statuses(driver).map { "\($0.status.rawValue) \(Int($0.goodsReceiptQty))/\(Int($0.orderedQty)) \(Int($0.progressPct))%" }
            let crm = try driver.drainOutputs(topic: Topics.crmOrderStatus).map {
                let status = try EventDecoder.decode($0.value, as: CustomerOrderStatus.self).get().data
                return "\(status.status.rawValue) \(Int(status.progressPct))%"
            }
            return (erp, crm)
        }
    }

    @Test(
        "IN_PRODUCTION 0/120 0% and COMPLETED 120/120 100% go out once each: more events, postings without quantities, restarts and the work order leaving memory send nothing again"
    )
    func unchangedStatusIsNotPublishedAgain() throws {
        let line = Line(try Shop.driver(workOrders: [Shop.workOrder(ordered: 120)]))
        _ = try line.statuses()  // the release itself sends nothing here (the release processor does)

        try line.pipe(Shop.completed(op: 10, good: 5, at: Shop.minutes(1), final: false))
        var sent = try line.statuses()
        #expect(sent.erp == ["IN_PRODUCTION 0/120 0%"] && sent.crm == ["IN_PRODUCTION 0%"], "the first completion")

        try line.pipe(Shop.completed(op: 10, good: 5, at: Shop.minutes(2), final: false))
        try line.pipe(Shop.completed(op: 20, good: 5, at: Shop.minutes(3), final: false))
        sent = try line.statuses()
        #expect(sent.erp.isEmpty && sent.crm.isEmpty, "IN_PRODUCTION 0/120 0% again: not sent")

        try line.pipe(Shop.completed(op: 10, good: 5, at: Shop.minutes(20), final: false))  // closes 08:00: no goods receipt
        #expect(try Shop.postings(line.driver).map(\.goodsReceiptQty) == [0])
        sent = try line.statuses()
        #expect(sent.erp.isEmpty && sent.crm.isEmpty, "a posting that moves no quantity ERP or CRM sees")

        line.restart()
        try line.pipe(Shop.completed(op: 20, good: 5, at: Shop.minutes(21), final: false))
        sent = try line.statuses()
        #expect(sent.erp.isEmpty && sent.crm.isEmpty, "after a restart the last status sent is known: not sent again")

        try line.pipe(Shop.completed(op: 30, good: 120, at: Shop.minutes(22)))  // the milestone
        #expect(try Shop.postings(line.driver).map(\.kind) == [.milestone])
        sent = try line.statuses()
        #expect(sent.erp == ["COMPLETED 120/120 100%"] && sent.crm == ["COMPLETED 100%"])

        try line.pipe(Shop.completed(op: 10, good: 5, at: Shop.minutes(23), final: false))
        try line.pipe(Shop.completed(op: 10, good: 5, at: Shop.minutes(40), final: false))  // closes 08:15 after the milestone
        #expect(try Shop.postings(line.driver).map(\.goodsReceiptQty) == [0])
        line.restart()
        try line.pipe(Shop.completed(op: 20, good: 5, at: Shop.minutes(41), final: false))
        try line.driver.advanceWallClock(by: 24 * 3_600_000)  // idle: every window closes, the due date passes
        #expect(try Shop.postings(line.driver).allSatisfy { $0.goodsReceiptQty == 0 })
        sent = try line.statuses()
        #expect(sent.erp.isEmpty && sent.crm.isEmpty, "COMPLETED 120/120 100% again: not sent, nor LATE for a completed order")
    }
}
