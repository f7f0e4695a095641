import Foundation
import Manufacturing
import Streams
import TestSupport
import Testing

@Suite("Confirmation aggregation through the processor test driver (manual clock)")
struct ConfirmationProcessorTests {
    @Test("events are assigned to epoch-aligned windows: the boundary instant starts the next window")
    func windowBoundaries() throws {
        let driver = try Shop.driver()
        try driver.pipe(Shop.completed(op: 10, good: 5, at: Shop.minutes(15) - 1, final: false))
        try driver.pipe(Shop.completed(op: 10, good: 7, at: Shop.minutes(15), final: false))
        #expect(try Shop.postings(driver).isEmpty, "nothing closes before windowEnd + grace")
        try driver.pipe(Shop.completed(op: 10, good: 1, at: Shop.minutes(35), final: false))  // stream time 08:35
        let postings = try Shop.postings(driver)
        #expect(postings.map(\.postingId) == ["WO-4711-10:2026-11-27T08:00:00.000Z", "WO-4711-10:2026-11-27T08:15:00.000Z"])
        #expect(postings.map(\.kind) == [.window, .window])
        #expect(postings[0].operations.map(\.goodQty) == [5])
        #expect(postings[1].operations.map(\.goodQty) == [7])
        #expect(postings[0].windowEnd.rfc3339 == "2026-11-27T08:15:00.000Z")
        #expect(postings[0].goodsReceiptQty == 0, "op 10 is not final: no goods receipt")
    }

    @Test("within the grace period a late event still counts in its window; the window closes at windowEnd + grace")
    func grace() throws {
        let driver = try Shop.driver()
        try driver.pipe(Shop.completed(op: 10, good: 5, at: Shop.minutes(14), final: false))
        try driver.pipe(Shop.completed(op: 10, good: 1, at: Shop.minutes(19.99), final: false))  // 08:15 window, stream 08:19.99
        try driver.pipe(Shop.completed(op: 10, good: 2, at: Shop.minutes(10), final: false))  // late but within grace
        #expect(try Shop.postings(driver).isEmpty)
        try driver.pipe(Shop.completed(op: 10, good: 1, at: Shop.minutes(20), final: false))  // stream time 08:20: 08:00 closes
        let postings = try Shop.postings(driver)
        #expect(postings.count == 1)
        #expect(postings.first?.operations.first?.goodQty == 7)
        #expect(postings.first?.eventCount == 2)
    }

    @Test("an event later than the grace period goes into numbered adjustment postings, never dropped")
    func lateEventsBecomeAdjustments() throws {
        let driver = try Shop.driver()
        try driver.pipe(Shop.completed(good: 10, at: Shop.minutes(5)))
        try driver.pipe(Shop.completed(op: 10, good: 1, at: Shop.minutes(30), final: false))  // closes 08:00
        #expect(try Shop.postings(driver).map(\.kind) == [.window])
        try driver.pipe(Shop.scrap(qty: 2, at: Shop.minutes(7)))
        try driver.pipe(Shop.completed(good: 3, at: Shop.minutes(8)))
        let adjustments = try Shop.postings(driver)
        #expect(adjustments.map(\.postingId) == ["WO-4711-10:2026-11-27T08:00:00.000Z:adj1", "WO-4711-10:2026-11-27T08:00:00.000Z:adj2"])
        #expect(adjustments.map(\.kind) == [.adjustment, .adjustment])
        #expect(adjustments[0].scrapQty == 2)
        #expect(adjustments[1].goodsReceiptQty == 3)
        #expect(adjustments.allSatisfy { $0.eventCount == 1 })
    }

    @Test("the completion milestone posts at once; the window's closing posting then carries only what came after")
    func milestone() throws {
        let driver = try Shop.driver(workOrders: [Shop.workOrder(ordered: 100)])
        try driver.pipe(Shop.completed(good: 60, at: Shop.minutes(1)))
        #expect(try Shop.postings(driver).isEmpty)
        try driver.pipe(Shop.completed(good: 40, at: Shop.minutes(2)))
        let milestone = try Shop.postings(driver)
        #expect(milestone.map(\.postingId) == ["WO-4711-10:2026-11-27T08:00:00.000Z:milestone"])
        #expect(milestone.first?.goodsReceiptQty == 100)
        #expect(milestone.first?.eventCount == 2)
        #expect(milestone.first?.materialConsumption.map(\.qty) == [100, 50], "qtyPer × (goods receipt + scrap)")
        // Nothing more in the window: no closing posting.
        try driver.pipe(Shop.completed(op: 10, good: 1, at: Shop.minutes(40), final: false))
        #expect(try Shop.postings(driver).filter { $0.windowStart.rfc3339 == "2026-11-27T08:00:00.000Z" }.isEmpty)

        // A second work order: scrap after the milestone goes into the window's closing posting.
        let other = try Shop.driver(workOrders: [Shop.workOrder(ordered: 10)])
        try other.pipe(Shop.completed(good: 10, at: Shop.minutes(1)))
        try other.pipe(Shop.scrap(qty: 1, at: Shop.minutes(3)))
        try other.pipe(Shop.completed(op: 10, good: 1, at: Shop.minutes(40), final: false))
        let after = try Shop.postings(other)
        #expect(after.map(\.kind) == [.milestone, .window])
        #expect(after.last?.scrapQty == 1)
        #expect(after.last?.eventCount == 1)
    }

    @Test("a quiet partition's windows close: after the idle timeout stream time moves to the wall clock")
    func idleClose() throws {
        let driver = try Shop.driver(wallClock: Shop.minutes(1))
        try driver.pipe(Shop.completed(good: 5, at: Shop.minutes(1)))
        try driver.advanceWallClock(by: 59_000)
        #expect(try Shop.postings(driver).isEmpty, "not idle yet")
        try driver.advanceWallClock(by: 1_000)  // 60 s without events: stream time = wall clock = 08:02
        #expect(try Shop.postings(driver).isEmpty, "stream time 08:02 does not close the 08:00 window")
        try driver.advanceWallClock(by: 19 * 60_000)  // wall clock 08:21
        let postings = try Shop.postings(driver)
        #expect(postings.map(\.kind) == [.window])
        #expect(driver.streamTime == Shop.minutes(21))
    }

    @Test("MES events of an unknown work order are parked, then quarantined as UNKNOWN_WORK_ORDER after the timeout")
    func parking() throws {
        let driver = try Shop.driver(workOrders: [])
        let event = Shop.completed("WO-9-1", good: 5, at: Shop.minutes(1))
        try driver.pipe(event)
        try driver.advanceWallClock(by: 9 * 60_000)
        #expect(try Shop.quarantines(driver).isEmpty)
        try driver.advanceWallClock(by: 60_000)
        let quarantined = try Shop.quarantines(driver)
        #expect(quarantined.map(\.reason) == [.unknownWorkOrder])
        #expect(quarantined.first?.originalTopic == Topics.operationCompleted)
        #expect(quarantined.first?.original == (try JSONParser.parse(event.value)), "the whole input envelope")
        try driver.advanceWallClock(by: 60 * 60_000)
        #expect(try Shop.quarantines(driver).isEmpty, "quarantined once")
    }

    @Test("a parked event is applied when its work order arrives in time")
    func parkedThenReleased() throws {
        let driver = try Shop.driver(workOrders: [])
        try driver.pipe(Shop.completed(good: 100, at: Shop.minutes(1)))
        try driver.advanceWallClock(by: 5 * 60_000)
        let wo = Shop.workOrder(ordered: 100)
        try driver.pipe(topic: Topics.workOrders, key: wo.workOrderId, value: Shop.envelope(wo, id: "work-order"))
        #expect(try Shop.postings(driver).map(\.kind) == [.milestone])
        try driver.advanceWallClock(by: 60 * 60_000)
        #expect(try Shop.quarantines(driver).isEmpty)
    }

    @Test("a posting that would exceed ordered × (1 + tolerance) goes to quarantine; ERP stays within tolerance")
    func overConfirmation() throws {
        let driver = try Shop.driver(workOrders: [Shop.workOrder(ordered: 40)])
        try driver.pipe(Shop.completed(good: 30, at: Shop.minutes(1)))
        try driver.pipe(Shop.completed(op: 10, good: 1, at: Shop.minutes(21), final: false))
        #expect(try Shop.postings(driver).map(\.goodsReceiptQty) == [30])
        try driver.pipe(Shop.completed(good: 18, at: Shop.minutes(22)))  // 48 > 44
        #expect(try Shop.postings(driver).isEmpty, "ERP gets nothing more")
        let held = try Shop.quarantines(driver)
        #expect(held.map(\.reason) == [.overConfirmation])
        guard case .object(let posting)? = held.first?.original, case .object(let data)? = posting["data"] else {
            Issue.record("the original is the posting held back")
            return
        }
        #expect(data["goodsReceiptQty"] == .number(18, isInteger: true))
        #expect(held.first?.detail.contains("44") == true)
        // Within tolerance passes: 30 + 12 = 42 ≤ 44.
        let ok = try Shop.driver(workOrders: [Shop.workOrder(ordered: 40)])
        try ok.pipe(Shop.completed(good: 30, at: Shop.minutes(1)))
        try ok.pipe(Shop.completed(good: 12, at: Shop.minutes(2)))
        #expect(try Shop.postings(ok).map(\.goodsReceiptQty) == [42])
    }

    @Test("status goes RELEASED → IN_PRODUCTION → COMPLETED; scrap over tolerance and LATE are flagged")
    func statusAndRisk() throws {
        let driver = try Shop.driver(workOrders: [Shop.workOrder(ordered: 50, due: Shop.minutes(60))])
        try driver.pipe(Shop.completed(op: 10, good: 50, at: Shop.minutes(1), final: false))
        #expect(try Shop.statuses(driver).map(\.status) == [.inProduction], "first completion")
        try driver.pipe(Shop.scrap(qty: 4, at: Shop.minutes(2)))
        try driver.pipe(Shop.completed(good: 20, at: Shop.minutes(3)))
        #expect(try Shop.statuses(driver).isEmpty, "nothing changed for ERP yet")
        try driver.pipe(Shop.completed(op: 10, good: 1, at: Shop.minutes(21), final: false))  // window posts
        let withPosting = try Shop.statuses(driver)
        #expect(withPosting.last?.status == .inProduction)
        #expect(withPosting.last?.goodsReceiptQty == 20)
        #expect(withPosting.last?.scrapQty == 4)
        #expect(withPosting.last?.riskReasons == [.scrapOverTolerance], "4 / 24 > 5 %")
        #expect(withPosting.last?.progressPct == 40)
        try driver.pipe(Shop.completed(op: 10, good: 1, at: Shop.minutes(61), final: false))  // past due
        #expect(try Shop.statuses(driver).last?.riskReasons == [.late, .scrapOverTolerance].sorted())
        try driver.pipe(Shop.completed(good: 30, at: Shop.minutes(62)))
        let done = try Shop.statuses(driver)
        #expect(done.last?.status == .completed)
        #expect(done.last?.riskReasons == [.scrapOverTolerance], "a completed order is not late")
    }

    @Test("CRM status carries nothing internal")
    func crmMasking() throws {
        let driver = try Shop.driver()
        try driver.pipe(Shop.completed(good: 100, at: Shop.minutes(1)))
        try driver.pipe(Shop.scrap(qty: 3, at: Shop.minutes(2)))
        try driver.pipe(Shop.completed(op: 10, good: 1, at: Shop.minutes(30), final: false))
        let crm = driver.drainOutputs(topic: Topics.crmOrderStatus)
        #expect(!crm.isEmpty)
        for record in crm {
            let text = String(decoding: record.value ?? [], as: UTF8.self)
            for secret in ["workOrderId", "plant\"", "workCenter", "scrapQty", "customerName", "WO-4711-10", "P100"] {
                #expect(!text.contains(secret), "CRM status leaks \(secret): \(text)")
            }
            _ = try EventDecoder.decode(record.value, as: CustomerOrderStatus.self).get()
        }
    }

    @Test("outputs keep the input's correlationId and carry the contract's headers")
    func correlation() throws {
        let driver = try Shop.driver()
        let event = Shop.completed(good: 100, at: Shop.minutes(1), id: "mes-evt-1")
        try driver.pipe(event)
        let outputs = driver.drainOutputs()
        #expect(!outputs.isEmpty)
        for output in outputs {
            let header = { (name: String) in output.headers.last { $0.key == name }?.stringValue }
            #expect(header("correlation-id") == "crm-req-4711")
            #expect(header("causation-id") == "mes-evt-1")
            #expect(header("event-id")?.isEmpty == false)
            #expect(header("schema") != nil)
            #expect(header("schema-version") == "1")
        }
    }

    @Test("replayed input (same offsets) and an event sent twice change nothing; every event is counted in exactly one posting")
    func exactlyOnceCounting() throws {
        var generator = SystemRandomNumberGenerator()
        let driver = try Shop.driver(workOrders: [Shop.workOrder(ordered: 1_000_000)])
        var sent: [(topic: String, key: String, value: [UInt8])] = []
        var records: [StreamRecord] = []
        var offsets: [String: Int64] = [:]
        var minute = 0.0
        for _ in 0..<400 {
            minute += Double.random(in: 0...3, using: &generator)
            let jitter = Double.random(in: -30...0, using: &generator)  // some later than the grace
            let at = Shop.minutes(max(0, minute + jitter))
            let event =
                Bool.random(using: &generator)
                ? Shop.completed(
                    op: [10, 20, 30].randomElement(using: &generator)!, good: Double(Int.random(in: 1...9, using: &generator)), at: at,
                    final: Bool.random(using: &generator))
                : Shop.scrap(qty: Double(Int.random(in: 1...3, using: &generator)), at: at)
            sent.append(event)
            let offset = offsets[event.topic, default: 0]
            offsets[event.topic] = offset + 1
            let record = StreamRecord(topic: event.topic, partition: 0, offset: offset, key: Array(event.key.utf8), value: event.value)
            records.append(record)
            try driver.pipe(record)
            if records.count % 50 == 0 {
                try driver.pipe(StreamRecord(topic: event.topic, partition: 0, offset: offsets[event.topic, default: 0], key: record.key, value: event.value))
                offsets[event.topic, default: 0] += 1
            }  // MES sends it twice
        }
        for record in records.prefix(100) { try driver.pipe(record) }  // a replay (offset reset) of the first 100
        try driver.advanceWallClock(by: 24 * 3_600_000)  // idle: everything closes
        let postings = try Shop.postings(driver)
        #expect(postings.reduce(0) { $0 + $1.eventCount } == sent.count, "each event in exactly one posting")
        #expect(Set(postings.map(\.postingId)).count == postings.count, "no posting id twice")
        let expectedScrap = try sent.filter { $0.topic == Topics.scrapReported }.map {
            try EventDecoder.decode($0.value, as: ScrapReported.self).get().data.scrapQty
        }.reduce(0, +)
        #expect(postings.reduce(0) { $0 + $1.scrapQty } == expectedScrap)
        let expectedReceipt = try sent.filter { $0.topic == Topics.operationCompleted }.map {
            try EventDecoder.decode($0.value, as: OperationCompleted.self).get().data
        }.filter(\.final).map(\.goodQty).reduce(0, +)
        #expect(postings.reduce(0) { $0 + $1.goodsReceiptQty } == expectedReceipt)
    }

    @Test("state survives a restart from the store: a new processor on the same store goes on where the old one stopped")
    func restoreFromStore() throws {
        let first = try Shop.driver(workOrders: [Shop.workOrder(ordered: 100)])
        let early = Shop.completed(good: 60, at: Shop.minutes(1))
        try first.pipe(early)
        #expect(try Shop.postings(first).isEmpty)

        let second = ProcessorTestDriver(processor: ConfirmationProcessor(), wallClock: first.wallClock, stores: first.stores)
        try second.pipe(early)  // replayed after the restart: already counted
        try second.pipe(Shop.completed(good: 40, at: Shop.minutes(2)))
        let postings = try Shop.postings(second)
        #expect(postings.map(\.kind) == [.milestone], "the work order and its 60 were restored")
        #expect(postings.first?.goodsReceiptQty == 100)
        #expect(postings.first?.eventCount == 2)
    }
}

@Suite("Replay of quarantined MES events")
struct ReplayUnknownWorkOrderTests {
    @Test("an event quarantined as UNKNOWN_WORK_ORDER is applied when replayed after its work order arrived; others stay skipped")
    func replayAfterRelease() throws {
        let driver = try Shop.driver(workOrders: [])
        let unknown = Shop.completed(good: 100, at: Shop.minutes(1))
        let record = StreamRecord(topic: unknown.topic, partition: 0, offset: 0, key: Array(unknown.key.utf8), value: unknown.value)
        try driver.pipe(record)
        try driver.advanceWallClock(by: 11 * 60_000)
        #expect(try Shop.quarantines(driver).map(\.reason) == [.unknownWorkOrder])
        // ERP releases the order late; the operator replays the MES topic from offset 0.
        let wo = Shop.workOrder(ordered: 100)
        try driver.pipe(topic: Topics.workOrders, key: wo.workOrderId, value: Shop.envelope(wo, id: "work-order"))
        try driver.pipe(record)
        #expect(try Shop.postings(driver).map(\.kind) == [.milestone], "the replayed event took effect")
        try driver.pipe(record)
        #expect(try Shop.postings(driver).isEmpty, "a second replay changes nothing")
    }

    @Test(
        "order status goes out only when a field its reader sees changed: a posting without quantities sends none; scrap alone tells ERP, not CRM; goods receipt tells both"
    )
    func statusOnlyOnChange() throws {
        let driver = try Shop.driver(workOrders: [Shop.workOrder(ordered: 100)])
        try driver.pipe(Shop.completed(op: 10, good: 5, at: Shop.minutes(1), final: false))
        #expect(try Shop.statuses(driver).map(\.status) == [.inProduction], "the first completion: IN_PRODUCTION")
        _ = driver.drainOutputs(topic: Topics.crmOrderStatus)
        try driver.pipe(Shop.completed(op: 10, good: 1, at: Shop.minutes(20), final: false))  // closes 08:00: op 10 only
        #expect(try Shop.postings(driver).map(\.goodsReceiptQty) == [0])
        #expect(try Shop.statuses(driver).isEmpty, "a posting without goods receipt or scrap changes nothing ERP sees")
        #expect(driver.drainOutputs(topic: Topics.crmOrderStatus).isEmpty)

        try driver.pipe(Shop.scrap(qty: 1, at: Shop.minutes(21)))
        try driver.pipe(Shop.completed(op: 30, good: 50, at: Shop.minutes(22)))
        try driver.pipe(Shop.completed(op: 10, good: 1, at: Shop.minutes(40), final: false))  // closes 08:15
        #expect(try Shop.postings(driver).map(\.goodsReceiptQty) == [50])
        let erp = try Shop.statuses(driver)
        #expect(erp.map(\.goodsReceiptQty) == [50] && erp.map(\.scrapQty) == [1] && erp.map(\.progressPct) == [50])
        #expect(driver.drainOutputs(topic: Topics.crmOrderStatus).count == 1, "progress moved: CRM hears it")

        try driver.pipe(Shop.scrap(qty: 1, at: Shop.minutes(41)))
        try driver.pipe(Shop.completed(op: 10, good: 1, at: Shop.minutes(55), final: false))  // closes 08:30: scrap only
        #expect(try Shop.postings(driver).map(\.scrapQty) == [1])
        #expect(try Shop.statuses(driver).map(\.scrapQty) == [2], "ERP sees its scrap quantity change")
        #expect(driver.drainOutputs(topic: Topics.crmOrderStatus).isEmpty, "CRM sees no quantities: status, progress and risk are unchanged")
    }
}
