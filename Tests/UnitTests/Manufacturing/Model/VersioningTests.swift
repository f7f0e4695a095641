import Manufacturing
import Testing

/// A stand-in for a future v2 of an event: v1 had `qty`, v2 renamed it `quantity` and added
/// `unit`. Readers upcast v1 to v2 inside `init(data:version:)`; processors only see v2.
private struct CountedV2: EventPayload, Equatable {
    static let schema = "test.counted"
    static let currentVersion = 2
    static let readableVersions: Set<Int> = [1, 2]

    var quantity: Double
    var unit: String

    init(data: FieldReader, version: Int) throws(DecodingFailure) {
        switch version {
        case 1:
            quantity = try data.quantity("qty")
            unit = "EA"  // v1 was always counted in pieces
        default:
            quantity = try data.quantity("quantity")
            unit = try data.code("unit")
        }
    }

    var json: JSONValue { ["quantity": .quantity(quantity), "unit": .string(unit)] }
}

@Suite("Schema versioning")
struct VersioningTests {
    static func event(version: Int, data: String) -> [UInt8] {
        Array(
            #"{"schema":"test.counted","schemaVersion":\#(version),"eventId":"e","correlationId":"c","occurredAt":"2026-11-27T08:00:00Z","source":{"system":"ERP"},"data":\#(data)}"#
                .utf8)
    }

    @Test("an older version is upcast to the current model; an unknown one is UNSUPPORTED_SCHEMA_VERSION")
    func upcast() throws {
        let v1 = try EventDecoder.decode(Self.event(version: 1, data: #"{"qty":3}"#), as: CountedV2.self).get()
        let v2 = try EventDecoder.decode(Self.event(version: 2, data: #"{"quantity":3,"unit":"ea"}"#), as: CountedV2.self).get()
        #expect(v1.data == v2.data)
        #expect(v1.metadata.schemaVersion == 2, "the model is always the current version")
        let v3 = EventDecoder.decode(Self.event(version: 3, data: "{}"), as: CountedV2.self)
        #expect(v3.failure?.reason == .unsupportedSchemaVersion)
        #expect(v3.failure?.rule.contains("1, 2") == true)
    }
}
