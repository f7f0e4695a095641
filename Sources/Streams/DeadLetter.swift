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
    public static func record(for input: StreamRecord, reason: String, error: String, topic: String = DeadLetter.topic) -> OutputRecord {
        var headers: [StreamRecord.Header] = [
            .init(key: HeaderName.reason, value: reason),
            .init(key: HeaderName.error, value: capped(error)),
            .init(key: HeaderName.originalTopic, value: input.topic),
            .init(key: HeaderName.originalPartition, value: String(input.partition)),
            .init(key: HeaderName.originalOffset, value: String(input.offset)),
            .init(key: HeaderName.originalTimestamp, value: input.timestamp.map(String.init) ?? ""),
        ]
        headers += input.headers
        var record = OutputRecord(topic: topic, key: input.key, value: input.value, headers: headers, timestamp: input.timestamp)
        record.tally = OutputTally(
            name: "millwright_dead_letters_total", labels: [.init("reason", reason), .init("topic", input.topic)], logMessage: "input dead-lettered")
        return record
    }
}
