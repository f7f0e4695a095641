/// Turns the bytes of a Kafka record into a typed event, or a ``DecodingFailure`` that says
/// which dead-letter reason applies, which field and which rule. The checks run in the contract's
/// order: JSON → envelope → schema and version → data fields.
public enum EventDecoder {
    /// Decodes `bytes` as an event of `Payload`.
    /// - Parameter headerCorrelationId: the record's `correlation-id` header; used when the
    ///   envelope has no `correlationId` (the envelope wins when both exist). Read only then.
    public static func decode<Payload: EventPayload>(
        _ bytes: [UInt8]?, as type: Payload.Type, headerCorrelationId: @autoclosure () -> String? = nil
    ) -> Result<Envelope<Payload>, DecodingFailure> {
        // The plain form of the hot MES events, without a JSON tree (anything else: below).
        if let bytes, let envelope = Payload.plainEnvelope(bytes) {
            return .success(envelope)
        }
        do throws(DecodingFailure) {
            let (metadata, data) = try envelope(bytes, headerCorrelationId: headerCorrelationId())
            guard metadata.schema == Payload.schema else {
                throw DecodingFailure(
                    .unsupportedSchemaVersion, field: "schema",
                    rule: "this topic reads \(Payload.schema), found '\(metadata.schema)'")
            }
            guard Payload.readableVersions.contains(metadata.schemaVersion) else {
                throw DecodingFailure(
                    .unsupportedSchemaVersion, field: "schemaVersion",
                    rule:
                        "\(Payload.schema) is read in version \(Payload.readableVersions.sorted().map(String.init).joined(separator: ", ")), found \(metadata.schemaVersion)"
                )
            }
            let payload = try Payload(data: data, version: metadata.schemaVersion)
            var current = metadata
            current.schemaVersion = Payload.currentVersion  // upcast: the model is always current
            return .success(Envelope(metadata: current, data: payload))
        } catch {
            return .failure(error)
        }
    }

    /// Parses and checks the envelope; returns its fields and a reader over `data`.
    static func envelope(_ bytes: [UInt8]?, headerCorrelationId: String?) throws(DecodingFailure) -> (EventMetadata, FieldReader) {
        guard let bytes, !bytes.isEmpty else {
            throw DecodingFailure(.malformedJSON, field: "", rule: "the value is empty")
        }
        let root: JSONValue
        do {
            root = try JSONParser.parse(bytes)
        } catch {
            throw DecodingFailure(.malformedJSON, field: "", rule: "not JSON: \(error)")
        }
        guard case .object(let object) = root else {
            throw DecodingFailure(.malformedJSON, field: "", rule: "must be a JSON object, found \(root.kind)")
        }
        let envelope = FieldReader(object, path: "", reason: .invalidEnvelope)
        let schema = try envelope.string("schema")
        let version = try envelope.int("schemaVersion", minimum: 1)
        let eventId = try envelope.string("eventId")
        let correlationId: String
        if object["correlationId"] != nil {
            correlationId = try envelope.string("correlationId")
        } else if let header = headerCorrelationId?.trimmed, !header.isEmpty {
            correlationId = header
        } else {
            throw envelope.fail("correlationId", "required in the envelope or as the correlation-id header")
        }
        let occurredAt = try envelope.timestamp("occurredAt")
        let sourceReader = try envelope.object("source")
        let source = EventSource(system: try sourceReader.string("system"), plant: try sourceReader.optionalString("plant")?.asciiUppercased)
        let data = try envelope.object("data")
        let metadata = EventMetadata(
            schema: schema, schemaVersion: version, eventId: eventId, correlationId: correlationId,
            occurredAt: occurredAt, source: source)
        return (metadata, FieldReader(data.object, path: "data", reason: .invalidField))
    }
}
