/// A partition of a topic, as the stream runtime and the processors see it (no Kafka client
/// types above the `Streams` module).
public struct TopicPartition: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The topic's name.
    public var topic: String
    /// The partition number, from 0.
    public var partition: Int32

    /// The partition `partition` of `topic`.
    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    /// `topic[partition]`, as the Kafka layer writes it.
    public var description: String { "\(topic)[\(partition)]" }

    /// By topic name, then partition number: the order logs and error messages list them in.
    public static func < (lhs: TopicPartition, rhs: TopicPartition) -> Bool {
        lhs.topic == rhs.topic ? lhs.partition < rhs.partition : lhs.topic < rhs.topic
    }
}
