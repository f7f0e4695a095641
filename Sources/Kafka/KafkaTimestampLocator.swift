import Logging

/// Finds, per partition, the first offset whose record timestamp is at or after a point in time:
/// the basis of a time-based offset reset.
///
/// It asks the broker first (ListOffsets by timestamp). When the broker answers "no such offset"
/// although the partition's last record is newer than the target — librdkafka 2.0.2's mock
/// cluster answers -1 for every timestamp — it falls back to a binary search over fetched record
/// timestamps, assuming timestamps do not decrease within the partition (as Kafka's own time index
/// does).
public struct KafkaTimestampLocator: Sendable {
    public var client: KafkaClientConfiguration
    public var logger: Logger
    /// How long one probe fetch may take. Default 10 s.
    public var probeTimeout: Duration = .seconds(10)

    public init(client: KafkaClientConfiguration, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// How the answer was found.
    public enum Method: Sendable, Hashable {
        case broker
        case binarySearch(probes: Int)
    }

    public struct Answer: Sendable, Hashable {
        /// The first offset with timestamp ≥ target; the high watermark when every record is older.
        public var offset: Int64
        public var method: Method
    }

    public func offset(
        for partition: KafkaTopicPartition, atOrAfter timestamp: Int64
    ) async throws(KafkaError) -> Answer {
        var configuration = KafkaConsumerConfiguration(client: client)
        configuration.isolationLevel = .readUncommitted
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        defer { try? consumer.close() }
        return try await consumer.blocking.run { () throws(KafkaError) in
            try locate(partition, timestamp, consumer)
        }
    }

    private func locate(_ tp: KafkaTopicPartition, _ target: Int64, _ consumer: KafkaConsumer) throws(KafkaError) -> Answer {
        let marks = try consumer.watermarks(tp, timeout: probeTimeout)
        if marks.low >= marks.high { return Answer(offset: marks.high, method: .broker) }
        let native =
            try consumer.client.offsetsForTimes(
                [KafkaTopicPartitionOffset(tp, offset: target)], timeout: probeTimeout
            ).first?.offset ?? KafkaOffset.end
        if native >= 0 { return Answer(offset: native, method: .broker) }
        // "None": every record is older than the target — unless the broker does not know.
        var probes = 1
        guard let last = try probe(tp, marks.high - 1, consumer, probes: &probes), last.timestamp >= target else {
            return Answer(offset: marks.high, method: .broker)
        }
        // P(o) = "the first record at or after o is at or after the target"; P is monotonic.
        // Find the smallest o in [low, last] with P(o); the answer is that record's offset.
        var lo = marks.low
        var hi = last.offset
        var answer = last.offset
        while lo < hi {
            let mid = lo + (hi - lo) / 2
            guard let record = try probe(tp, mid, consumer, probes: &probes) else {
                throw KafkaError(code: .timedOut, reason: "no record fetched at \(tp)@\(mid)", isRetriable: true)
            }
            if record.timestamp >= target {
                hi = mid
                answer = record.offset
            } else {
                // Nothing between mid and record.offset exists, and record is older: skip past it.
                lo = record.offset + 1
            }
        }
        return Answer(offset: answer, method: .binarySearch(probes: probes))
    }

    /// The first record at or after `offset` (its offset and timestamp), or nil if none came.
    private func probe(
        _ tp: KafkaTopicPartition, _ offset: Int64, _ consumer: KafkaConsumer, probes: inout Int
    ) throws(KafkaError) -> (offset: Int64, timestamp: Int64)? {
        probes += 1
        try consumer.assign([KafkaTopicPartitionOffset(tp, offset: offset)])
        let deadline = ContinuousClock.now.advanced(by: probeTimeout)
        while ContinuousClock.now < deadline {
            for event in try consumer.pollBatch(maxMessages: 1, timeout: .milliseconds(200)) {
                if case .message(let m) = event, m.topicPartition == tp, m.offset >= offset {
                    return (m.offset, m.timestamp?.milliseconds ?? Int64.min)
                }
            }
        }
        return nil
    }
}
