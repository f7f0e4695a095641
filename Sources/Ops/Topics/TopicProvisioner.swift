import Foundation
import Kafka
import Logging
import Manufacturing

/// `millwright topics`: the catalog's topics against what a cluster has — what exists, what
/// differs, what to create — and their creation (Kafka's CreateTopics). Existing topics are left
/// alone; replication is capped to the number of brokers.
public struct TopicProvisioner: Sendable {
    public var client: KafkaClientConfiguration
    public var logger: Logger
    public var timeout: Duration

    public init(client: KafkaClientConfiguration, logger: Logger, timeout: Duration = .seconds(30)) {
        self.client = client
        self.logger = logger
        self.timeout = timeout
    }

    /// One catalog topic on the cluster.
    public enum Finding: Sendable, Hashable {
        /// It exists; `catalogPartitions` is set when the catalog wants another partition count.
        case exists(name: String, partitions: Int, catalogPartitions: Int?)
        case missing(KafkaNewTopic)
    }

    /// What the cluster has of the catalog's topics: the fixed ones, the changelogs of each of
    /// `groups` (`millwright.<group>.release.changelog.v1`, …) and the release topics of `plants`.
    public func plan(_ catalog: TopicCatalog, groups: [String] = [], plants: [String] = []) async throws -> [Finding] {
        let admin = try KafkaAdminClient(configuration: client, logger: logger)
        let existing = try await admin.listTopics(timeout: timeout)
        let brokers = max(try await admin.brokerCount(timeout: timeout), 1)
        return catalog.concreteTopics(groups: groups, plants: plants).map { spec in
            if let found = existing.first(where: { $0.name == spec.name }) {
                let differs = found.partitions.count == spec.partitions ? nil : spec.partitions
                return .exists(name: spec.name, partitions: found.partitions.count, catalogPartitions: differs)
            }
            return .missing(
                KafkaNewTopic(name: spec.name, partitions: spec.partitions, replicationFactor: min(spec.replicationFactor, brokers), config: spec.config))
        }
    }

    /// Creates the topics; a topic that exists meanwhile counts as created. A cluster that does
    /// not answer CreateTopics (librdkafka's in-process cluster never does) is an error that says so.
    public func create(_ topics: [KafkaNewTopic]) async throws -> [KafkaTopicResult] {
        let admin = try KafkaAdminClient(configuration: client, logger: logger)
        do {
            return try await admin.createTopics(topics, timeout: timeout)
        } catch {
            guard error.code == .timedOut else { throw error }
            throw ToolError(
                "the cluster did not answer CreateTopics within \(timeout) (\(error.reason)). librdkafka's mock cluster never does: with `millwright cluster` the topics exist already."
            )
        }
    }

    /// The plant codes in master data (`mdm.plant.v1`, read to its end, the last record per plant;
    /// a plant deleted with a tombstone is left out), sorted: whose release topics `topics apply`
    /// creates. Empty when the topic does not exist yet.
    public func plantsInMasterData() async throws -> [String] {
        var plants: [String: Bool] = [:]
        for message in try await TopicReader(client: client, logger: logger).readAll([MasterDataTopic.plant], timeout: timeout) {
            guard let key = message.keyString else { continue }
            guard let value = message.value else {
                plants[key] = false
                continue
            }
            if case .success(let plant) = EventDecoder.decode(value, as: Plant.self) { plants[plant.data.plantCode] = true }
        }
        return plants.filter(\.value).keys.sorted()
    }

    /// One topic of the cluster, and whether the catalog knows it.
    public struct Listed: Sendable, Hashable {
        public var name: String
        public var partitions: Int
        public var inCatalog: Bool
    }

    /// The cluster's topics (internal ones only with `all`), and the catalog's topics it lacks:
    /// the fixed ones and those of `groups` (their changelogs).
    public func inventory(_ catalog: TopicCatalog?, groups: [String] = [], all: Bool) async throws -> (topics: [Listed], missing: [String]) {
        let admin = try KafkaAdminClient(configuration: client, logger: logger)
        let existing = try await admin.listTopics(timeout: timeout)
        let listed = existing.filter { all || !$0.name.hasPrefix("__") }.map { topic in
            Listed(name: topic.name, partitions: topic.partitions.count, inCatalog: catalog?.spec(forConcrete: topic.name) != nil)
        }
        let known = Set((catalog?.concreteTopics(groups: groups, plants: []) ?? []).map(\.name))
        return (listed, known.subtracting(existing.map(\.name)).sorted())
    }

    /// `mes.P100.production-release.v1` matches `mes.{plant}.production-release.v1`, and
    /// `millwright.g1.release.changelog.v1` matches `millwright.{group}.release.changelog.v1`.
    public static func matches(_ name: String, template: String) -> Bool {
        TopicSpec.Placeholder.allCases.contains { placeholder in
            let parts = template.components(separatedBy: placeholder.rawValue)
            return parts.count == 2 && name.hasPrefix(parts[0]) && name.hasSuffix(parts[1]) && name.count > parts[0].count + parts[1].count
        }
    }
}
