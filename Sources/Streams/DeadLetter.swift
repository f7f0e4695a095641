/// Dead letters: input that cannot be understood goes to `ops.dead-letter.v1` unchanged, with
/// headers that say why and where it came from. Processing goes on.
public enum DeadLetter {
    /// The contract's dead-letter topic.
    public static let topic = "ops.dead-letter.v1"

    /// Header names of the contract.
    public enum HeaderName {
        public static let reason = "dlq-reason"
        public static let error = "dlq-error"
        public static let originalTopic = "original-topic"
        public static let originalPartition = "original-partition"
        public static let originalOffset = "original-offset"
        public static let originalTimestamp = "original-timestamp"
        /// Only on a dead letter cut to ``maxRecordBytes``: the original value's size in bytes
        /// (the value holds its first bytes).
        public static let truncated = "dlq-truncated"
        /// Only when even an empty value left the dead letter too large: how many original
        /// headers were left out.
        public static let droppedHeaders = "dlq-dropped-headers"
        /// Only when even without value and original headers it was too large: the original
        /// key's size in bytes (the key holds its first bytes).
        public static let truncatedKey = "dlq-truncated-key"
    }

    /// librdkafka's default `message.max.bytes`, which Millwright's producers keep (the worker's
    /// configuration refuses less): the largest record, as librdkafka counts it
    /// (``wireSize(key:value:headers:)``), they send. Below Kafka's default `max.message.bytes`
    /// (1,048,588) with the 61 bytes of a batch around it.
    public static let messageMaxBytes = 1_000_000

    /// The largest dead letter made: ``messageMaxBytes`` less 1,000 bytes for the headers the
    /// stream runtime adds when it sends it (`mw-batch`). Input that large is still recorded — its
    /// first bytes, with ``HeaderName/truncated`` — instead of a dead letter the producer refuses
    /// (which stopped the worker's loop thread, and again after each restart).
    public static let maxRecordBytes = messageMaxBytes - 1_000

    /// A record's size as librdkafka 2.0.2 checks it against `message.max.bytes` when it is
    /// produced (`rd_kafka_msg_max_wire_size`): 36 bytes (the largest varints of a v2 record's
    /// framing), the key, the value, and each header's name and value with their zig-zag varint
    /// lengths.
    public static func wireSize(key: [UInt8]?, value: [UInt8]?, headers: [StreamRecord.Header]) -> Int {
        var size = 36 + (key?.count ?? 0) + (value?.count ?? 0)
        for header in headers {
            let name = header.key.utf8.count
            let value = header.value?.count ?? 0
            size += name + value + varintSize(name) + varintSize(value)
        }
        return size
    }

    /// Bytes of a zig-zag varint of a non-negative length (librdkafka's `rd_uvarint_enc_i64`).
    private static func varintSize(_ length: Int) -> Int {
        var rest = UInt64(length) << 1
        var bytes = 1
        while rest >= 0x80 {
            rest >>= 7
            bytes += 1
        }
        return bytes
    }

    /// The most bytes of `dlq-error`: an error that quotes the input (a long field, a huge
    /// number) never makes the dead letter much larger than the input itself.
    public static let maxErrorBytes = 1_024

    /// `error` cut to ``maxErrorBytes`` of UTF-8 at a character boundary, ending with `…` when cut.
    public static func capped(_ error: String) -> String {
        guard error.utf8.count > maxErrorBytes else { return error }
        var cut = ""
        var bytes = 0
        let budget = maxErrorBytes - "…".utf8.count
        for character in error {
            let size = character.utf8.count
            guard bytes + size <= budget else { break }
            cut.append(character)
            bytes += size
        }
        return cut + "…"
    }

    /// The dead letter for `input`: the original key and value bytes unchanged; `dlq-reason`,
    /// `dlq-error`, `original-topic`, `original-partition`, `original-offset`,
    /// `original-timestamp` (milliseconds since the epoch, empty when the record had none), then
    /// every original header in its order.
    ///
    /// A dead letter that would be larger than ``maxRecordBytes`` keeps the first bytes of the
    /// value that fit and gets `dlq-truncated` (the value's original size) after
    /// `original-timestamp`. Should the original headers alone leave no room for the value, they
    /// are left out first (`dlq-dropped-headers`: how many); should even the key not fit, it is
    /// cut too (`dlq-truncated-key`: its original size).
    public static func record(for input: StreamRecord, reason: String, error: String, topic: String = DeadLetter.topic) -> OutputRecord {
        var own: [StreamRecord.Header] = [
            .init(key: HeaderName.reason, value: reason),
            .init(key: HeaderName.error, value: capped(error)),
            .init(key: HeaderName.originalTopic, value: input.topic),
            .init(key: HeaderName.originalPartition, value: String(input.partition)),
            .init(key: HeaderName.originalOffset, value: String(input.offset)),
            .init(key: HeaderName.originalTimestamp, value: input.timestamp.map(String.init) ?? ""),
        ]
        var original = input.headers
        var key = input.key
        var value = input.value
        if wireSize(key: key, value: value, headers: own + original) > maxRecordBytes {
            let truncated = StreamRecord.Header(key: HeaderName.truncated, value: String(value?.count ?? 0))
            if wireSize(key: key, value: [], headers: own + original + [truncated]) > maxRecordBytes {
                // The original headers alone leave no room for the value: they go first.
                own.append(.init(key: HeaderName.droppedHeaders, value: String(original.count)))
                original = []
            }
            if wireSize(key: key, value: value, headers: own) > maxRecordBytes {
                own.append(truncated)
                if wireSize(key: key, value: [], headers: own) > maxRecordBytes {
                    own.append(.init(key: HeaderName.truncatedKey, value: String(key?.count ?? 0)))
                    key = key.map { Array($0.prefix(max(0, maxRecordBytes - wireSize(key: [], value: [], headers: own)))) }
                }
                value = value.map { Array($0.prefix(max(0, maxRecordBytes - wireSize(key: key, value: [], headers: own + original)))) }
            }
        }
        var record = OutputRecord(topic: topic, key: key, value: value, headers: own + original, timestamp: input.timestamp)
        record.tally = OutputTally(
            name: "millwright_dead_letters_total", labels: [.init("reason", reason), .init("topic", input.topic)], logMessage: "input dead-lettered")
        return record
    }
}
