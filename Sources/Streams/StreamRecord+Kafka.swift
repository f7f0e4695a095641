import Kafka

extension StreamRecord {
    /// The record of a consumed Kafka message.
    public init(_ message: KafkaConsumerMessage) {
        self.init(
            topic: message.topic, partition: message.partition, offset: message.offset, key: message.key,
            value: message.value, headers: message.headers.map { Header(key: $0.key, value: $0.value) },
            timestamp: message.timestamp?.milliseconds)
    }
}

extension KafkaProducerMessage {
    /// The Kafka message for an output record (partitioned by key).
    public init(_ record: OutputRecord) {
        self.init(
            topic: record.topic, key: record.key, value: record.value,
            headers: record.headers.map { KafkaHeader(key: $0.key, value: $0.value) }, timestamp: record.timestamp)
    }
}
