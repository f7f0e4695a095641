import Logging

/// Topic and consumer-group administration.
///
/// - Important: Thread-safe; every call waits for the cluster on the client's own queue.
///   librdkafka 2.0.2's mock cluster does not answer CreateTopics, DeleteTopics or
///   DescribeConfigs, and answers DescribeGroups with `unsupportedFeature`; against it, create
///   topics with ``InProcessKafkaCluster/createTopic(_:partitions:replicationFactor:)``.
public final class KafkaAdminClient: Sendable {
    let client: RDKafkaClient
    private let pollLoop: PollLoop
    private let blocking = BlockingQueue(label: "millwright.kafka.admin")

    public init(configuration: KafkaClientConfiguration, logger: Logger) throws(KafkaError) {
        try configuration.validate()
        client = try RDKafkaClient(
            kind: .producer,
            properties: configuration.properties
                + configuration.additionalProperties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
            logger: logger)
        pollLoop = PollLoop(name: "kafka-adm-poll", client: client)
    }

    deinit { pollLoop.stop() }

    /// Creates topics; the result says per topic whether it was created or why not
    /// (`topicAlreadyExists` included).
    public func createTopics(_ topics: [KafkaNewTopic], timeout: Duration = .seconds(30)) async throws(KafkaError) -> [KafkaTopicResult] {
        try await blocking.run { [client] () throws(KafkaError) in try client.createTopics(topics, timeout: timeout) }
    }

    public func deleteTopics(_ names: [String], timeout: Duration = .seconds(30)) async throws(KafkaError) -> [KafkaTopicResult] {
        try await blocking.run { [client] () throws(KafkaError) in try client.deleteTopics(names, timeout: timeout) }
    }

    /// Every topic the cluster knows, with its partitions (internal `__` topics included).
    public func listTopics(timeout: Duration = .seconds(10)) async throws(KafkaError) -> [KafkaTopicMetadata] {
        try await blocking.run { [client] () throws(KafkaError) in
            try client.metadata(timeout: timeout).sorted { $0.name < $1.name }
        }
    }

    /// The number of brokers in the cluster.
    public func brokerCount(timeout: Duration = .seconds(10)) async throws(KafkaError) -> Int {
        try await blocking.run { [client] () throws(KafkaError) in try client.brokerCount(timeout: timeout) }
    }

    /// The group's committed offsets (every partition it has committed when `partitions` is nil).
    public func listConsumerGroupOffsets(
        group: String, partitions: [KafkaTopicPartition]? = nil, timeout: Duration = .seconds(30)
    ) async throws(KafkaError) -> [KafkaTopicPartitionOffset] {
        try await blocking.run { [client] () throws(KafkaError) in
            try client.listConsumerGroupOffsets(group: group, partitions: partitions, timeout: timeout)
        }
    }

    /// Sets the group's committed offsets. Refused with `unknownMemberID` while the group has live
    /// members, so a reset can only happen with every worker stopped.
    public func alterConsumerGroupOffsets(
        group: String, offsets: [KafkaTopicPartitionOffset], timeout: Duration = .seconds(30)
    ) async throws(KafkaError) -> [KafkaTopicPartitionOffset] {
        try await blocking.run { [client] () throws(KafkaError) in
            try client.alterConsumerGroupOffsets(group: group, offsets: offsets, timeout: timeout)
        }
    }

    /// The group's state and members. Not supported by the mock cluster (`unsupportedFeature`).
    public func describeConsumerGroup(_ group: String, timeout: Duration = .seconds(30)) async throws(KafkaError) -> KafkaConsumerGroupDescription {
        try await blocking.run { [client] () throws(KafkaError) in try client.describeConsumerGroup(group, timeout: timeout) }
    }

    /// Low and high watermark of a partition.
    public func watermarks(_ partition: KafkaTopicPartition, timeout: Duration = .seconds(10)) async throws(KafkaError) -> KafkaWatermarks {
        try await blocking.run { [client] () throws(KafkaError) in try client.queryWatermarks(partition, timeout: timeout) }
    }

    /// For each partition the earliest offset with a timestamp ≥ the given one, as the broker
    /// answers ListOffsets (the mock cluster answers -1 for every timestamp).
    public func offsetsForTimes(
        _ timestamps: [KafkaTopicPartition: Int64], timeout: Duration = .seconds(10)
    ) async throws(KafkaError) -> [KafkaTopicPartitionOffset] {
        let query = timestamps.map { KafkaTopicPartitionOffset($0.key, offset: $0.value) }
        return try await blocking.run { [client] () throws(KafkaError) in try client.offsetsForTimes(query, timeout: timeout) }
    }
}
