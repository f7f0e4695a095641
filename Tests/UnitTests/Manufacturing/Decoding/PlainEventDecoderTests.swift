import PropertyBased
import TestSupport
import Testing

@testable import Manufacturing

/// The fast path for MES events must give exactly what the full decoder gives, or step aside.
@Suite("Plain MES event fast path")
struct PlainEventDecoderTests {
    static let topics = ["mes.operation-completed.v1", "mes.scrap-reported.v1"]

    static let examples: [[UInt8]] = {
        var all: [[UInt8]] = []
        for topic in topics {
            for (file, _) in (try? Examples.expectations(topic)) ?? [] {
                if let bytes = try? Examples.bytes(topic, file) { all.append(bytes) }
            }
        }
        return all
    }()

    /// Whatever the fast path returns equals the full decoder's event; returns whether it answered.
    @discardableResult
    static func agrees(_ bytes: [UInt8]) -> Bool {
        var answered = false
        if let fast = PlainEventDecoder.decode(bytes, as: OperationCompleted.self) {
            answered = true
            let full = try? EventDecoder.decode(bytes, as: OperationCompleted.self).get()
            #expect(full?.metadata == fast.metadata && full?.data == fast.data, "\(String(decoding: bytes, as: UTF8.self))")
        }
        if let fast = PlainEventDecoder.decode(bytes, as: ScrapReported.self) {
            answered = true
            let full = try? EventDecoder.decode(bytes, as: ScrapReported.self).get()
            #expect(full?.metadata == fast.metadata && full?.data == fast.data, "\(String(decoding: bytes, as: UTF8.self))")
        }
        return answered
    }

    static func event(_ replacing: [String: String] = [:]) -> [UInt8] {
        var members = [
            "schema": #""mes.operation-completed""#, "schemaVersion": "1", "eventId": #""e-1""#, "correlationId": #""c-1""#,
            "occurredAt": #""2026-11-27T08:00:00.000Z""#, "source": #"{"system":"MES","plant":"P100"}"#,
            "data":
                #"{"workOrderId":"WO-1","operationSeq":10,"workCenter":"WC-1","plant":"P100","goodQty":12.5,"uom":"EA","completedAt":"2026-11-27T07:59:00.000Z","final":false}"#,
        ]
        for (key, value) in replacing { members[key] = value }
        return Array(("{" + members.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",") + "}").utf8)
    }

    @Test(
        "eight bytes at a time: a word is plain exactly when each byte is printable ASCII other than a quote or a backslash (every byte value at every position)"
    )
    func plainWords() {
        for position in 0..<8 {
            for value in 0...255 {
                var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 8)
                bytes[position] = UInt8(value)
                let word = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                let expected = (0x20...0x7E).contains(value) && value != 0x22 && value != 0x5C
                #expect(PlainScanner.plain(word) == expected, "byte \(value) at \(position)")
            }
        }
        // Two deviations at once, around the borrow the subtraction tricks can carry.
        for (a, b) in [(0x00, 0x22), (0x1F, 0x20), (0x80, 0x41), (0x7F, 0x7E), (0x5C, 0x5D), (0x21, 0x23)] {
            let bytes: [UInt8] = [0x61, UInt8(a), UInt8(b), 0x61, 0x61, 0x61, 0x61, 0x61]
            let word = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
            let expected = [a, b].allSatisfy { (0x20...0x7E).contains($0) && $0 != 0x22 && $0 != 0x5C }
            #expect(PlainScanner.plain(word) == expected, "bytes \(a), \(b)")
        }
    }

    @Test("the MES events' decoder goes through the fast path (a protocol requirement, no cast); other events have none")
    func fastPathIsTheRequirement() throws {
        let bytes = Self.event()
        #expect(OperationCompleted.plainEnvelope(bytes) != nil, "the plain form is read by the fast path")
        #expect(OperationCompleted.plainEnvelope(Self.event(["eventId": #""e\u0031""#])) == nil, "an escape: the full decoder's")
        #expect(ScrapReported.plainEnvelope(bytes) == nil, "another schema")
        #expect(OrderApproved.plainEnvelope(bytes) == nil, "no fast path: the default")
        let decoded = try EventDecoder.decode(bytes, as: OperationCompleted.self).get()
        #expect(decoded.metadata == OperationCompleted.plainEnvelope(bytes)?.metadata)
    }

    @Test("every valid example takes the fast path and decodes to what the full decoder gives; no invalid one does")
    func examples() throws {
        for topic in Self.topics {
            for (file, expected) in try Examples.expectations(topic) {
                let bytes = try Examples.bytes(topic, file)
                let answered = Self.agrees(bytes)
                #expect(answered == (expected == "valid"), "\(topic)/\(file): expected \(expected)")
            }
        }
    }

    @Test("unusual but valid forms step aside or agree: escapes, padding, lower-case codes, 1.0 as an integer, extra members")
    func unusualForms() {
        #expect(Self.agrees(Self.event()), "the plain form is taken")
        #expect(!Self.agrees(Self.event(["eventId": #""e-\u0031""#])), "an escape goes to the full decoder")
        #expect(!Self.agrees(Self.event(["eventId": #"" e-1""#])), "padding goes to the full decoder (which trims)")
        #expect(!Self.agrees(Self.event(["eventId": #""é-1""#])), "non-ASCII goes to the full decoder")
        #expect(!Self.agrees(Self.event(["extra": "1"])), "an extra member goes to the full decoder")
        #expect(!Self.agrees(Self.event(["correlationId": "null"])), "null goes to the full decoder")
        #expect(!Self.agrees(Array((String(decoding: Self.event(), as: UTF8.self).dropLast() + #","eventId":"e-2"}"#).utf8)), "a duplicate member is refused")
        #expect(Self.agrees(Self.event(["source": #"{"system":"MES","plant":"p100"}"#])), "codes are upper-cased like the full decoder does")
        #expect(Self.agrees(Self.event(["schemaVersion": "1.0"])))
        #expect(
            Self.agrees(
                Self.event([
                    "data":
                        #"{"workOrderId":"WO-1","operationSeq":1e1,"workCenter":"WC-1","plant":"p100","goodQty":0.0,"uom":"ea","completedAt":"2026-11-27T07:59:00Z","final":true}"#
                ])))
        #expect(
            !Self.agrees(
                Self.event([
                    "data":
                        #"{"workOrderId":"WO-1","operationSeq":1,"workCenter":"WC-1","plant":"P100","goodQty":-0.0,"uom":"EA","completedAt":"2026-11-27T07:59:00Z","final":true}"#
                ])), "-0 breaks a rule (quantities are not negative, not even -0): the full decoder names it")
        #expect(!Self.agrees(Self.event(["schemaVersion": "2"])), "another version goes to the full decoder")
        #expect(
            !Self.agrees(
                Self.event([
                    "data":
                        #"{"workOrderId":"WO-1","operationSeq":0,"workCenter":"WC-1","plant":"P100","goodQty":1,"uom":"EA","completedAt":"2026-11-27T07:59:00Z","final":true}"#
                ])), "operationSeq 0 breaks a rule")
        #expect(
            !Self.agrees(
                Self.event([
                    "data":
                        #"{"workOrderId":"WO-1","operationSeq":1,"workCenter":"WC-1","plant":"P100","goodQty":-1,"uom":"EA","completedAt":"2026-11-27T07:59:00Z","final":true}"#
                ])), "a negative quantity breaks a rule")
        #expect(!Self.agrees(Self.event(["occurredAt": #""2026-11-27T08:00:00+01:00""#])), "a non-UTC time breaks a rule")
    }

    @Test("random byte changes and truncations: whenever the fast path answers, it agrees with the full decoder")
    func damage() async {
        #expect(!Self.examples.isEmpty)
        await propertyCheck(
            count: 1_000, input: Gen.int(in: 0...(Self.examples.count - 1)), Gen.int(in: 0...100_000).array(of: 0...4), Gen.uint8().array(of: 4),
            Gen.int(in: 0...2_000)
        ) { index, positions, values, cut in
            var event = Self.examples[index]
            for (position, value) in zip(positions, values) { event[position % event.count] = value }
            Self.agrees(event)
            Self.agrees(Array(event.prefix(cut % (event.count + 1))))
        }
    }
}
