/// Settings of a ``KafkaProducer``.
public struct KafkaProducerConfiguration: Sendable {
    public enum Acks: String, Sendable {
        case none = "0"
        case leader = "1"
        case all = "all"
    }

    /// How a keyed record's partition is chosen (`partitioner`).
    public enum Partitioner: String, Sendable, CaseIterable {
        /// murmur2 of the key, as the Java client: the same key lands in the same partition
        /// whichever client wrote it, which keeps co-partitioned topics joinable.
        case murmur2Random = "murmur2_random"
        /// CRC32 of the key (librdkafka's own default).
        case consistentRandom = "consistent_random"
    }

    public enum Compression: String, Sendable, CaseIterable {
        case none, gzip, snappy, lz4, zstd
    }

    /// Shared client settings.
    public var client: KafkaClientConfiguration
    /// `acks`. Default `.all` (required by idempotence).
    public var acks: Acks = .all
    /// `enable.idempotence`: no duplicates or reordering from producer retries. Default `true`.
    public var enableIdempotence: Bool = true
    /// `transactional.id`; set it to use transactions. Default `nil`.
    public var transactionalID: String? = nil
    /// `transaction.timeout.ms`. Default 60 s.
    public var transactionTimeout: Duration = .seconds(60)
    /// `linger.ms`: how long to wait to fill a batch. Default 5 ms.
    public var linger: Duration = .milliseconds(5)
    /// `message.timeout.ms`: give up delivering a record after this long. Default 300 s.
    public var messageTimeout: Duration = .seconds(300)
    /// `partitioner`. Default `.murmur2Random` (Java-compatible; librdkafka's default differs).
    public var partitioner: Partitioner = .murmur2Random
    /// `compression.type`. Default none.
    public var compression: Compression = .none
    /// `queue.buffering.max.messages`: records held locally before `send` waits. Default 100,000.
    public var maxQueuedMessages: Int = 100_000

    public init(client: KafkaClientConfiguration) {
        self.client = client
    }

    public init(bootstrapServers: [String]) {
        self.init(client: KafkaClientConfiguration(bootstrapServers: bootstrapServers))
    }

    func properties() throws(KafkaError) -> [(String, String)] {
        try client.validate()
        if enableIdempotence && acks != .all {
            throw .configuration("acks: idempotence needs acks=all (got \(acks.rawValue))")
        }
        if transactionalID != nil && !enableIdempotence {
            throw .configuration("transactionalID: transactions need enableIdempotence=true")
        }
        var result = client.properties
        result += [
            ("acks", acks.rawValue),
            ("enable.idempotence", enableIdempotence ? "true" : "false"),
            ("linger.ms", String(linger.milliseconds)),
            // librdkafka requires message.timeout.ms <= transaction.timeout.ms for transactions.
            (
                "message.timeout.ms",
                String(
                    (transactionalID == nil ? messageTimeout : min(messageTimeout, transactionTimeout)).milliseconds)
            ),
            ("compression.type", compression.rawValue),
            ("partitioner", partitioner.rawValue),
            ("queue.buffering.max.messages", String(maxQueuedMessages)),
        ]
        if let transactionalID {
            result += [
                ("transactional.id", transactionalID),
                ("transaction.timeout.ms", String(transactionTimeout.milliseconds)),
            ]
        }
        result += client.additionalProperties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        return result
    }
}
