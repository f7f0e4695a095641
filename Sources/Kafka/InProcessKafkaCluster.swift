import Logging

/// A Kafka cluster inside this process: librdkafka's mock cluster, N brokers on 127.0.0.1 that
/// real Kafka clients (other processes, kcat) can talk to. Used by the tests and by
/// `millwright cluster`.
///
/// What it does (librdkafka 2.0.2): produce/fetch, consumer groups, idempotent and transactional
/// producers, AlterConsumerGroupOffsets (on groups that never had a member) and
/// ListConsumerGroupOffsets. What it does not do, verified here (Docs/architecture.md):
/// `read_committed` does not hide aborted or open transactions, producers are not fenced, offsets
/// sent to a transaction are not stored, offsets-for-times answers -1, CreateTopics/DeleteTopics/
/// DescribeConfigs get no answer, nothing is compacted, and only ~5 MB per partition is kept.
///
/// - Important: Thread-safe. Stops when the last reference goes away.
public final class InProcessKafkaCluster: Sendable {
    private let mock: RDKafkaMockCluster
    /// Number of brokers, with ids `1...brokerCount`.
    public let brokerCount: Int

    /// `host:port,…` of the brokers.
    public var bootstrapServers: String { mock.bootstrapServers }

    public init(brokers: Int = 3, logger: Logger = Logger(label: "millwright.kafka.mock")) throws(KafkaError) {
        guard brokers >= 1 else { throw .configuration("brokers: at least 1 (got \(brokers))") }
        mock = try RDKafkaMockCluster(brokers: brokers, logger: logger)
        brokerCount = brokers
    }

    /// Lets the cluster's own debug logs through to its logger (at `debug` level), or holds them
    /// back. Only logs enabled with `KAFKA_MOCK_DEBUG` (librdkafka debug contexts, such as
    /// `mock`) exist: a diagnostic for one phase of a run, as every request is logged.
    public func setDebugLogging(_ on: Bool) { mock.setDebugLogging(on) }

    /// Creates a topic (replication capped to the broker count). Creating an existing topic with
    /// the same partition count is not an error.
    public func createTopic(_ name: String, partitions: Int, replicationFactor: Int = 3) throws(KafkaError) {
        try mock.createTopic(name, partitions: partitions, replicationFactor: min(replicationFactor, brokerCount))
    }

    /// Takes a broker down: its connections are closed and it refuses new ones.
    public func takeBrokerDown(_ id: Int32) throws(KafkaError) { try mock.setBroker(id, up: false) }

    public func bringBrokerUp(_ id: Int32) throws(KafkaError) { try mock.setBroker(id, up: true) }

    /// Adds latency to every answer of one broker.
    public func setRoundTripTime(broker id: Int32, _ rtt: Duration) throws(KafkaError) {
        try mock.setRoundTripTime(broker: id, milliseconds: rtt.millisecondsInt32)
    }

    /// Makes a broker the leader of a partition.
    public func setPartitionLeader(topic: String, partition: Int32, broker: Int32) throws(KafkaError) {
        try mock.setPartitionLeader(topic: topic, partition: partition, broker: broker)
    }

    /// Makes a broker the transaction coordinator of a transactional id.
    public func setTransactionCoordinator(transactionalID: String, broker: Int32) throws(KafkaError) {
        try mock.setCoordinator(keyType: "transaction", key: transactionalID, broker: broker)
    }

    /// Makes the next requests of this API fail with these errors, in order (any broker).
    public func injectRequestErrors(_ api: KafkaAPIKey, _ errors: [KafkaError.Code]) {
        mock.pushRequestErrors(apiKey: api.rawValue, errors: errors.compactMap(\.librdkafkaCode))
    }

    public func clearRequestErrors(_ api: KafkaAPIKey) { mock.clearRequestErrors(apiKey: api.rawValue) }
}

/// Kafka protocol request types, for fault injection.
public enum KafkaAPIKey: Int16, Sendable, CaseIterable {
    case produce = 0
    case fetch = 1
    case listOffsets = 2
    case metadata = 3
    case offsetCommit = 8
    case offsetFetch = 9
    case findCoordinator = 10
    case joinGroup = 11
    case heartbeat = 12
    case leaveGroup = 13
    case syncGroup = 14
    case initProducerID = 22
    case addPartitionsToTransaction = 24
    case addOffsetsToTransaction = 25
    case endTransaction = 26
    case transactionOffsetCommit = 28
}
