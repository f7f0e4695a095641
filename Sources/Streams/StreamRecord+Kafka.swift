import Kafka

extension StreamRecord {
    /// The record of a consumed Kafka message (its key and headers are read from it when asked for).
    public init(_ message: KafkaConsumerMessage) {
        self.init(
            topic: message.topic, partition: message.partition, offset: message.offset, key: nil, value: message.value,
            timestamp: message.timestamp?.milliseconds)
        consumed = message
    }
}

extension KafkaProducerMessage {
    /// The Kafka message for an output record (partitioned by key unless it names its partition).
    public init(_ record: OutputRecord) {
        self.init(record, extra: nil)
    }

    /// The Kafka message for an output record (partitioned by key unless it names its partition), with `extra` after the
    /// record's own headers: one array, allocated once at its final size.
    public init(_ record: OutputRecord, extra: KafkaHeader?) {
        var headers: [KafkaHeader] = []
        headers.reserveCapacity(record.headers.count + (extra == nil ? 0 : 1))
        for header in record.headers { headers.append(header.kafka) }
        if let extra { headers.append(extra) }
        self.init(topic: record.topic, partition: record.partition, key: record.key, value: record.value, headers: headers, timestamp: record.timestamp)
    }
}
