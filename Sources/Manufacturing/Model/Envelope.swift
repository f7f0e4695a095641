/// Who sent an event.
public struct EventSource: Sendable, Hashable {
    /// `ERP`, `MES`, `CRM`, `Millwright`, … (as sent).
    public var system: String
    /// The plant the event is about, when the sender says (upper-cased).
    public var plant: String?

    public init(system: String, plant: String? = nil) {
        self.system = system
        self.plant = plant
    }
}

/// The envelope fields every event carries.
public struct EventMetadata: Sendable, Hashable {
    public var schema: String
    public var schemaVersion: Int
    public var eventId: String
    /// Set by the originating system and never changed downstream.
    public var correlationId: String
    public var occurredAt: Timestamp
    public var source: EventSource

    public init(
        schema: String, schemaVersion: Int, eventId: String, correlationId: String, occurredAt: Timestamp,
        source: EventSource
    ) {
        self.schema = schema
        self.schemaVersion = schemaVersion
        self.eventId = eventId
        self.correlationId = correlationId
        self.occurredAt = occurredAt
        self.source = source
    }
}

/// An event of the contract: the envelope and its typed data.
public struct Envelope<Payload: EventPayload>: Sendable {
    public var metadata: EventMetadata
    public var data: Payload

    public init(metadata: EventMetadata, data: Payload) {
        self.metadata = metadata
        self.data = data
    }

    /// A new event of this type with the current schema version.
    public init(eventId: String, correlationId: String, occurredAt: Timestamp, source: EventSource, data: Payload) {
        self.init(
            metadata: EventMetadata(
                schema: Payload.schema, schemaVersion: Payload.currentVersion, eventId: eventId,
                correlationId: correlationId, occurredAt: occurredAt, source: source),
            data: data)
    }

    /// The event as JSON, envelope fields first.
    public var json: JSONValue {
        var source: JSONValue = ["system": .string(metadata.source.system)]
        if let plant = metadata.source.plant, case .object(var object) = source {
            object.set("plant", .string(plant))
            source = .object(object)
        }
        return [
            "schema": .string(metadata.schema),
            "schemaVersion": .number(Double(metadata.schemaVersion), isInteger: true),
            "eventId": .string(metadata.eventId),
            "correlationId": .string(metadata.correlationId),
            "occurredAt": .string(metadata.occurredAt.rfc3339),
            "source": source,
            "data": data.json,
        ]
    }

    /// UTF-8 JSON bytes of the event: the bytes of ``json``, written without building it.
    public var bytes: [UInt8] {
        var out = JSONBytes()
        out.beginObject()
        out.member("schema", metadata.schema)
        out.member("schemaVersion", integer: metadata.schemaVersion)
        out.member("eventId", metadata.eventId)
        out.member("correlationId", metadata.correlationId)
        out.member("occurredAt", timestamp: metadata.occurredAt)
        out.key("source")
        out.beginObject()
        out.member("system", metadata.source.system)
        if let plant = metadata.source.plant { out.member("plant", plant) }
        out.endObject()
        out.key("data")
        data.writeJSON(to: &out)
        out.endObject()
        return out.bytes
    }
}

/// The data of one event type. Decoding is strict; older versions are upcast to this one.
public protocol EventPayload: Sendable {
    /// The envelope's `schema` (for example `erp.order-approved`).
    static var schema: String { get }
    /// The version this type is; what is written.
    static var currentVersion: Int { get }
    /// Versions that can be read (and upcast to `currentVersion`). Default: `[currentVersion]`.
    static var readableVersions: Set<Int> { get }
    /// Reads `data` written with `version`.
    init(data: FieldReader, version: Int) throws(DecodingFailure)
    /// The data as JSON, in `currentVersion`.
    var json: JSONValue { get }
    /// Writes exactly the bytes of ``json``. Default: through `json`; the hot output events write
    /// directly.
    func writeJSON(to out: inout JSONBytes)
    /// The event read by a one-pass fast path when `bytes` are in its plain form, or nil (then
    /// ``EventDecoder`` reads them and names any failure). Default nil; the hot MES events have
    /// one (`PlainEventDecoder`). A requirement, so the decoder calls it without a cast.
    static func plainEnvelope(_ bytes: [UInt8]) -> Envelope<Self>?
}

extension EventPayload {
    public static var currentVersion: Int { 1 }
    public static var readableVersions: Set<Int> { [currentVersion] }
    public func writeJSON(to out: inout JSONBytes) { out.value(json) }
    public static func plainEnvelope(_ bytes: [UInt8]) -> Envelope<Self>? { nil }
}
