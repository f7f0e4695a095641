/// The logging metadata keys of the stream runtime and the layers above it: one list, so log
/// queries find the same field under the same name everywhere.
public enum LogMetadataKey {
    /// The topic a log line is about.
    public static let topic = "topic"
    /// A partition number, or `topic[partition]` when the line is about several.
    public static let partition = "partition"
    /// A record offset.
    public static let offset = "offset"
    /// An offset read or stored before the one in `offset` (a rewind).
    public static let previousOffset = "previousOffset"
    /// A partition's low watermark (first offset still in the log).
    public static let lowWatermark = "lowWatermark"
    /// A partition's high watermark (next offset to be written).
    public static let highWatermark = "highWatermark"
    /// What is still to be read: `t[0] at 12 of 40, …`.
    public static let behind = "behind"
    /// A record key (master-data keys are codes, never personal data).
    public static let key = "key"
    /// The envelope's (or the `correlation-id` header's) correlation id: on every line about an event.
    public static let correlationId = "correlationId"
    /// The id of the event a log line is about (for an output, the input's: its causation id).
    public static let eventId = "eventId"
    /// A reason code (`INVALID_FIELD`, `KEY_MISMATCH`, …).
    public static let reason = "reason"
    /// An error's description.
    public static let error = "error"
    /// A number of records.
    public static let records = "records"
    /// A number of records not applied (rejected).
    public static let rejected = "rejected"
    /// The kind of master data (`plant`, `item`, `bom`, `routing`).
    public static let kind = "kind"
    /// A number of partitions, or their list.
    public static let partitions = "partitions"
    /// The topics a component reads.
    public static let topics = "topics"
    /// How long something took, in seconds.
    public static let seconds = "seconds"
}
