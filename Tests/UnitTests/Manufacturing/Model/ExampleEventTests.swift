import Foundation
import Manufacturing
import TestSupport
import Testing

@Suite("Example events of topics/ against the Swift decoder")
struct ExampleEventTests {
    static let topics = Examples.decoders.keys.sorted()

    @Test("every example gets exactly its labelled outcome", arguments: topics)
    func examplesDecodeAsLabelled(topic: String) throws {
        let decode = try #require(Examples.decoders[topic])
        let expectations = try Examples.expectations(topic)
        #expect(!expectations.isEmpty)
        for (file, expected) in expectations {
            switch decode(try Examples.bytes(topic, file)) {
            case .success:
                #expect(expected == "valid", "\(topic)/\(file) decoded, but is labelled \(expected)")
            case .failure(let failure):
                #expect(failure.reason.rawValue == expected, "\(topic)/\(file): got \(failure.reason.rawValue) (\(failure)), labelled \(expected)")
                #expect(!failure.description.isEmpty)
            }
        }
    }

    @Test("every event Swift encodes validates against its JSON Schema (independent validator)")
    func encodedEventsValidate() throws {
        let directory = try Examples.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var written = 0
        for topic in Self.topics {
            let decode = try #require(Examples.decoders[topic])
            for (file, expected) in try Examples.expectations(topic) where expected == "valid" {
                let (schema, encoded) = try decode(try Examples.bytes(topic, file)).get()
                try Data(encoded).write(to: directory.appendingPathComponent("\(schema).v1.\(file)"))
                written += 1
            }
        }
        // Releases and quarantines made by the check function from the order examples.
        let masterData = try Examples.masterData()
        for (file, expected) in try Examples.expectations("erp.order-approved.v1") where expected == "valid" {
            let order = try Examples.decode("erp.order-approved.v1", file, as: OrderApproved.self)
            let source = EventSource(system: "Millwright", plant: order.data.plant)
            let event: [UInt8]
            let schema: String
            switch ReleaseCheck.evaluate(order.data, against: masterData) {
            case .success(let release):
                event =
                    Envelope(
                        eventId: "r-\(file)", correlationId: order.metadata.correlationId, occurredAt: order.metadata.occurredAt, source: source, data: release
                    ).bytes
                schema = ProductionRelease.schema
            case .failure(let failure):
                let quarantine = Quarantine(
                    reason: failure.reason, detail: failure.detail, originalTopic: "erp.order-approved.v1",
                    originalPartition: 3, originalOffset: 42, original: try JSONParser.parse(Examples.bytes("erp.order-approved.v1", file)))
                event =
                    Envelope(
                        eventId: "q-\(file)", correlationId: order.metadata.correlationId, occurredAt: order.metadata.occurredAt, source: source,
                        data: quarantine
                    ).bytes
                schema = Quarantine.schema
            }
            try Data(event).write(to: directory.appendingPathComponent("\(schema).v1.made-from-\(file)"))
            written += 1
        }
        #expect(written > 40)
        let (status, output) = try Examples.validateWithJSONSchema(directory)
        #expect(status == 0, "validator said:\n\(output.split(separator: "\n").filter { $0.contains("FAIL") }.joined(separator: "\n"))")
        #expect(output.contains("extra"), "the validator looked at the extra folder")
    }

    @Test("decoding is strict and names the field and the rule")
    func failuresNameFieldAndRule() throws {
        let quantity = EventDecoder.decode(try Examples.bytes("erp.order-approved.v1", "invalid-INVALID_FIELD-quantity-negative.json"), as: OrderApproved.self)
        #expect(quantity.failure == DecodingFailure(.invalidField, field: "data.quantity", rule: "must be ≥ 0, found -120"))
        let string = EventDecoder.decode(try Examples.bytes("erp.order-approved.v1", "invalid-INVALID_FIELD-quantity-string.json"), as: OrderApproved.self)
        #expect(string.failure?.field == "data.quantity")
        #expect(string.failure?.rule.contains("must be a number, found a string") == true)
        let version = EventDecoder.decode(
            try Examples.bytes("erp.order-approved.v1", "invalid-UNSUPPORTED_SCHEMA_VERSION-schema-version-2.json"), as: OrderApproved.self)
        #expect(version.failure?.field == "schemaVersion")
        let fraction = EventDecoder.decode(
            try Examples.bytes("erp.order-approved.v1", "invalid-INVALID_FIELD-order-line-fraction.json"), as: OrderApproved.self)
        #expect(fraction.failure?.field == "data.orderLine")
    }

    @Test("codes are normalised, timestamps kept in UTC, and the correlation-id header is the fallback")
    func normalisation() throws {
        let raw =
            #"{"schema":"erp.order-approved","schemaVersion":1,"eventId":"e1","occurredAt":"2026-11-27T08:15:00.5Z","source":{"system":"ERP","plant":" p100 "},"data":{"orderId":"4711","orderLine":1,"customerId":"C1","customerName":"N","itemId":" GB-200 ","quantity":2.5,"uom":" box","plant":"p100 ","bomRevision":"B","dueDate":"2026-12-01T00:00:00Z"}}"#
        let order = try EventDecoder.decode(Array(raw.utf8), as: OrderApproved.self, headerCorrelationId: "from-header").get()
        #expect(order.metadata.correlationId == "from-header")
        #expect(order.metadata.source.plant == "P100")
        #expect(order.data.plant == "P100")
        #expect(order.data.uom == "BOX")
        #expect(order.data.itemId == "GB-200")
        #expect(order.metadata.occurredAt.rfc3339 == "2026-11-27T08:15:00.500Z")
        #expect(order.data.priority == nil)
        let missing = EventDecoder.decode(Array(raw.utf8), as: OrderApproved.self)
        #expect(missing.failure?.reason == .invalidEnvelope)
        #expect(missing.failure?.field == "correlationId")
    }

    @Test("a v1 event of the wrong schema on a topic is UNSUPPORTED_SCHEMA_VERSION, not a field error")
    func wrongSchema() throws {
        let completed = try Examples.bytes("mes.operation-completed.v1", "valid-01-op10-machining-120.json")
        let asScrap = EventDecoder.decode(completed, as: ScrapReported.self)
        #expect(asScrap.failure?.reason == .unsupportedSchemaVersion)
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let failure) = self { return failure }
        return nil
    }
}

@Suite("Master-data encoding")
struct MasterDataEncodingTests {
    @Test("a routing whose operations have no description reads back what it wrote")
    func routingWithoutDescriptionRoundTrips() throws {
        let routing = Routing(itemId: "GB-200", plant: "P100", operations: [.init(operationSeq: 10, workCenter: "WC-1", description: "")])
        let bytes = Envelope(eventId: "e", correlationId: "c", occurredAt: Timestamp(milliseconds: 0), source: EventSource(system: "ERP"), data: routing).bytes
        #expect(try EventDecoder.decode(bytes, as: Routing.self).get().data == routing)
    }
}
