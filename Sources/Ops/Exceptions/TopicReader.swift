import Kafka
import Logging

/// Reads whole topics once, from the beginning to their current end (`read_committed`): what the
/// operator tools list and act on.
struct TopicReader: Sendable {
    var client: KafkaClientConfiguration
    var logger: Logger

    /// Every record of `topics` (in partition, then offset order), up to the ends they have now.
    func readAll(_ topics: [String], timeout: Duration = .seconds(60)) async throws -> [KafkaConsumerMessage] {
        let admin = try KafkaAdminClient(configuration: client, logger: logger)
        let metadata = try await admin.listTopics()
        var assignment: [KafkaTopicPartitionOffset] = []
        var remaining = Set<KafkaTopicPartition>()
        for topic in topics {
            for partition in metadata.first(where: { $0.name == topic })?.partitions ?? [] {
                let tp = KafkaTopicPartition(topic: topic, partition: partition.id)
                let marks = try await admin.watermarks(tp)
                guard marks.high > marks.low else { continue }
                assignment.append(KafkaTopicPartitionOffset(tp, offset: KafkaOffset.beginning))
                remaining.insert(tp)
            }
        }
        guard !assignment.isEmpty else { return [] }
        var configuration = KafkaConsumerConfiguration(client: client, groupID: nil)
        configuration.isolationLevel = .readCommitted
        configuration.enablePartitionEOF = true
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        try consumer.assign(assignment)
        var messages: [KafkaConsumerMessage] = []
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while !remaining.isEmpty {
            guard ContinuousClock.now < deadline else {
                try? await consumer.close()
                throw ToolError("reading \(topics.joined(separator: ", ")) did not reach the end within \(timeout)")
            }
            for event in try await consumer.pollBatch(maxMessages: 5_000, timeout: .milliseconds(200)) {
                switch event {
                case .message(let message): messages.append(message)
                case .partitionEOF(let end): remaining.remove(end.topicPartition)
                }
            }
        }
        try await consumer.close()
        return messages.sorted { ($0.topic, $0.partition, $0.offset) < ($1.topic, $1.partition, $1.offset) }
    }
}

/// An operator tool's refusal or failure, in words.
public struct ToolError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
