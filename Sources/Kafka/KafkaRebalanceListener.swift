/// Hooks into a group rebalance. Both run on the thread that polls the consumer, inside the poll.
///
/// - Important: ``partitionsRevoked(_:consumer:)`` runs *before* the partitions are given up:
///   the group cannot hand them to another member until it returns, so it is the place to flush
///   state and commit. ``partitionsAssigned(_:consumer:)`` runs after the partitions are taken
///   and before any of their records is returned by a poll, so it is the place to restore state.
///   Neither may poll the consumer.
public protocol KafkaRebalanceListener: Sendable {
    func partitionsAssigned(_ partitions: [KafkaTopicPartition], consumer: KafkaConsumer)
    func partitionsRevoked(_ partitions: [KafkaTopicPartition], consumer: KafkaConsumer)
    /// The partitions were lost (session timed out, fenced): another member may already own them,
    /// so nothing may be committed for them. Default: does nothing.
    func partitionsLost(_ partitions: [KafkaTopicPartition], consumer: KafkaConsumer)
}

extension KafkaRebalanceListener {
    public func partitionsLost(_ partitions: [KafkaTopicPartition], consumer: KafkaConsumer) {}
}
