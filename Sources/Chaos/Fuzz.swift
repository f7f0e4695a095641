import Foundation
import Manufacturing
import Ops
import Streams

/// Fuzzed shop-floor input: what a broken gateway, a bad network or a hostile client sends. Every
/// record names a work order that is never released (`FZ-…`), so whatever a worker makes of it
/// is a dead letter (it cannot be read) or an UNKNOWN_WORK_ORDER quarantine (it can): never a
/// release or a posting.
enum Fuzz {
    enum Kind: String, CaseIterable, Sendable {
        case randomBytes = "random bytes"
        case truncated
        case bitFlip = "bit flip"
        case large = "300 KB value"
        case deepNesting = "deep nesting"
        case invalidUTF8 = "invalid UTF-8"
        case hugeNumber = "huge number"
    }

    /// `count` records, kinds in turn, seeded.
    static func records(count: Int, seed: UInt64, at time: Int64) -> [(kind: Kind, record: OutputRecord)] {
        var random = SimulationRandom(seed: seed)
        return (0..<count).map { n in
            let kind = Kind.allCases[n % Kind.allCases.count]
            let workOrder = "FZ-\(seed)-\(n)"
            let topic = n % 2 == 0 ? Topics.operationCompleted : Topics.scrapReported
            let valid = Array(event(workOrder: workOrder, n: n, seed: seed, at: time, goodQty: "12").utf8)
            let value: [UInt8]
            switch kind {
            case .randomBytes:
                value = (0..<(1 + Int(random.next() % 200))).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            case .truncated:
                value = Array(valid.prefix(1 + Int(random.next() % UInt64(valid.count - 1))))
            case .bitFlip:
                var flipped = valid
                let bit = Int(random.next() % UInt64(flipped.count * 8))
                flipped[bit / 8] ^= UInt8(1 << (bit % 8))
                value = flipped
            case .large:
                value = Array("{\"schema\":\"mes.operation-completed\",\"pad\":\"\(String(repeating: "x", count: 300_000))\"}".utf8)
            case .deepNesting:
                value = Array((String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)).utf8)
            case .invalidUTF8:
                var bytes = valid
                if let quote = bytes.firstIndex(of: UInt8(ascii: "F")) { bytes.insert(contentsOf: [0xC3, 0x28, 0xFF], at: quote) }
                value = bytes
            case .hugeNumber:
                value = Array(event(workOrder: workOrder, n: n, seed: seed, at: time, goodQty: "1e400").utf8)
            }
            // Every third one keyless, as a client without a key sends it.
            return (kind, OutputRecord(topic: topic, key: n % 3 == 0 ? nil : Array(workOrder.utf8), value: value))
        }
    }

    private static func event(workOrder: String, n: Int, seed: UInt64, at time: Int64, goodQty: String) -> String {
        let at = Timestamp(milliseconds: time).rfc3339
        return """
            {"schema":"mes.operation-completed","schemaVersion":1,"eventId":"fuzz-\(seed)-\(n)","correlationId":"fuzz","occurredAt":"\(at)",\
            "source":{"system":"MES","plant":"P100"},"data":{"workOrderId":"\(workOrder)","operationSeq":10,"workCenter":"WC-1",\
            "plant":"P100","goodQty":\(goodQty),"uom":"EA","completedAt":"\(at)","final":false}}
            """
    }
}
