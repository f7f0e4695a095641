import Foundation
import Kafka
import Manufacturing
import Ops
import Streams
import TestSupport
import Testing

@Suite("Topics of the catalog against a cluster: what exists, what differs, what is missing")
struct TopicProvisionerTests {
    static let catalog = Repository.topics

    @Test(
        "a topic with the catalog's partitions exists, one with others is reported, the rest (and a plant's release topic) are to be created, replication capped to the brokers"
    )
    func plan() async throws {
        let cluster = try TestKafka.cluster(brokers: 1)
        try cluster.createTopic(Topics.orderApproved, partitions: 12)
        try cluster.createTopic(Topics.quarantine, partitions: 5)
        let catalog = try TopicCatalog.load(from: Self.catalog)
        let provisioner = TopicProvisioner(client: KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers), logger: TestKafka.logger("topics"))
        let findings = try await provisioner.plan(catalog, groups: ["plant-a"], plants: ["P200"])
        let quarantinePartitions = try #require(catalog.topics.first { $0.name == Topics.quarantine }).partitions
        #expect(findings.contains(.exists(name: Topics.orderApproved, partitions: 12, catalogPartitions: nil)))
        #expect(findings.contains(.exists(name: Topics.quarantine, partitions: 5, catalogPartitions: quarantinePartitions)))
        let missing = findings.compactMap { if case .missing(let topic) = $0 { topic } else { nil } }
        #expect(missing.contains { $0.name == "mes.P200.production-release.v1" })
        #expect(missing.count == catalog.fixedTopics.count - 2 + 3 + 1, "the fixed topics not there, the group's three, the plant's release topic")
        #expect(missing.allSatisfy { $0.replicationFactor == 1 }, "one broker: replication 1")
        let changelogs = missing.filter { $0.name.hasSuffix(".changelog.v1") }
        #expect(
            Set(changelogs.map(\.name)) == ["millwright.plant-a.release.changelog.v1", "millwright.plant-a.confirmation.changelog.v1"],
            "the group's own changelogs, by the catalog's {group} templates")
        #expect(changelogs.allSatisfy { $0.partitions == 12 && $0.config["cleanup.policy"] == "compact" })
        #expect(missing.contains { $0.name == "millwright.plant-a.confirmation.repartition.v1" && $0.partitions == 12 }, "and its repartition topic")
        let (listed, lacking) = try await provisioner.inventory(catalog, groups: ["plant-a"], all: false)
        #expect(Set(listed.map(\.name)) == [Topics.orderApproved, Topics.quarantine] && listed.allSatisfy(\.inCatalog))
        #expect(lacking.count == catalog.fixedTopics.count - 2 + 3)
        #expect(lacking.contains("millwright.plant-a.release.changelog.v1"))
        #expect(TopicProvisioner.matches("mes.P100.production-release.v1", template: "mes.{plant}.production-release.v1"))
        #expect(!TopicProvisioner.matches("mes..production-release.v1", template: "mes.{plant}.production-release.v1"))
        #expect(TopicProvisioner.matches("millwright.g1.release.changelog.v1", template: TopicCatalog.releaseChangelog))
        #expect(!TopicProvisioner.matches("millwright.release.changelog.v1", template: TopicCatalog.releaseChangelog))

        // Another group on the same cluster: only its changelogs are missing once the first group's exist.
        try cluster.createTopic("millwright.plant-a.release.changelog.v1", partitions: 12)
        try cluster.createTopic("millwright.plant-a.confirmation.changelog.v1", partitions: 12)
        let second = try await provisioner.plan(catalog, groups: ["plant-a", "plant-b"])
        let toCreate = second.compactMap { if case .missing(let topic) = $0 { topic.name } else { nil } }.filter { $0.hasSuffix(".changelog.v1") }
        #expect(Set(toCreate) == ["millwright.plant-b.release.changelog.v1", "millwright.plant-b.confirmation.changelog.v1"])
        let (relisted, _) = try await provisioner.inventory(catalog, all: false)
        #expect(relisted.first { $0.name == "millwright.plant-a.release.changelog.v1" }?.inCatalog == true, "a group's changelog is a catalog topic")
        withExtendedLifetime(cluster) {}
    }

    @Test("the plants of master data are read from mdm.plant.v1 to its end: the last record per plant, tombstoned and undecodable ones left out")
    func plantsInMasterData() async throws {
        let cluster = try TestKafka.cluster(brokers: 1)
        let client = KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers)
        let provisioner = TopicProvisioner(client: client, logger: TestKafka.logger("topics"))
        #expect(try await provisioner.plantsInMasterData().isEmpty, "no master-data topic yet: no plants")
        try cluster.createTopic(MasterDataTopic.plant, partitions: 3)
        let records = PlantSimulation(settings: .init(start: 0)).masterData().filter { $0.topic == MasterDataTopic.plant }
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger("p"))
        var messages = records.map(KafkaProducerMessage.init)
        messages.append(KafkaProducerMessage(topic: MasterDataTopic.plant, key: "P777", value: "{not json"))
        messages.append(KafkaProducerMessage(topic: MasterDataTopic.plant, key: Array("P300".utf8), value: [UInt8]?.none))
        _ = try await producer.send(batch: messages)
        await producer.close()
        #expect(try await provisioner.plantsInMasterData() == ["P100", "P200"], "P300 deleted by its tombstone, P777 unreadable")
        let findings = try await provisioner.plan(try TopicCatalog.embedded(), plants: ["P100", "P200"])
        let missing = findings.compactMap { if case .missing(let topic) = $0 { topic.name } else { nil } }
        #expect(missing.contains("mes.P200.production-release.v1") && missing.contains("mes.P100.production-release.v1"))
    }
}
