import Foundation
import Kafka
import Synchronization
import TestSupport

/// Reads the run's output topics and changelogs from their beginning for the whole run, keeping
/// every record: the in-process cluster keeps only ~5 MB per partition, so reading them only at
/// the end could miss the first batches' records and commit markers.
final class OutputCollector: Sendable {
    private let messages = Mutex<[KafkaConsumerMessage]>([])
    private let stopped = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(false)

    init(cluster: InProcessKafkaCluster, topics: [String]) async throws {
        let admin = try KafkaAdminClient(
            configuration: KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers), logger: TestKafka.logger("collect"))
        var assignment: [KafkaTopicPartitionOffset] = []
        for topic in try await admin.listTopics() where topics.contains(topic.name) {
            assignment += topic.partitions.map { KafkaTopicPartitionOffset(topic: topic.name, partition: $0.id, offset: KafkaOffset.beginning) }
        }
        var configuration = TestKafka.consumerConfiguration(cluster, group: nil)
        configuration.client.additionalProperties["fetch.message.max.bytes"] = "2000000"
        let consumer = try KafkaConsumer(configuration: configuration, logger: TestKafka.logger("collect"))
        try consumer.assign(assignment)
        Task { [self] in
            while !stopped.load(ordering: .relaxed) {
                guard let batch = try? await consumer.pollBatch(maxMessages: 5_000, timeout: .milliseconds(200)) else { continue }
                let received = batch.compactMap { event -> KafkaConsumerMessage? in
                    if case .message(let message) = event { return message }
                    return nil
                }
                if !received.isEmpty { messages.withLock { $0 += received } }
            }
            try? await consumer.close()
            finished.store(true, ordering: .relaxed)
        }
    }

    /// Every record read so far.
    var snapshot: [KafkaConsumerMessage] { messages.withLock { $0 } }

    func stop() async {
        stopped.store(true, ordering: .relaxed)
        while !finished.load(ordering: .relaxed) { try? await Task.sleep(for: .milliseconds(50)) }
    }
}
