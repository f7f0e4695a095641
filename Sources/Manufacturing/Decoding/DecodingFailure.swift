/// The contract's dead-letter reasons (`dlq-reason` header).
public enum DeadLetterReason: String, Sendable, CaseIterable {
    /// Not a JSON object (not JSON, not UTF-8, truncated, an array, a string, empty).
    case malformedJSON = "MALFORMED_JSON"
    /// A JSON object whose envelope fields are missing or mistyped.
    case invalidEnvelope = "INVALID_ENVELOPE"
    /// A well-formed envelope of a schema or version this topic does not read.
    case unsupportedSchemaVersion = "UNSUPPORTED_SCHEMA_VERSION"
    /// A data field is missing, mistyped or out of range.
    case invalidField = "INVALID_FIELD"
}

/// Why an input could not be understood: which field, which rule, and the dead-letter reason.
public struct DecodingFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: DeadLetterReason
    /// JSON path of the field (`data.quantity`, `source.system`), or empty for the whole value.
    public var field: String
    /// The rule that was broken, in words.
    public var rule: String

    public init(_ reason: DeadLetterReason, field: String, rule: String) {
        self.reason = reason
        self.field = field
        self.rule = rule
    }

    /// The `dlq-error` text: names the field and the rule.
    public var description: String { field.isEmpty ? rule : "\(field): \(rule)" }
}
