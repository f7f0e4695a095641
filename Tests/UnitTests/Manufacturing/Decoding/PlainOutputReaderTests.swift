import Foundation
import Manufacturing
import Streams
import TestSupport
import Testing

@Suite("The one-pass reader of postings and order status (the console's)")
struct PlainOutputReaderTests {
    /// What the console took from the full parser's tree before the one-pass reader.
    static func treePosting(_ bytes: [UInt8]) -> (plant: String, windowStart: Timestamp)? {
        guard let envelope = try? JSONParser.parse(bytes), let data = envelope["data"], case .string(let plant)? = data["plant"],
            case .string(let start)? = data["windowStart"], let windowStart = try? Timestamp(rfc3339: start)
        else { return nil }
        return (plant, windowStart)
    }

    static func treeStatus(_ bytes: [UInt8]) -> PlainOutputReader.OrderStatusFields? {
        guard let envelope = try? JSONParser.parse(bytes), let data = envelope["data"], case .string(let orderId)? = data["orderId"],
            case .string(let status)? = data["status"]
        else { return nil }
        func string(_ key: String) -> String? { if case .string(let s)? = data[key] { s } else { nil } }
        var reasons: [String] = []
        if case .array(let values)? = data["riskReasons"] { reasons = values.compactMap { if case .string(let s) = $0 { s } else { nil } } }
        return PlainOutputReader.OrderStatusFields(
            orderId: orderId, status: status, workOrderId: string("workOrderId"), plant: string("plant"), riskReasons: reasons,
            atRisk: data["atRisk"] == .bool(true), dueDate: string("dueDate"), updatedAt: string("updatedAt"))
    }

    @Test("on the processor's own postings and ERP status (risks, completion) it reads what the full parser reads")
    func sameAsTheTree() throws {
        let driver = try Shop.driver(workOrders: [Shop.workOrder(ordered: 50, due: Shop.minutes(60))])
        try driver.pipe(Shop.completed(op: 10, good: 50, at: Shop.minutes(1), final: false))
        try driver.pipe(Shop.scrap(qty: 4, at: Shop.minutes(2)))
        try driver.pipe(Shop.completed(good: 20, at: Shop.minutes(3)))
        try driver.pipe(Shop.completed(op: 10, good: 1, at: Shop.minutes(21), final: false))
        try driver.pipe(Shop.completed(op: 10, good: 1, at: Shop.minutes(61), final: false))
        try driver.pipe(Shop.completed(good: 30, at: Shop.minutes(62)))
        let postings = driver.drainOutputs(topic: Topics.productionConfirmation).compactMap(\.value)
        let statuses = driver.drainOutputs(topic: Topics.erpOrderStatus).compactMap(\.value)
        #expect(postings.count >= 2 && statuses.count >= 3)
        for bytes in postings {
            let fast = try #require(PlainOutputReader.posting(bytes), "a posting of our own is plain")
            let tree = try #require(Self.treePosting(bytes))
            #expect(fast.plant == tree.plant && fast.windowStart == tree.windowStart)
        }
        for bytes in statuses {
            let fast = try #require(PlainOutputReader.orderStatus(bytes), "a status of our own is plain")
            #expect(fast == Self.treeStatus(bytes))
        }
        #expect(statuses.compactMap(PlainOutputReader.orderStatus).contains { $0.atRisk && !$0.riskReasons.isEmpty })
    }

    @Test("whitespace, extra members, nested values and null elsewhere are read; escapes, a null field, a second data or broken JSON are left to the parser")
    func plainFormOnly() {
        let posting =
            #"{"schema":"erp.production-confirmation","extra":[1,{"a":[true,false,null]},-2.5e3],"data":{"plant":"P100","windowStart":"2026-11-27T08:00:00.000Z","operations":[],"more":{}},"eventId":"e"}"#
        let fast = PlainOutputReader.posting(Array(posting.utf8))
        #expect(fast?.plant == "P100" && fast?.windowStart == Self.treePosting(Array(posting.utf8))?.windowStart)
        let spaced = #" { "data" : { "plant" : "P100" , "windowStart" : "2026-11-27T08:00:00.000Z" } } "#
        #expect(PlainOutputReader.posting(Array(spaced.utf8))?.plant == "P100")
        for other in [
            #"{"data":{"plant":"P\u0031","windowStart":"2026-11-27T08:00:00.000Z"}}"#,  // an escape
            #"{"data":{"plant":null,"windowStart":"2026-11-27T08:00:00.000Z"}}"#,
            #"{"data":{"plant":"P100","windowStart":"2026-11-27T08:00:00.000Z"},"data":{}}"#,
            #"{"data":{"plant":"P100","windowStart":"2026-11-27T08:00:00.000Z"}"#,  // unclosed
            #"{"data":{"plant":"P100","windowStart":"2026-11-27T08:00:00.000Z"}} x"#,
            #"{"data":{"plant":"P100"}}"#,
        ] {
            #expect(PlainOutputReader.posting(Array(other.utf8)) == nil, "\(other)")
        }
        let status =
            #"{"data":{"orderId":"4711","status":"IN_PRODUCTION","riskReasons":[],"atRisk":false,"orderedQty":5,"dueDate":"2026-11-28T08:00:00.000Z"}}"#
        #expect(PlainOutputReader.orderStatus(Array(status.utf8)) == Self.treeStatus(Array(status.utf8)))
        #expect(PlainOutputReader.orderStatus(Array(#"{"data":{"orderId":"4711","status":"X","riskReasons":["LATE",1]}}"#.utf8)) == nil)
    }
}
