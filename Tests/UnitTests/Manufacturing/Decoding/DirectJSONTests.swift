import PropertyBased
import Testing

@testable import Manufacturing

/// The hot output events are written straight to bytes; those bytes must be exactly what the
/// tree writer makes of their `json`.
@Suite("Output events written directly")
struct DirectJSONTests {
    static let strings = ["WO-4500012345-10", "", "quote\"d", "back\\slash", "tab\tand\nnew line", "ünïcödé €", "\u{1}\u{1F}", "P100", "a/b"]
    static let numbers: [Double] = [0, 1, 36, 0.5, 120.25, 1e15, 1e16, 9.5e15, -0.0, 1234.5678, 1e-7, 3.0e20, 99.99999999]

    @Test("postings, ERP status and CRM status: the direct bytes equal the tree's, for tricky strings and numbers")
    func sameBytes() async {
        await propertyCheck(count: 400, input: Gen.int(in: 0...1_000_000).array(of: 16)) { picks in
            func text(_ i: Int) -> String { Self.strings[picks[i] % Self.strings.count] }
            func number(_ i: Int) -> Double { Self.numbers[picks[i] % Self.numbers.count] }
            let posting = ProductionConfirmation(
                postingId: text(0), workOrderId: text(1), orderId: text(2), plant: text(3),
                windowStart: Timestamp(milliseconds: Int64(picks[4]) * 900_000), windowEnd: Timestamp(milliseconds: Int64(picks[4] + 1) * 900_000),
                kind: ProductionConfirmation.Kind.allCases[picks[5] % 3], goodsReceiptQty: number(6), scrapQty: number(7), uom: text(8),
                operations: (0..<picks[9] % 3).map { .init(operationSeq: 10 * ($0 + 1), goodQty: number(10 + $0), scrapQty: number(11)) },
                materialConsumption: (0..<picks[12] % 3).map { .init(itemId: text(13 + $0), qty: number(14), uom: text(15)) },
                eventCount: picks[15])
            let source = EventSource(system: text(0), plant: picks[1] % 2 == 0 ? nil : text(3))
            let envelope = Envelope(
                eventId: text(13), correlationId: text(14), occurredAt: Timestamp(milliseconds: Int64(picks[2])), source: source, data: posting)
            #expect(envelope.bytes == JSONWriter.bytes(envelope.json))

            let status = OrderStatus(
                orderId: text(1), workOrderId: picks[2] % 2 == 0 ? nil : text(2), plant: picks[3] % 2 == 0 ? nil : text(3),
                status: OrderStatusCode.allCases[picks[4] % OrderStatusCode.allCases.count], orderedQty: number(5),
                goodsReceiptQty: number(6), scrapQty: number(7), riskReasons: Array(RiskReason.allCases.prefix(picks[8] % 3)),
                dueDate: Timestamp(milliseconds: Int64(picks[9]) * 1_000), updatedAt: Timestamp(milliseconds: Int64(picks[10])))
            let erp = Envelope(eventId: text(11), correlationId: text(12), occurredAt: Timestamp(milliseconds: 0), source: source, data: status)
            #expect(erp.bytes == JSONWriter.bytes(erp.json))
            let crm = Envelope(eventId: text(11), correlationId: text(12), occurredAt: Timestamp(milliseconds: 0), source: source, data: status.forCustomer)
            #expect(crm.bytes == JSONWriter.bytes(crm.json))
        }
    }

    @Test("other payloads go through their tree, so their bytes are the tree's too")
    func treeDefault() {
        let quarantine = Quarantine(
            reason: .unknownWorkOrder, detail: "no release", originalTopic: "t", originalPartition: 1, originalOffset: 2, original: ["a": 1])
        let envelope = Envelope(
            eventId: "e", correlationId: "c", occurredAt: Timestamp(milliseconds: 5), source: EventSource(system: "Millwright"), data: quarantine)
        #expect(envelope.bytes == JSONWriter.bytes(envelope.json))
    }
}
