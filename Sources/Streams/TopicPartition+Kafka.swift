import Kafka

extension StreamRecord {
    /// The partition this record was read from.
    public var topicPartition: TopicPartition { TopicPartition(topic: topic, partition: partition) }
}

extension TopicPartition {
    init(_ kafka: KafkaTopicPartition) {
        self.init(topic: kafka.topic, partition: kafka.partition)
    }

    var kafka: KafkaTopicPartition { KafkaTopicPartition(topic: topic, partition: partition) }
}
