import Foundation
import Manufacturing
import PropertyBased
import TestSupport
import Testing

@Suite("Decoder under random damage (property-based)")
struct DecoderPropertyTests {
    static let valid: [[UInt8]] = {
        var all: [[UInt8]] = []
        for topic in ["erp.order-approved.v1", "mes.operation-completed.v1", "mes.scrap-reported.v1", "mdm.item.v1", "mdm.routing.v1"] {
            for (file, expected) in (try? Examples.expectations(topic)) ?? [] where expected == "valid" {
                if let bytes = try? Examples.bytes(topic, file) { all.append(bytes) }
            }
        }
        return all
    }()

    /// Decodes with every input type: never crashes; either an event or a failure with a reason
    /// and a field or rule in words.
    static func decodesOrNamesAReason(_ bytes: [UInt8]) {
        for decode in Examples.decoders.values {
            switch decode(bytes) {
            case .success(let (_, encoded)):
                // What decodes re-encodes to valid JSON that decodes again.
                #expect((try? JSONParser.parse(encoded)) != nil)
            case .failure(let failure):
                #expect(DeadLetterReason.allCases.contains(failure.reason))
                #expect(!failure.rule.isEmpty)
            }
        }
    }

    @Test("truncations of valid events never crash and always yield an event or a dead-letter reason")
    func truncations() async {
        #expect(!Self.valid.isEmpty)
        await propertyCheck(count: 300, input: Gen.int(in: 0...(Self.valid.count - 1)), Gen.int(in: 0...2000)) { index, cut in
            let event = Self.valid[index]
            Self.decodesOrNamesAReason(Array(event.prefix(cut % (event.count + 1))))
        }
    }

    @Test("random byte changes never crash and always yield an event or a dead-letter reason")
    func byteFlips() async {
        await propertyCheck(count: 500, input: Gen.int(in: 0...(Self.valid.count - 1)), Gen.int(in: 0...100_000).array(of: 1...6), Gen.uint8().array(of: 6)) {
            index, positions, values in
            var event = Self.valid[index]
            for (position, value) in zip(positions, values) { event[position % event.count] = value }
            Self.decodesOrNamesAReason(event)
        }
    }

    @Test("removing or retyping a member never crashes, and a missing required field names it")
    func memberMutations() async throws {
        await propertyCheck(count: 300, input: Gen.int(in: 0...(Self.valid.count - 1)), Gen.int(in: 0...50), Gen.int(in: 0...4)) { index, which, mutation in
            guard case .object(var root) = try? JSONParser.parse(Self.valid[index]) else {
                Issue.record("example \(index) is not an object")
                return
            }
            // Mutate either an envelope member or a data member.
            var useData = which % 2 == 0
            var target = root
            if useData, case .object(let data)? = root["data"] { target = data } else { useData = false }
            guard !target.members.isEmpty else { return }
            let member = target.members[which % target.members.count]
            let replacement: JSONValue? = [nil, .string("x"), .number(-1, isInteger: true), .null, .array([])][mutation]
            var rebuilt = JSONObject(target.members.filter { $0.key != member.key })
            if let replacement { rebuilt.set(member.key, replacement) }
            if useData { root.set("data", .object(rebuilt)) } else { root = rebuilt }
            Self.decodesOrNamesAReason(JSONWriter.bytes(.object(root)))
        }
    }

    @Test("arbitrary bytes never crash the JSON parser")
    func arbitraryBytes() async {
        await propertyCheck(count: 500, input: Gen.uint8().array(of: 0...64)) { bytes in
            Self.decodesOrNamesAReason(bytes)
        }
    }
}
