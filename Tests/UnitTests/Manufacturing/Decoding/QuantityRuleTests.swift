import Foundation
import TestSupport
import Testing

@testable import Manufacturing

@Suite("Quantities: finite, not negative, not -0, at most 10⁹")
struct QuantityRuleTests {
    /// An input field holding a quantity: where it is in which example, and whether it must be > 0.
    struct Field: Sendable, CustomStringConvertible {
        var topic: String
        var file: String
        var path: String
        var positive: Bool
        /// Replaces the field's value in the example by `text`, written as it is.
        var place: @Sendable (inout JSONObject) -> Void
        var description: String { path }
    }

    static let placeholder = "QUANTITY-TEXT"

    static let fields: [Field] = [
        Field(topic: "erp.order-approved.v1", file: "valid-01-gb-200-120-ea.json", path: "data.quantity", positive: false) {
            $0.set("quantity", .string(placeholder))
        },
        Field(topic: "mes.operation-completed.v1", file: "valid-01-op10-machining-120.json", path: "data.goodQty", positive: false) {
            $0.set("goodQty", .string(placeholder))
        },
        Field(topic: "mes.scrap-reported.v1", file: "valid-01-op20-scrap-2-gear-damage.json", path: "data.scrapQty", positive: false) {
            $0.set("scrapQty", .string(placeholder))
        },
        Field(topic: "mdm.bom.v1", file: "valid-01-gb-200-rev-b-released.json", path: "data.components[0].qtyPer", positive: true) { data in
            guard case .array(var components)? = data["components"], case .object(var first) = components[0] else { return }
            first.set("qtyPer", .string(placeholder))
            components[0] = .object(first)
            data.set("components", .array(components))
        },
        Field(topic: "mdm.item.v1", file: "valid-01-gb-200-gearbox.json", path: "data.uomConversions.BOX", positive: true) { data in
            guard case .object(var conversions)? = data["uomConversions"] else { return }
            conversions.set("BOX", .string(placeholder))
            data.set("uomConversions", .object(conversions))
        },
    ]

    /// The example of `field` with its quantity written as `text` (compact JSON, as a producer might send it).
    static func event(_ field: Field, _ text: String) throws -> [UInt8] {
        guard case .object(var root) = try JSONParser.parse(try Examples.bytes(field.topic, field.file)), case .object(var data)? = root["data"] else {
            throw DecodingFailure(.malformedJSON, field: "", rule: "example is not an envelope")
        }
        field.place(&data)
        root.set("data", .object(data))
        let json = JSONWriter.string(.object(root)).replacingOccurrences(of: "\"\(placeholder)\"", with: text)
        return Array(json.utf8)
    }

    static func decode(_ field: Field, _ text: String) throws -> Result<(schema: String, encoded: [UInt8]), DecodingFailure> {
        let decode = try #require(Examples.decoders[field.topic])
        return decode(try event(field, text))
    }

    @Test(
        "absurd quantities are INVALID_FIELD naming the field and the rule: 1e10, 1e308 and 1000000000.5 above the bound, -0, and numbers beyond a double (1e400) that JSON allows",
        arguments: fields)
    func absurdQuantitiesAreRefused(_ field: Field) throws {
        let cases: [(text: String, rule: String)] = [
            ("1e10", "must be at most 1000000000, found 10000000000"),
            ("1e308", "must be at most 1000000000, found 1e+308"),
            ("1000000000.5", "must be at most 1000000000, found 1000000000.5"),
            ("-0", field.positive ? "must be > 0, found -0" : "must be ≥ 0, found -0"),
            ("-0.0", field.positive ? "must be > 0, found -0" : "must be ≥ 0, found -0"),
            ("-3", field.positive ? "must be > 0, found -3" : "must be ≥ 0, found -3"),
            ("1e400", "must be a finite number, found one beyond a double's range (1.8e308)"),
            ("-1e400", "must be a finite number, found one beyond a double's range (-1.8e308)"),
            ("1" + String(repeating: "0", count: 320), "must be a finite number, found one beyond a double's range (1.8e308)"),
        ]
        for (text, rule) in cases {
            switch try Self.decode(field, text) {
            case .success: Issue.record("\(field.path) = \(text) was accepted")
            case .failure(let failure):
                #expect(failure.reason == .invalidField, "\(field.path) = \(text)")
                #expect(failure.description == "\(field.path): \(rule)", "\(field.path) = \(text)")
            }
        }
    }

    @Test("the bound itself, small fractions and (where allowed) 0 are accepted", arguments: fields)
    func saneQuantitiesPass(_ field: Field) throws {
        for text in ["1000000000", "1e9", "0.001", "1e-7"] + (field.positive ? [] : ["0", "0.0"]) {
            if case .failure(let failure) = try Self.decode(field, text) { Issue.record("\(field.path) = \(text): \(failure)") }
        }
        if field.positive, case .success = try Self.decode(field, "0") { Issue.record("\(field.path) = 0 was accepted") }
    }

    @Test("the MES fast path takes what is within the rules and steps aside for the rest, so the full decoder names the field")
    func fastPathAgrees() throws {
        for field in Self.fields.filter({ $0.topic.hasPrefix("mes.") }) {
            for text in ["120", "1000000000", "0"] {
                let bytes = try Self.event(field, text)
                #expect(PlainEventDecoder.decode(bytes, as: OperationCompleted.self) != nil || PlainEventDecoder.decode(bytes, as: ScrapReported.self) != nil)
            }
            for text in ["1000000000.5", "1e308", "-0", "1e400"] {
                let bytes = try Self.event(field, text)
                #expect(PlainEventDecoder.decode(bytes, as: OperationCompleted.self) == nil, "\(field.path) = \(text)")
                #expect(PlainEventDecoder.decode(bytes, as: ScrapReported.self) == nil, "\(field.path) = \(text)")
            }
        }
    }

    @Test("an item naming one unit twice, in another case, is refused naming the member; an item of 100,000 units decodes, each once")
    func itemUnits() throws {
        func item(_ conversions: String) -> [UInt8] {
            Array(
                """
                {"schema":"mdm.item","schemaVersion":1,"eventId":"e","correlationId":"c","occurredAt":"2026-12-01T00:00:00Z",\
                "source":{"system":"ERP"},"data":{"itemId":"I","description":"d","baseUom":"EA","uomConversions":{\(conversions)},"status":"ACTIVE"}}
                """.utf8)
        }
        guard case .failure(let twice) = EventDecoder.decode(item(#""BOX":4,"box":5"#), as: Item.self) else {
            Issue.record("BOX and box both accepted")
            return
        }
        #expect(twice.description == "data.uomConversions.box: names the unit BOX a second time (units are compared in upper case)")
        let wide = (0..<100_000).map { "\"U\($0)\":\($0 % 9 + 1)" }.joined(separator: ",")
        let decoded = try EventDecoder.decode(item(wide), as: Item.self).get().data
        #expect(decoded.uomConversions.count == 100_000)
        #expect(decoded.uomConversions["U99999"] == 1)
    }
}
