import Foundation
import Kafka
import Logging
import Manufacturing
import Streams
import Synchronization

/// How a topic is created on a cluster: the admin API (``AdminTopicCreation``, real clusters) or
/// the in-process cluster's own call (``InProcessTopicCreation``, the embedded default).
public protocol TopicCreation: Sendable {
    /// Creates `topic` unless it exists. Blocking. Throws with what to do when it cannot.
    func createIfMissing(_ topic: KafkaNewTopic) throws(KafkaError) -> TopicCreationOutcome
}

public enum TopicCreationOutcome: Sendable, Hashable {
    case existed
    case created
    /// The cluster did not answer CreateTopics (librdkafka's in-process cluster never does when
    /// reached from another process): left to its auto-creation.
    case unanswered
}

/// The worker's ``OutputTopicPreparer``: an output topic the catalog knows (a plant's release
/// topic from the `mes.{plant}.production-release.v1` template, or a fixed catalog topic) is
/// created with the catalog's partitions, configs and replication (capped to the brokers) before
/// the first record goes to it; other names are left alone. A processor's changelog (the group's
/// instance of `millwright.{group}.<processor>.changelog.v1`) is made sure of the same way when
/// the worker starts, except that a cluster that does not answer CreateTopics is an error there:
/// auto-created on first use, it would have the wrong partition count and no compaction. Each
/// topic is settled once per process.
public final class CatalogTopicPreparer: OutputTopicPreparer {
    private let catalog: TopicCatalog
    private let creation: any TopicCreation
    private let logger: Logger
    private let settled = Mutex<Set<String>>([])

    public init(catalog: TopicCatalog, creation: any TopicCreation, logger: Logger) {
        self.catalog = catalog
        self.creation = creation
        self.logger = logger
    }

    /// The catalog's settings for `topic`, if the catalog knows it (a fixed topic, or an instance
    /// of a template: a plant's release topic, a group's changelog).
    func spec(for topic: String) -> KafkaNewTopic? {
        guard let spec = catalog.spec(forConcrete: topic) else { return nil }
        return KafkaNewTopic(name: topic, partitions: spec.partitions, replicationFactor: spec.replicationFactor, config: spec.config)
    }

    public func prepare(_ topic: String) throws(KafkaError) {
        if settled.withLock({ $0.contains(topic) }) { return }
        guard let spec = spec(for: topic) else {
            settled.withLock { _ = $0.insert(topic) }
            return
        }
        let outcome = try creation.createIfMissing(spec)
        switch outcome {
        case .created:
            logger.notice(
                "created output topic", metadata: ["topic": "\(topic)", "partitions": "\(spec.partitions)", "config": "\(spec.config)"])
        case .unanswered:
            logger.warning(
                "the cluster did not answer CreateTopics; the topic is left to its auto-creation (librdkafka's in-process cluster: 4 partitions)",
                metadata: ["topic": "\(topic)"])
        case .existed:
            break
        }
        settled.withLock { _ = $0.insert(topic) }
    }

    public func prepareChangelog(_ topic: String) throws(KafkaError) {
        if settled.withLock({ $0.contains(topic) }) { return }
        guard let spec = spec(for: topic) else {
            logger.warning("the topic catalog has no template for this changelog; it must exist already", metadata: ["topic": "\(topic)"])
            settled.withLock { _ = $0.insert(topic) }
            return
        }
        switch try creation.createIfMissing(spec) {
        case .created:
            logger.notice(
                "created changelog topic", metadata: ["topic": "\(topic)", "partitions": "\(spec.partitions)", "config": "\(spec.config)"])
        case .unanswered:
            let group = catalog.groupTemplates.lazy.compactMap { $0.value(in: topic) }.first ?? "<group>"
            throw KafkaError(
                code: .unknownTopicOrPartition,
                reason:
                    "changelog topic \(topic) does not exist and the cluster did not answer CreateTopics (librdkafka's in-process cluster does not): create it before the worker starts — `millwright topics apply --group \(group)` on a real cluster, `millwright cluster --group \(group)` for the in-process one — with \(spec.partitions) partitions and \(spec.config)"
            )
        case .existed:
            break
        }
        settled.withLock { _ = $0.insert(topic) }
    }
}

/// Creates topics with Kafka's admin API (CreateTopics): replication capped to the brokers.
public struct AdminTopicCreation: TopicCreation {
    public var client: KafkaClientConfiguration
    public var logger: Logger
    public var timeout: Duration

    public init(client: KafkaClientConfiguration, logger: Logger, timeout: Duration = .seconds(15)) {
        self.client = client
        self.logger = logger
        self.timeout = timeout
    }

    public func createIfMissing(_ topic: KafkaNewTopic) throws(KafkaError) -> TopicCreationOutcome {
        let (client, logger, timeout) = (client, logger, timeout)
        return try blocking { () async throws(KafkaError) -> TopicCreationOutcome in
            let admin = try KafkaAdminClient(configuration: client, logger: logger)
            if try await admin.listTopics(timeout: timeout).contains(where: { $0.name == topic.name }) { return .existed }
            var capped = topic
            capped.replicationFactor = min(topic.replicationFactor, max(try await admin.brokerCount(timeout: timeout), 1))
            let results: [KafkaTopicResult]
            do throws(KafkaError) {
                results = try await admin.createTopics([capped], timeout: timeout)
            } catch {
                if error.code == .timedOut { return .unanswered }
                throw error
            }
            guard let failure = results.first(where: { $0.name == topic.name })?.error, failure.code != .topicAlreadyExists else { return .created }
            throw KafkaError(
                code: failure.code,
                reason:
                    "cannot create \(topic.name) (\(failure.reason)): create it with `millwright topics apply --bootstrap-servers … --group <group> --plants <plant>` (or by hand: \(capped.partitions) partitions, \(capped.config)) and start the worker again",
                isRetriable: failure.isRetriable)
        }
    }

    /// Runs `body` on a task and waits for it: for the committer thread, which is not part of
    /// Swift's cooperative pool.
    private func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws(KafkaError) -> T) throws(KafkaError) -> T {
        let result = Mutex<Result<T, KafkaError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            let outcome: Result<T, KafkaError>
            do throws(KafkaError) { outcome = .success(try await body()) } catch { outcome = .failure(error) }
            result.withLock { $0 = outcome }
            done.signal()
        }
        done.wait()
        return try result.withLock { $0! }.get()
    }
}

/// Creates topics with the in-process cluster's own call (it does not answer CreateTopics).
public struct InProcessTopicCreation: TopicCreation {
    public let cluster: InProcessKafkaCluster

    public init(cluster: InProcessKafkaCluster) { self.cluster = cluster }

    /// The mock's call is a no-op for a topic that exists with the same partition count; it
    /// refuses one that exists with another (auto-created on first use): that one is kept as is.
    public func createIfMissing(_ topic: KafkaNewTopic) throws(KafkaError) -> TopicCreationOutcome {
        do {
            try cluster.createTopic(topic.name, partitions: topic.partitions, replicationFactor: topic.replicationFactor)
            return .created
        } catch {
            return .existed
        }
    }
}
