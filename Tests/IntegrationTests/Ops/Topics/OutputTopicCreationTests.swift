import Foundation
import Kafka
import Logging
import Manufacturing
import Ops
import Streams
import TestSupport
import Testing

/// Forwards each record to the topic named in its value.
private final class RoutingProcessor: StreamProcessor {
    func process(_ record: StreamRecord, context: any ProcessorContext) throws {
        context.forward(OutputRecord(topic: String(decoding: record.value ?? [], as: UTF8.self), key: record.keyString ?? "-", value: record.value ?? []))
    }
}

@Suite("Output topics created before the first record, on the in-process cluster")
struct OutputTopicCreationTests {
    @Test(
        "a worker writing to a new plant's release topic creates it first with the catalog's 12 partitions (the cluster's auto-creation would give 4, as a topic the catalog does not know gets); the records land"
    )
    func newPlantTopic() async throws {
        let cluster = try TestKafka.cluster(brokers: 1)
        var configuration = StreamsConfiguration(client: KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers))
        configuration.group = TestKafka.uniqueName("topics")
        // The catalog has no changelog for a `router` processor: it must exist.
        for topic in ["routes", "millwright.\(configuration.group).router.changelog.v1"] { try cluster.createTopic(topic, partitions: 2) }
        configuration.stateDirectory = FileManager.default.temporaryDirectory.appendingPathComponent(TestKafka.uniqueName("state")).path
        configuration.sessionTimeout = .seconds(6)
        configuration.topicPreparer = CatalogTopicPreparer(
            catalog: try TopicCatalog.embedded(), creation: InProcessTopicCreation(cluster: cluster), logger: TestKafka.logger("topics"))
        let definition = ProcessorDefinition(name: "router", inputTopics: ["routes"]) { _ in RoutingProcessor() }
        let worker = try StreamWorker(definition: definition, configuration: configuration, logger: TestKafka.logger("w"))
        try worker.start()
        defer { Task { await worker.stop() } }

        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger("p"))
        let release = "mes.P900.production-release.v1"
        let unknown = "plant-gossip.v1"
        _ = try await producer.send(batch: [
            KafkaProducerMessage(topic: "routes", key: "WO-1", value: release), KafkaProducerMessage(topic: "routes", key: "WO-2", value: unknown),
        ])
        await producer.close()

        let consumer = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(cluster, group: nil), logger: TestKafka.logger("c"))
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        var partitions: [String: Int] = [:]
        while ContinuousClock.now < deadline {
            let admin = try KafkaAdminClient(configuration: KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers), logger: TestKafka.logger("a"))
            for topic in try await admin.listTopics() where topic.name == release || topic.name == unknown { partitions[topic.name] = topic.partitions.count }
            if partitions.count == 2 && worker.statistics.committedTransactions > 0 { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(partitions[release] == 12, "created by the worker with the catalog's partitions")
        #expect(partitions[unknown] == 4, "not in the catalog: left to the cluster's auto-creation")
        try consumer.assign((0..<12).map { KafkaTopicPartitionOffset(topic: release, partition: $0, offset: KafkaOffset.beginning) })
        let landed = try await TestKafka.collect(consumer, count: 1, timeout: .seconds(30))
        #expect(landed.compactMap(\.keyString) == ["WO-1"])
        try await consumer.close()
        await worker.stop()
        #expect(worker.failure == nil)
    }

    /// A cluster that never answers CreateTopics (as librdkafka's in-process one, reached from
    /// another process): every missing topic is `.unanswered`.
    struct Unanswered: TopicCreation {
        func createIfMissing(_ topic: KafkaNewTopic) throws(KafkaError) -> TopicCreationOutcome { .unanswered }
    }

    @Test(
        "a worker makes sure of its group's changelog before it joins: created with the catalog's partitions (12, compacted) when missing; where the cluster cannot create it, the worker stops saying to run topics apply --group"
    )
    func changelogBeforeStart() async throws {
        let cluster = try TestKafka.cluster(brokers: 1)
        try cluster.createTopic("orders-in", partitions: 12)
        var configuration = StreamsConfiguration(client: KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers))
        configuration.group = TestKafka.uniqueName("own")
        configuration.stateDirectory = FileManager.default.temporaryDirectory.appendingPathComponent(TestKafka.uniqueName("state")).path
        configuration.sessionTimeout = .seconds(6)
        let catalog = try TopicCatalog.embedded()
        configuration.topicPreparer = CatalogTopicPreparer(
            catalog: catalog, creation: InProcessTopicCreation(cluster: cluster), logger: TestKafka.logger("topics"))
        // A processor named `release`: the catalog's millwright.{group}.release.changelog.v1.
        let definition = ProcessorDefinition(name: "release", inputTopics: ["orders-in"]) { _ in RoutingProcessor() }
        let changelog = "millwright.\(configuration.group).release.changelog.v1"
        let worker = try StreamWorker(definition: definition, configuration: configuration, logger: TestKafka.logger("w"))
        #expect(worker.changelogTopic == changelog)
        try worker.start()
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while worker.statistics.assignedPartitions.count < 12 && worker.failure == nil && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        let admin = try KafkaAdminClient(configuration: KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers), logger: TestKafka.logger("a"))
        let partitions = try await admin.listTopics().first { $0.name == changelog }?.partitions.count
        await worker.stop()
        #expect(worker.failure == nil)
        #expect(partitions == 12, "created before the first restore with the catalog's partitions, not the cluster's 4")
        #expect(worker.statistics.assignedPartitions.isEmpty && worker.statistics.restoredRecords == 0)

        // The same on a cluster that does not answer CreateTopics, for a group whose changelog is missing.
        var other = configuration
        other.group = TestKafka.uniqueName("missing")
        other.topicPreparer = CatalogTopicPreparer(catalog: catalog, creation: Unanswered(), logger: TestKafka.logger("topics"))
        let refused = try StreamWorker(definition: definition, configuration: other, logger: TestKafka.logger("w2"))
        try refused.start()
        await refused.waitUntilFinished()
        let failure = try #require(refused.failure)
        #expect(failure.description.contains("changelog topic millwright.\(other.group).release.changelog.v1 does not exist"), "\(failure)")
        #expect(failure.description.contains("millwright topics apply --group \(other.group)"), "\(failure)")
        #expect(failure.description.contains("millwright cluster --group \(other.group)"), "\(failure)")
    }
}
