import CRdKafka
import Foundation
import Logging

/// Owns a librdkafka mock cluster and the handle that hosts it.
///
/// `@unchecked Sendable`: the mock cluster's calls post operations to its own thread and are
/// safe from any thread; the pointers never change after `init`.
final class RDKafkaMockCluster: @unchecked Sendable {
    private let host: RDKafkaClient
    private let cluster: OpaquePointer
    let bootstrapServers: String

    init(brokers: Int, logger: Logger) throws(KafkaError) {
        // `KAFKA_MOCK_DEBUG=mock` enables the cluster's own debug logs (every request, group
        // state changes and their reasons); `setDebugLogging(true)` lets them through to this
        // logger, at `debug` level.
        let debug = ProcessInfo.processInfo.environment["KAFKA_MOCK_DEBUG"].map { [("debug", $0)] } ?? []
        // The hosting handle never talks to the cluster itself; it only owns its threads. Its
        // socket settings are the mock brokers' own: without `socket.nagle.disable` a broker held
        // a response back until the client acknowledged the one before (up to the client's
        // ~40 ms delayed ACK), and every transaction over a dozen partitions took 40–55 ms
        // (a C probe: 1–11 ms with it; Docs/performance.md). Apache Kafka's brokers send at once.
        host = try RDKafkaClient(
            kind: .producer, properties: debug + [("log_level", "4"), ("socket.nagle.disable", "true")],  // no bootstrap: hush its "not configured" notice
            logger: logger)
        guard let cluster = host.withHandle({ rd_kafka_mock_cluster_new($0, Int32(brokers)) }) else {
            throw .invalidState("could not start a mock cluster with \(brokers) brokers")
        }
        self.cluster = cluster
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
        if !debug.isEmpty { setDebugLogging(false) }  // librdkafka raised the level for `debug`
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster)
    }

    /// Lets the debug logs that `KAFKA_MOCK_DEBUG` enabled through (or holds them back).
    func setDebugLogging(_ on: Bool) {
        host.withHandle { rd_kafka_set_log_level($0, on ? 7 : 4) }
    }

    func createTopic(_ name: String, partitions: Int, replicationFactor: Int) throws(KafkaError) {
        try RDKafkaResult.check(
            rd_kafka_mock_topic_create(cluster, name, Int32(partitions), Int32(replicationFactor)),
            "mock create topic \(name)")
    }

    func setBroker(_ id: Int32, up: Bool) throws(KafkaError) {
        let code = up ? rd_kafka_mock_broker_set_up(cluster, id) : rd_kafka_mock_broker_set_down(cluster, id)
        try RDKafkaResult.check(code, "mock broker \(id) \(up ? "up" : "down")")
    }

    func setRoundTripTime(broker id: Int32, milliseconds: Int32) throws(KafkaError) {
        try RDKafkaResult.check(rd_kafka_mock_broker_set_rtt(cluster, id, milliseconds), "mock broker \(id) rtt")
    }

    func setPartitionLeader(topic: String, partition: Int32, broker: Int32) throws(KafkaError) {
        try RDKafkaResult.check(
            rd_kafka_mock_partition_set_leader(cluster, topic, partition, broker), "mock leader of \(topic)[\(partition)]")
    }

    func setCoordinator(keyType: String, key: String, broker: Int32) throws(KafkaError) {
        try RDKafkaResult.check(
            rd_kafka_mock_coordinator_set(cluster, keyType, key, broker), "mock coordinator \(keyType) \(key)")
    }

    /// Makes the next requests of `apiKey` fail with these codes, in order.
    func pushRequestErrors(apiKey: Int16, errors: [Int32]) {
        var codes = errors.map { rd_kafka_resp_err_t(rawValue: $0) }
        codes.withUnsafeMutableBufferPointer {
            rd_kafka_mock_push_request_errors_array(cluster, apiKey, $0.count, $0.baseAddress)
        }
    }

    func clearRequestErrors(apiKey: Int16) {
        rd_kafka_mock_clear_request_errors(cluster, apiKey)
    }

    func setTopicError(_ topic: String, error: Int32) {
        rd_kafka_mock_topic_set_error(cluster, topic, rd_kafka_resp_err_t(rawValue: error))
    }
}
