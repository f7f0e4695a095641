import Foundation
import Kafka
import Manufacturing
import Ops
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
        let findings = try await provisioner.plan(catalog, plants: ["P200"])
        let quarantinePartitions = try #require(catalog.topics.first { $0.name == Topics.quarantine }).partitions
        #expect(findings.contains(.exists(name: Topics.orderApproved, partitions: 12, catalogPartitions: nil)))
        #expect(findings.contains(.exists(name: Topics.quarantine, partitions: 5, catalogPartitions: quarantinePartitions)))
        let missing = findings.compactMap { if case .missing(let topic) = $0 { topic } else { nil } }
        #expect(missing.contains { $0.name == "mes.P200.production-release.v1" })
        #expect(missing.count == catalog.fixedTopics.count - 2 + 1)
        #expect(missing.allSatisfy { $0.replicationFactor == 1 }, "one broker: replication 1")
        let (listed, lacking) = try await provisioner.inventory(catalog, all: false)
        #expect(Set(listed.map(\.name)) == [Topics.orderApproved, Topics.quarantine] && listed.allSatisfy(\.inCatalog))
        #expect(lacking.count == catalog.fixedTopics.count - 2)
        #expect(TopicProvisioner.matches("mes.P100.production-release.v1", template: "mes.{plant}.production-release.v1"))
        #expect(!TopicProvisioner.matches("mes..production-release.v1", template: "mes.{plant}.production-release.v1"))
        withExtendedLifetime(cluster) {}
    }
}
