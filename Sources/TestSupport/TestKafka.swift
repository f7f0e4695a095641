import Foundation
import Kafka
import Logging
import Synchronization

/// Fixtures for tests that cross Kafka: an in-process cluster, fresh names, quick configs.
public enum TestKafka {
    /// A new in-process cluster (each test gets its own, so tests run in parallel safely).
    public static func cluster(brokers: Int = 3) throws -> InProcessKafkaCluster {
        try InProcessKafkaCluster(brokers: brokers, logger: logger("mock"))
    }

    /// A name no other test uses: topics and consumer groups must be fresh (a group with a dead
    /// member blocks joins until its session times out).
    public static func uniqueName(_ prefix: String) -> String {
        "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
    }

    public static func logger(_ label: String) -> Logger {
        var logger = Logger(label: "test.\(label)")
        logger.logLevel = ProcessInfo.processInfo.environment["MILLWRIGHT_TEST_LOG"].flatMap { Logger.Level(rawValue: $0) } ?? .error
        return logger
    }

    public static func producerConfiguration(_ cluster: InProcessKafkaCluster) -> KafkaProducerConfiguration {
        var configuration = KafkaProducerConfiguration(client: KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers))
        configuration.linger = .milliseconds(1)
        return configuration
    }

    /// A group consumer with short session and heartbeat timeouts so rebalances are quick.
    public static func consumerConfiguration(
        _ cluster: InProcessKafkaCluster, group: String?
    ) -> KafkaConsumerConfiguration {
        var configuration = KafkaConsumerConfiguration(
            client: KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers), groupID: group)
        configuration.sessionTimeout = .seconds(6)
        configuration.heartbeatInterval = .milliseconds(500)
        configuration.client.additionalProperties["topic.metadata.refresh.interval.ms"] = "1000"
        return configuration
    }

    /// Polls (on the consumer's own queue) until `count` messages arrived or `timeout` passed.
    public static func collect(
        _ consumer: KafkaConsumer, count: Int, timeout: Duration = .seconds(30)
    ) async throws -> [KafkaConsumerMessage] {
        var messages: [KafkaConsumerMessage] = []
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while messages.count < count && ContinuousClock.now < deadline {
            for event in try await consumer.pollBatch(maxMessages: 500, timeout: .milliseconds(100)) {
                if case .message(let message) = event { messages.append(message) }
            }
        }
        return messages
    }

    /// Every message of `partitions` from the beginning up to their end offsets as they stand on
    /// the call, read on a group-less consumer: complete however slowly the cluster answers
    /// (ends when the consumer's position reached each end offset, control records included),
    /// or throws when `timeout` passes first.
    public static func readToEnd(
        _ cluster: InProcessKafkaCluster, partitions: [KafkaTopicPartition], timeout: Duration = .seconds(60)
    ) async throws -> [KafkaConsumerMessage] {
        let consumer = try KafkaConsumer(configuration: consumerConfiguration(cluster, group: nil), logger: logger("read-to-end"))
        var ends: [KafkaTopicPartition: Int64] = [:]
        for partition in partitions { ends[partition] = try await consumer.watermarks(partition).high }
        try consumer.assign(partitions.map { KafkaTopicPartitionOffset(topic: $0.topic, partition: $0.partition, offset: KafkaOffset.beginning) })
        var messages: [KafkaConsumerMessage] = []
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var open = ends.filter { $0.value > 0 }
        while !open.isEmpty {
            guard ContinuousClock.now < deadline else {
                try await consumer.close()
                throw ReadToEndTimeout(missing: open.keys.map { "\($0.topic)[\($0.partition)]" }.sorted())
            }
            for event in try await consumer.pollBatch(maxMessages: 1_000, timeout: .milliseconds(100)) {
                if case .message(let message) = event { messages.append(message) }
            }
            for position in try consumer.position(Array(open.keys)) where position.offset >= open[position.topicPartition] ?? 0 {
                open[position.topicPartition] = nil
            }
        }
        try await consumer.close()
        return messages
    }

    public struct ReadToEndTimeout: Error, CustomStringConvertible {
        public let missing: [String]
        public var description: String { "not read to the end in time: \(missing.joined(separator: ", "))" }
    }
}

/// An append-only log shared between threads, for asserting the order of events.
public final class EventLog: Sendable {
    private let entries = Mutex<[String]>([])
    public init() {}
    public func append(_ entry: String) { entries.withLock { $0.append(entry) } }
    public var all: [String] { entries.withLock { $0 } }
}

/// A flag one task sets and others read.
public final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    public init() {}
    public func stop() { value.store(true, ordering: .releasing) }
    public var isStopped: Bool { value.load(ordering: .acquiring) }
}
