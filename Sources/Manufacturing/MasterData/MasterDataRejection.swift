import Streams

/// A master-data record that was not applied: it did not decode, or its Kafka key is not the
/// payload's natural key. Kept in the store's `rejected` table with the original bytes, key,
/// headers and timestamp, so nothing is lost and an operator can see why, and dead-lettered to
/// `ops.dead-letter.v1` once (``deadLetter``); the last good version of the key stays in the cache.
public struct MasterDataRejection: Sendable, Hashable {
    /// Why a record was rejected, as a code that new cases can be added to.
    public struct Reason: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        /// The code as stored in `rejected.reason` (`INVALID_FIELD`, `KEY_MISMATCH`, …).
        public let rawValue: String

        /// Any code, for example one read back from the table.
        public init(rawValue: String) {
            self.rawValue = rawValue
        }

        /// The decoder's dead-letter reason (`MALFORMED_JSON`, `INVALID_ENVELOPE`,
        /// `UNSUPPORTED_SCHEMA_VERSION`, `INVALID_FIELD`).
        public init(_ reason: DeadLetterReason) {
            self.init(rawValue: reason.rawValue)
        }

        /// `MALFORMED_JSON`: not a JSON object.
        public static let malformedJSON = Reason(.malformedJSON)
        /// `INVALID_ENVELOPE`: envelope fields missing or mistyped.
        public static let invalidEnvelope = Reason(.invalidEnvelope)
        /// `UNSUPPORTED_SCHEMA_VERSION`: another schema (the wrong topic) or an unknown version.
        public static let unsupportedSchemaVersion = Reason(.unsupportedSchemaVersion)
        /// `INVALID_FIELD`: a data field missing, mistyped or out of range.
        public static let invalidField = Reason(.invalidField)
        /// The record's Kafka key is not the payload's natural key (or the record has none).
        public static let keyMismatch = Reason(rawValue: "KEY_MISMATCH")
        /// A tombstone without a key (or with a key that is not UTF-8): nothing to delete.
        public static let missingKey = Reason(rawValue: "MISSING_KEY")
        /// The record came from a topic that is not a master-data topic.
        public static let unknownTopic = Reason(rawValue: "UNKNOWN_TOPIC")

        public var description: String { rawValue }

        /// The contract's `dlq-reason` of the dead letter: the decoder's reasons as they are; a
        /// key that is not the natural key is `INVALID_FIELD` (the payload's key field and the
        /// record disagree), a tombstone without a key `INVALID_ENVELOPE`, a record from another
        /// topic `UNSUPPORTED_SCHEMA_VERSION`.
        public var deadLetterReason: DeadLetterReason {
            if let reason = DeadLetterReason(rawValue: rawValue) { return reason }
            switch self {
            case .missingKey: return .invalidEnvelope
            case .unknownTopic: return .unsupportedSchemaVersion
            default: return .invalidField
            }
        }
    }

    /// Whether the record went to `ops.dead-letter.v1`.
    public enum DeadLetterState: Sendable, Hashable {
        /// Stored, not acknowledged by the cluster yet: the loader sends it (again after a restart).
        case pending
        /// Acknowledged by the cluster at this time (wall clock).
        case sent(at: Timestamp)
        /// Rejected by a version that did not dead-letter master data: in this table only.
        case notSent
    }

    /// Where the record was read: topic, partition and offset.
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    /// The record's key as text (`nil` when it has none; invalid UTF-8 is replaced).
    public var key: String?
    /// The record's value, unchanged (`nil` for a tombstone).
    public var value: [UInt8]?
    /// Why it was not applied.
    public var reason: Reason
    /// What failed, naming the field and the rule (the decoder's `dlq-error` text) or the keys.
    public var error: String
    /// The envelope's correlation id, or the `correlation-id` header, when either could be read.
    public var correlationId: String?
    /// When the store saw the record (wall clock).
    public var receivedAt: Timestamp
    /// The record's key bytes, unchanged (``key`` is their text); `nil` when it has none.
    public var rawKey: [UInt8]?
    /// The record's headers, in their order.
    public var headers: [StreamRecord.Header]
    /// The record's Kafka timestamp (ms since the epoch), if it had one.
    public var timestamp: Int64?
    /// Whether its dead letter was sent.
    public var deadLetter: DeadLetterState

    /// A rejection as stored.
    public init(
        topic: String, partition: Int32, offset: Int64, key: String?, value: [UInt8]?, reason: Reason, error: String,
        correlationId: String?, receivedAt: Timestamp, rawKey: [UInt8]? = nil, headers: [StreamRecord.Header] = [], timestamp: Int64? = nil,
        deadLetter: DeadLetterState = .pending
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.reason = reason
        self.error = error
        self.correlationId = correlationId
        self.receivedAt = receivedAt
        self.rawKey = rawKey
        self.headers = headers
        self.timestamp = timestamp
        self.deadLetter = deadLetter
    }

    /// The record as it was read, for its dead letter.
    public var record: StreamRecord {
        StreamRecord(topic: topic, partition: partition, offset: offset, key: rawKey, value: value, headers: headers, timestamp: timestamp)
    }

    /// The dead letter of the record (``DeadLetter/record(for:reason:error:topic:)``): its bytes,
    /// key and headers unchanged, `dlq-reason` the contract's reason (``Reason/deadLetterReason``),
    /// `dlq-error` the error — after the store's own reason when that is finer (`KEY_MISMATCH: …`).
    public var deadLetterRecord: OutputRecord {
        let mapped = reason.deadLetterReason
        let text = mapped.rawValue == reason.rawValue ? error : "\(reason.rawValue): \(error)"
        return DeadLetter.record(for: record, reason: mapped.rawValue, error: text)
    }
}
