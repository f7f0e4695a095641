import CRdKafka
import Foundation
import Logging
import Synchronization

/// Owns one `rd_kafka_t` handle and its callback context. The only holder of the pointer;
/// it lends it out through ``withHandle(_:)`` and destroys it in `deinit`.
///
/// `@unchecked Sendable`: librdkafka documents `rd_kafka_t` as thread-safe for every call we
/// make from several threads (produce, poll, commit, metadata); the consumer poll is only ever
/// called from one thread at a time by ``KafkaConsumer``. Our own state lives in the Sendable
/// context.
final class RDKafkaClient: @unchecked Sendable {
    enum Kind {
        case producer, consumer

        var raw: rd_kafka_type_t { self == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER }
    }

    let kind: Kind
    let context: RDKafkaCallbackContext
    private let handle: OpaquePointer
    /// The consumer queue (`rd_kafka_queue_get_consumer`), for consumers.
    private let consumerQueue: OpaquePointer?

    /// Creates a handle. Every property is set one by one so that a bad one is named in the error.
    init(
        kind: Kind, properties: [(String, String)], logger: Logger,
        statisticsHandler: (@Sendable (String) -> Void)? = nil,
        configure: (OpaquePointer) -> Void = { _ in }
    ) throws(KafkaError) {
        let conf = rd_kafka_conf_new()!
        var errstr = [CChar](repeating: 0, count: 512)
        for (name, value) in properties {
            let result = rd_kafka_conf_set(conf, name, value, &errstr, errstr.count)
            if result != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                let shown = SecretProperties.isSecret(name) ? "<redacted>" : "'\(value)'"
                let why = result == RD_KAFKA_CONF_UNKNOWN ? "unknown property" : "invalid value \(shown)"
                // librdkafka may quote the value back: a secret one is cut out of its text too.
                var detail = RDKafkaResult.text(errstr)
                if SecretProperties.isSecret(name) && !value.isEmpty { detail = detail.replacingOccurrences(of: value, with: "<redacted>") }
                throw .configuration("property '\(name)': \(why): \(detail)")
            }
        }
        context = RDKafkaCallbackContext(logger: logger, statisticsHandler: statisticsHandler)
        context.install(on: conf)
        configure(conf)
        guard let rk = rd_kafka_new(kind.raw, conf, &errstr, errstr.count) else {
            rd_kafka_conf_destroy(conf)  // not taken over on failure
            throw .configuration("client rejected the configuration: \(RDKafkaResult.text(errstr))")
        }
        handle = rk
        self.kind = kind
        if kind == .consumer {
            // Everything (rebalances, errors, logs) is served by the consumer poll.
            rd_kafka_poll_set_consumer(rk)
            consumerQueue = rd_kafka_queue_get_consumer(rk)
        } else {
            consumerQueue = nil
        }
    }

    deinit {
        if let consumerQueue { rd_kafka_queue_destroy(consumerQueue) }
        rd_kafka_destroy(handle)
    }

    /// Lends the handle for the duration of `body`.
    func withHandle<T, E: Error>(_ body: (OpaquePointer) throws(E) -> T) throws(E) -> T {
        try body(handle)
    }

    var name: String { String(cString: rd_kafka_name(handle)) }

    /// Throws the fatal error librdkafka reported, if any.
    func checkFatal() throws(KafkaError) {
        if let error = context.fatalError.withLock({ $0 }) { throw error }
    }

    /// Serves queued callbacks (delivery reports, logs, statistics) for up to `timeout`.
    @discardableResult
    func poll(timeoutMilliseconds: Int32) -> Int32 {
        rd_kafka_poll(handle, timeoutMilliseconds)
    }

    /// Cached low/high watermarks, without a broker round trip (only for fetched partitions).
    func cachedWatermarks(_ tp: KafkaTopicPartition) throws(KafkaError) -> KafkaWatermarks {
        var low: Int64 = 0
        var high: Int64 = 0
        try RDKafkaResult.check(
            rd_kafka_get_watermark_offsets(handle, tp.topic, tp.partition, &low, &high), "watermarks of \(tp)")
        return KafkaWatermarks(low: low, high: high)
    }

    /// Asks the partition leader for the low/high watermarks. Blocks up to `timeout`.
    func queryWatermarks(_ tp: KafkaTopicPartition, timeout: Duration) throws(KafkaError) -> KafkaWatermarks {
        var low: Int64 = 0
        var high: Int64 = 0
        try RDKafkaResult.check(
            rd_kafka_query_watermark_offsets(
                handle, tp.topic, tp.partition, &low, &high, timeout.millisecondsInt32),
            "query watermarks of \(tp)")
        return KafkaWatermarks(low: low, high: high)
    }

    /// For each partition, the first offset whose timestamp is at or after the given one
    /// (`offset` of the input carries the timestamp in ms). Blocks up to `timeout`.
    func offsetsForTimes(
        _ query: [KafkaTopicPartitionOffset], timeout: Duration
    ) throws(KafkaError) -> [KafkaTopicPartitionOffset] {
        let list = RDKafkaTopicPartitionList(query)
        try RDKafkaResult.check(
            rd_kafka_offsets_for_times(handle, list.pointer, timeout.millisecondsInt32), "offsets for times")
        return try list.positionsOrThrow("offsets for times")
    }

    /// Topic names and partition counts known to the cluster. Blocks up to `timeout`.
    func metadata(timeout: Duration) throws(KafkaError) -> [KafkaTopicMetadata] {
        var raw: UnsafePointer<rd_kafka_metadata>?
        try RDKafkaResult.check(
            rd_kafka_metadata(handle, 1, nil, &raw, timeout.millisecondsInt32), "metadata request")
        guard let md = raw else { return [] }
        defer { rd_kafka_metadata_destroy(md) }
        var topics: [KafkaTopicMetadata] = []
        for i in 0..<Int(md.pointee.topic_cnt) {
            let t = md.pointee.topics[i]
            let partitions = (0..<Int(t.partition_cnt)).map { j in
                let p = t.partitions[j]
                return KafkaTopicMetadata.Partition(
                    id: p.id, leader: p.leader, replicas: Int(p.replica_cnt), inSyncReplicas: Int(p.isr_cnt))
            }
            topics.append(
                KafkaTopicMetadata(
                    name: String(cString: t.topic), partitions: partitions.sorted { $0.id < $1.id },
                    error: t.err == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : RDKafkaResult.name(of: t.err.rawValue)))
        }
        let brokers = Int(md.pointee.broker_cnt)
        return topics.map {
            var t = $0
            t.brokerCount = brokers
            return t
        }
    }

    /// Looks up each topic's partitions now, so that the first record sent to it is not held
    /// back waiting for the leader lookup librdkafka otherwise starts on first use (about half a
    /// second on a fresh client). Topics that do not exist are skipped. Blocks up to `timeout`
    /// per topic.
    func prepareTopics(_ names: [String], timeout: Duration) {
        for name in names {
            guard let rkt = rd_kafka_topic_new(handle, name, nil) else { continue }
            var raw: UnsafePointer<rd_kafka_metadata>?
            if rd_kafka_metadata(handle, 0, rkt, &raw, timeout.millisecondsInt32) == RD_KAFKA_RESP_ERR_NO_ERROR, let raw {
                rd_kafka_metadata_destroy(raw)
            }
            // The client keeps the topic (and what it learned) after the application's reference goes.
            rd_kafka_topic_destroy(rkt)
        }
    }

    /// The number of brokers in the cluster. Blocks up to `timeout`.
    func brokerCount(timeout: Duration) throws(KafkaError) -> Int {
        var raw: UnsafePointer<rd_kafka_metadata>?
        try RDKafkaResult.check(
            rd_kafka_metadata(handle, 0, nil, &raw, timeout.millisecondsInt32), "metadata request")
        guard let md = raw else { return 0 }
        defer { rd_kafka_metadata_destroy(md) }
        return Int(md.pointee.broker_cnt)
    }

    /// The consumer queue, for consumers; `nil` for producers.
    func withConsumerQueue<T>(_ body: (OpaquePointer) throws(KafkaError) -> T) throws(KafkaError) -> T {
        guard let consumerQueue else { throw .invalidState("not a consumer") }
        return try body(consumerQueue)
    }
}

/// A topic as the cluster's metadata describes it.
public struct KafkaTopicMetadata: Sendable, Hashable {
    public struct Partition: Sendable, Hashable {
        public var id: Int32
        public var leader: Int32
        public var replicas: Int
        public var inSyncReplicas: Int
    }

    public var name: String
    public var partitions: [Partition]
    /// librdkafka's name of the topic-level error, if the broker reported one.
    public var error: String?
    /// Brokers in the cluster when the metadata was taken.
    public var brokerCount: Int = 0
}
