import Streams

/// The contract's header names.
public enum EventHeader {
    public static let correlationId = "correlation-id"
    public static let eventId = "event-id"
    public static let schema = "schema"
    public static let schemaVersion = "schema-version"
    public static let causationId = "causation-id"
}

extension Envelope {
    /// The headers every output event carries: `correlation-id`, `event-id`, `schema`,
    /// `schema-version` and `causation-id` (the eventId of the input that caused it).
    public func outputHeaders(causationId: String) -> [StreamRecord.Header] {
        [
            .init(key: EventHeader.correlationId, value: metadata.correlationId),
            .init(key: EventHeader.eventId, value: metadata.eventId),
            .init(key: EventHeader.schema, value: metadata.schema),
            .init(key: EventHeader.schemaVersion, value: String(metadata.schemaVersion)),
            .init(key: EventHeader.causationId, value: causationId),
        ]
    }

    /// This event as an output record with the contract's headers.
    public func outputRecord(topic: String, key: String, causationId: String, timestamp: Int64? = nil) -> OutputRecord {
        OutputRecord(topic: topic, key: key, value: bytes, headers: outputHeaders(causationId: causationId), timestamp: timestamp)
    }
}

extension EventDecoder {
    /// Decodes a record's value as `Payload`, taking the `correlation-id` header as the fallback.
    public static func decode<Payload: EventPayload>(_ record: StreamRecord, as type: Payload.Type) -> Result<Envelope<Payload>, DecodingFailure> {
        decode(record.value, as: type, headerCorrelationId: record.header(EventHeader.correlationId)?.stringValue)
    }

    /// The dead letter for a record that failed to decode.
    public static func deadLetter(for record: StreamRecord, _ failure: DecodingFailure) -> OutputRecord {
        DeadLetter.record(for: record, reason: failure.reason.rawValue, error: failure.description)
    }
}
