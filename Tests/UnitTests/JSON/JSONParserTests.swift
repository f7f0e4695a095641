import Testing

@testable import JSON

@Suite("JSON parser: wide objects, duplicate members, numbers beyond a double")
struct JSONParserTests {
    static func object(_ members: Int, duplicateAt: Int? = nil) -> [UInt8] {
        var names = (0..<members).map { "m\($0)" }
        if let duplicateAt { names[duplicateAt] = names[duplicateAt == 0 ? 1 : duplicateAt - 1] }
        return Array(("{" + names.map { "\"\($0)\":1" }.joined(separator: ",") + "}").utf8)
    }

    @Test(
        "the duplicate check costs at most 16 name comparisons or one set insertion per member, whatever the object's size: parsing stays linear (counted, not timed)"
    )
    func duplicateCheckIsLinear() throws {
        var work: [Int: Int] = [:]
        for members in [10, 16, 17, 1_000, 10_000, 100_000] {
            var statistics = JSONParser.Statistics()
            guard case .object(let object) = try JSONParser.parse(Self.object(members), statistics: &statistics) else {
                Issue.record("not an object")
                return
            }
            #expect(object.members.count == members)
            let steps = statistics.nameComparisons + statistics.setInsertions
            #expect(steps <= members * (MemberNames.scanLimit + 1), "\(members) members: \(steps) steps")
            work[members] = steps
        }
        #expect(work[10] == 45, "a small object is scanned: 0 + 1 + … + 9 comparisons")
        // Quadratic would be 100 times the work for 10 times the members; linear stays near 10.
        let growth = Double(work[100_000]!) / Double(work[10_000]!)
        #expect(growth < 11, "10x the members, \(growth)x the work")
    }

    @Test("a duplicate member is refused, naming it, wherever it is: among the first members, past the scan limit, at the end of 100,000")
    func duplicatesAreRefused() {
        for (members, at) in [(5, 3), (17, 16), (40, 39), (100_000, 99_999), (100_000, 50_000)] {
            let failure = #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(Self.object(members, duplicateAt: at)) }
            #expect(failure?.reason == "duplicate member 'm\(at - 1)'", "\(members) members, duplicate at \(at)")
        }
        let nested = Array(#"{"a":{"x":1,"y":2},"b":{"x":1,"x":2}}"#.utf8)
        #expect((try? JSONParser.parse(nested)) == nil, "a duplicate in a nested object too")
        #expect((try? JSONParser.parse(Array(#"{"a":{"x":1},"b":{"x":2}}"#.utf8))) != nil, "the same name in two objects is fine")
    }

    @Test("a number beyond a double's range is valid JSON: ±infinity for the field's reader to refuse; one too small is 0; the writer never writes inf")
    func numbersBeyondADouble() throws {
        #expect(try JSONParser.parse(Array("1e400".utf8)) == .number(.infinity, isInteger: false))
        #expect(try JSONParser.parse(Array("-1e400".utf8)) == .number(-.infinity, isInteger: false))
        #expect(try JSONParser.parse(Array(("1" + String(repeating: "0", count: 400)).utf8)) == .number(.infinity, isInteger: true))
        #expect(try JSONParser.parse(Array("1e-400".utf8)) == .number(0, isInteger: false))
        #expect(try JSONParser.parse(Array("1e308".utf8)) == .number(1e308, isInteger: false))
        #expect(try JSONParser.parse(Array("-0".utf8)) == .number(-0.0, isInteger: true))
        #expect((try? JSONParser.parse(Array("NaN".utf8))) == nil && (try? JSONParser.parse(Array("Infinity".utf8))) == nil, "not JSON")
        let written = JSONWriter.string([
            "big": .number(.infinity, isInteger: false), "small": .number(-.infinity, isInteger: true), "nan": .number(.nan, isInteger: false),
        ])
        #expect(written == #"{"big":1e999,"small":-1e999,"nan":null}"#)
        #expect(try JSONParser.parse(Array(written.utf8))["big"] == .number(.infinity, isInteger: false), "what it writes parses back")
    }
}
