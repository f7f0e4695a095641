import Kafka

extension StreamRecord {
    /// The record of a consumed Kafka message (its key and headers are read from it when asked for).
    public init(_ message: KafkaConsumerMessage) {
        self.init(topic: message.topic, partition: message.partition, offset: message.offset, key: nil, value: message.value, timestamp: message.timestamp?.milliseconds)
        consumed = message
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
