import Kafka
import Logging
import Manufacturing
import Ops
import Synchronization
import Testing

/// Records what it was asked to create; fails or times out on request.
private final class RecordingCreation: TopicCreation {
    let asked = Mutex<[KafkaNewTopic]>([])
    let answer: @Sendable (KafkaNewTopic) throws(KafkaError) -> TopicCreationOutcome

    init(_ answer: @escaping @Sendable (KafkaNewTopic) throws(KafkaError) -> TopicCreationOutcome = { _ in .created }) {
        self.answer = answer
    }

    func createIfMissing(_ topic: KafkaNewTopic) throws(KafkaError) -> TopicCreationOutcome {
        asked.withLock { $0.append(topic) }
        return try answer(topic)
    }
}

@Suite("Output topics a worker creates before the first record: a new plant's release topic with the catalog's settings")
struct CatalogTopicPreparerTests {
    static let logger = Logger(label: "test")

    @Test("a new plant's release topic is created with the template's partitions and configs, once per process; a name the catalog does not know is left alone")
    func releaseTopic() throws {
        let creation = RecordingCreation()
        let preparer = CatalogTopicPreparer(catalog: try TopicCatalog.embedded(), creation: creation, logger: Self.logger)
        try preparer.prepare("mes.P900.production-release.v1")
        try preparer.prepare("mes.P900.production-release.v1")
        try preparer.prepare("something.else.v1")
        try preparer.prepare("something.else.v1")
        let asked = creation.asked.withLock { $0 }
        #expect(asked.map(\.name) == ["mes.P900.production-release.v1"], "once, and not for unknown names")
        #expect(asked.first?.partitions == 12 && asked.first?.config["retention.ms"] == "604800000")
        #expect(asked.first?.replicationFactor == 3, "the catalog's; the admin path caps it to the brokers")
    }

    @Test("a fixed catalog topic gets its own settings; the template does not match names that only look alike")
    func fixedAndNonMatching() throws {
        let creation = RecordingCreation()
        let preparer = CatalogTopicPreparer(catalog: try TopicCatalog.embedded(), creation: creation, logger: Self.logger)
        try preparer.prepare("ops.quarantine.v1")
        try preparer.prepare("mes..production-release.v1")
        try preparer.prepare("mes.P100.production-release.v2")
        #expect(creation.asked.withLock { $0.map(\.name) } == ["ops.quarantine.v1"])
    }

    @Test(
        "a topic that cannot be created fails with the creation's error and is asked again next time; an unanswered CreateTopics is settled (left to auto-creation)"
    )
    func failures() throws {
        let failing = RecordingCreation { topic throws(KafkaError) in
            throw KafkaError(code: .librdkafka(29), reason: "cannot create \(topic.name): create it with `millwright topics apply`")
        }
        let preparer = CatalogTopicPreparer(catalog: try TopicCatalog.embedded(), creation: failing, logger: Self.logger)
        let error = #expect(throws: KafkaError.self) { try preparer.prepare("mes.P901.production-release.v1") }
        #expect(error?.code == .librdkafka(29) && error?.reason.contains("topics apply") == true)
        _ = try? preparer.prepare("mes.P901.production-release.v1")
        #expect(failing.asked.withLock { $0.count } == 2, "not settled after a failure")

        let silent = RecordingCreation { _ in .unanswered }
        let quiet = CatalogTopicPreparer(catalog: try TopicCatalog.embedded(), creation: silent, logger: Self.logger)
        try quiet.prepare("mes.P902.production-release.v1")
        try quiet.prepare("mes.P902.production-release.v1")
        #expect(silent.asked.withLock { $0.count } == 1)
    }

    @Test(
        "a group's changelog is created from the catalog's {group} template (12 partitions, compacted), once; an unanswered CreateTopics is an error naming the group's topics apply; a changelog the catalog does not know is left alone"
    )
    func changelogs() throws {
        let creation = RecordingCreation()
        let preparer = CatalogTopicPreparer(catalog: try TopicCatalog.embedded(), creation: creation, logger: Self.logger)
        try preparer.prepareChangelog("millwright.line-2.confirmation.changelog.v1")
        try preparer.prepareChangelog("millwright.line-2.confirmation.changelog.v1")
        try preparer.prepareChangelog("millwright.line-2.router.changelog.v1")
        let asked = creation.asked.withLock { $0 }
        #expect(asked.map(\.name) == ["millwright.line-2.confirmation.changelog.v1"])
        #expect(asked.first?.partitions == 12 && asked.first?.config["cleanup.policy"] == "compact")

        let silent = RecordingCreation { _ in .unanswered }
        let refusing = CatalogTopicPreparer(catalog: try TopicCatalog.embedded(), creation: silent, logger: Self.logger)
        let error = #expect(throws: KafkaError.self) { try refusing.prepareChangelog("millwright.blue.v2.release.changelog.v1") }
        #expect(error?.reason.contains("changelog topic millwright.blue.v2.release.changelog.v1 does not exist") == true)
        #expect(error?.reason.contains("`millwright topics apply --group blue.v2`") == true, "\(String(describing: error))")
        #expect(error?.reason.contains("`millwright cluster --group blue.v2`") == true)
        #expect(!(error?.isRetriable ?? true), "the worker stops")
        // As an output, the same topic would be left to auto-creation.
        try refusing.prepare("millwright.blue.v2.release.changelog.v1")
    }
}
