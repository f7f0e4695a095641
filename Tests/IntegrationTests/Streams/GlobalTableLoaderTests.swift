import Foundation
import Kafka
import Logging
import Synchronization
import TestSupport
import Testing

@testable import Streams

@Suite("Global table loader on the in-process cluster")
struct GlobalTableLoaderTests {
    static func configuration(_ cluster: InProcessKafkaCluster) -> GlobalTableConfiguration {
        var configuration = GlobalTableConfiguration(bootstrapServers: cluster.bootstrapServers)
        configuration.pollTimeout = .milliseconds(50)
        configuration.startTimeout = .seconds(10)
        return configuration
    }

    /// Sends `count` records `key-<i>` → `value-<i>` (plus `suffix`) round-robin over `partitions`.
    static func produce(
        _ cluster: InProcessKafkaCluster, _ topic: String, count: Int, partitions: Int32 = 3, from first: Int = 0, suffix: String = ""
    ) async throws {
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger("p"))
        _ = try await producer.send(
            batch: (first..<first + count).map { i in
                KafkaProducerMessage(topic: topic, partition: Int32(i) % partitions, key: "key-\(i)", value: "value-\(i)\(suffix)")
            })
        await producer.close()
    }

    /// Polls `condition` every 10 ms until it holds or `timeout` passes.
    static func eventually(_ timeout: Duration = .seconds(60), _ condition: () -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }

    @Test("reads every partition from the beginning, including an empty topic, and reports caught up with the positions stored")
    func loadsEverythingAndCatchesUp() async throws {
        let cluster = try TestKafka.cluster()
        let full = TestKafka.uniqueName("full")
        let empty = TestKafka.uniqueName("empty")
        try cluster.createTopic(full, partitions: 3)
        try cluster.createTopic(empty, partitions: 2)
        try await Self.produce(cluster, full, count: 90)
        let sink = GlobalTableTestSink()
        let loader = try GlobalTableLoader(configuration: Self.configuration(cluster), topics: [full, empty], sink: sink, logger: TestKafka.logger("gt"))
        #expect(!loader.isCaughtUp, "not caught up before start")
        #expect(loader.lagDescription == "not started")
        try await loader.start()
        try await loader.waitUntilCaughtUp(timeout: .seconds(15))
        #expect(loader.isCaughtUp)
        let state = sink.snapshot
        #expect(state.appliedRecords == 90)
        #expect(loader.appliedRecordCount == 90)
        for p in Int32(0)..<3 {
            let partition = TopicPartition(topic: full, partition: p)
            #expect(state.offsets[partition] == Array(0..<30), "\(partition) read once, in order")
            #expect(state.positions[partition] == 30, "position = next offset to read")
        }
        #expect(state.rows["\(full)/key-42"] == "value-42")
        #expect(state.positions.keys.allSatisfy { $0.topic == full }, "nothing read from the empty topic, yet caught up")
        await loader.stop()
        #expect(!loader.isCaughtUp, "a stopped loader no longer says caught up")
        await loader.stop()
    }

    @Test("not caught up while the sink holds the first batch; caught up once it is released; later records keep coming")
    func caughtUpOnlyAfterApply() async throws {
        let cluster = try TestKafka.cluster()
        let topic = TestKafka.uniqueName("held")
        try cluster.createTopic(topic, partitions: 3)
        try await Self.produce(cluster, topic, count: 30)
        let sink = GlobalTableTestSink()
        sink.hold()
        let loader = try GlobalTableLoader(configuration: Self.configuration(cluster), topics: [topic], sink: sink, logger: TestKafka.logger("gt"))
        try await loader.start()
        #expect(try await Self.eventually { sink.waiting.load(ordering: .acquiring) }, "the loader reached the sink")
        #expect(!loader.isCaughtUp)
        let timeout = await #expect(throws: GlobalTableError.self) { try await loader.waitUntilCaughtUp(timeout: .milliseconds(200)) }
        #expect(timeout?.code == .timedOut)
        #expect(timeout?.reason.contains("\(topic)[0] at start of 10") == true, "the timeout names what is behind: \(timeout?.reason ?? "")")
        sink.release()
        try await loader.waitUntilCaughtUp(timeout: .seconds(10))
        #expect(sink.snapshot.appliedRecords == 30)

        try await Self.produce(cluster, topic, count: 6, from: 30)
        #expect(try await Self.eventually { sink.snapshot.appliedRecords == 36 }, "records after catch-up are applied")
        #expect(loader.isCaughtUp)
        #expect(sink.snapshot.rows["\(topic)/key-35"] == "value-35")
        await loader.stop()
    }

    @Test("a restart reads from the stored positions: only what came after")
    func restartReadsOnlyTheDelta() async throws {
        let cluster = try TestKafka.cluster()
        let topic = TestKafka.uniqueName("delta")
        try cluster.createTopic(topic, partitions: 3)
        try await Self.produce(cluster, topic, count: 60)
        let sink = GlobalTableTestSink()
        let first = try GlobalTableLoader(configuration: Self.configuration(cluster), topics: [topic], sink: sink, logger: TestKafka.logger("gt"))
        try await first.start()
        try await first.waitUntilCaughtUp(timeout: .seconds(15))
        await first.stop()
        #expect(sink.snapshot.appliedRecords == 60)

        try await Self.produce(cluster, topic, count: 9, from: 60, suffix: "-new")
        let restarted = GlobalTableTestSink(GlobalTableTestSink.State(rows: sink.snapshot.rows, positions: sink.snapshot.positions))
        let second = try GlobalTableLoader(configuration: Self.configuration(cluster), topics: [topic], sink: restarted, logger: TestKafka.logger("gt"))
        try await second.start()
        try await second.waitUntilCaughtUp(timeout: .seconds(15))
        #expect(restarted.snapshot.appliedRecords == 9, "only the 9 new records are read again")
        #expect(restarted.snapshot.offsets.values.allSatisfy { $0.allSatisfy { $0 >= 20 } })
        #expect(restarted.snapshot.rows["\(topic)/key-65"] == "value-65-new")
        await second.stop()
    }

    @Test("a failing sink stops the loader, the error names the batch, positions stay; a new loader reads the batch again")
    func sinkFailureStopsAndIsSurfaced() async throws {
        let cluster = try TestKafka.cluster()
        let topic = TestKafka.uniqueName("fail")
        try cluster.createTopic(topic, partitions: 1)
        try await Self.produce(cluster, topic, count: 5, partitions: 1)
        let sink = GlobalTableTestSink()
        let loader = try GlobalTableLoader(configuration: Self.configuration(cluster), topics: [topic], sink: sink, logger: TestKafka.logger("gt"))
        try await loader.start()
        try await loader.waitUntilCaughtUp(timeout: .seconds(15))

        sink.failOn(value: "value-6")
        try await Self.produce(cluster, topic, count: 3, partitions: 1, from: 5)
        let failure = await #expect(throws: GlobalTableError.self) { try await loader.waitUntilFinished() }
        #expect(failure?.code == .sink)
        #expect(failure?.underlying is GlobalTableTestSink.InjectedFailure)
        #expect(failure?.reason.contains("\(topic)[0]@5") == true, "names the records: \(failure?.reason ?? "")")
        #expect(loader.failure?.code == .sink)
        #expect(!loader.isCaughtUp)
        let afterFailure = await #expect(throws: GlobalTableError.self) { try await loader.waitUntilCaughtUp(timeout: .seconds(1)) }
        #expect(afterFailure?.code == .sink)
        let state = sink.snapshot
        #expect(state.positions[TopicPartition(topic: topic, partition: 0)] == 5, "the failed batch moved nothing")
        #expect(state.appliedRecords == 5)
        await loader.stop()

        sink.failOn(value: nil)
        let again = try GlobalTableLoader(configuration: Self.configuration(cluster), topics: [topic], sink: sink, logger: TestKafka.logger("gt"))
        try await again.start()
        try await again.waitUntilCaughtUp(timeout: .seconds(15))
        #expect(sink.snapshot.appliedRecords == 8)
        #expect(sink.snapshot.offsets[TopicPartition(topic: topic, partition: 0)] == Array(0..<8))
        await again.stop()
    }

    @Test(
        "the sink's outbox: each dead letter it stores is produced once and marked delivered; one the producer refuses stays pending and is tried again, logged, without stopping the loader; a restart sends only what was not delivered"
    )
    func outboxIsProducedOnce() async throws {
        let cluster = try TestKafka.cluster()
        let topic = TestKafka.uniqueName("outbox")
        try cluster.createTopic(topic, partitions: 3)
        try cluster.createTopic(DeadLetter.topic, partitions: 3)
        try await Self.produce(cluster, topic, count: 30)
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger("p"))
        _ = try await producer.send(
            batch: ["poison-1", "poison-2", "poison-huge", "poison-3"].enumerated().map { i, value in
                KafkaProducerMessage(
                    topic: topic, partition: Int32(i % 3), key: "bad-\(i)", value: value, headers: [KafkaHeader(key: "trace", value: "t-\(i)")])
            })
        await producer.close()
        let logs = RecordingLogHandler.Store()
        let logger = Logger(label: "gt") { _ in RecordingLogHandler(store: logs) }
        var configuration = Self.configuration(cluster)
        configuration.retryBackoff = .milliseconds(100)
        let sink = GlobalTableTestSink()
        let loader = try GlobalTableLoader(configuration: configuration, topics: [topic], sink: sink, logger: logger)
        try await loader.start()
        try await loader.waitUntilCaughtUp(timeout: .seconds(15))
        #expect(try await Self.eventually { sink.snapshot.delivered.count == 3 }, "the three that fit are delivered: \(sink.snapshot.delivered)")
        func refusals() -> Int { logs.all.filter { $0.level == .warning && $0.message.contains("not delivered") }.count }
        #expect(try await Self.eventually { refusals() >= 2 }, "the refused one is tried again after a backoff, each failure logged")
        #expect(sink.snapshot.pending.count == 1, "the refused one stays pending")
        #expect(sink.snapshot.pending.values.first?.headers.last { $0.key == DeadLetter.HeaderName.originalOffset } != nil)
        #expect(loader.failure == nil && loader.isCaughtUp, "a delivery failure does not stop the loader")
        try await Self.produce(cluster, topic, count: 3, from: 30)
        #expect(try await Self.eventually { sink.snapshot.appliedRecords == 37 }, "records keep being applied meanwhile")
        let delivered = logs.all.filter { $0.message == "input dead-lettered" }
        #expect(delivered.count == 3, "each delivered dead letter is logged once, by its tally's message")
        #expect(delivered.allSatisfy { $0.metadata["topic"] == "\(topic)" && $0.metadata["reason"] == "MALFORMED_JSON" })
        await loader.stop()

        let dlq = (0..<3).map { KafkaTopicPartition(topic: DeadLetter.topic, partition: $0) }
        let letters = try await TestKafka.readToEnd(cluster, partitions: dlq)
        #expect(letters.compactMap(\.valueString).sorted() == ["poison-1", "poison-2", "poison-3"], "each once, the original bytes")
        #expect(letters.allSatisfy { $0.headers.last(DeadLetter.HeaderName.originalTopic)?.stringValue == topic })
        #expect(letters.allSatisfy { $0.headers.last("trace")?.stringValue?.hasPrefix("t-") == true }, "original headers kept")

        // A new loader on the same state sends what is still pending, nothing delivered again.
        let restarted = GlobalTableTestSink(sink.snapshot)
        let second = try GlobalTableLoader(configuration: configuration, topics: [topic], sink: restarted, logger: TestKafka.logger("gt"))
        try await second.start()
        try await second.waitUntilCaughtUp(timeout: .seconds(15))
        #expect(try await Self.eventually { restarted.snapshot.outboxLooks >= 2 }, "the outbox is looked at after the restart")
        await second.stop()
        #expect(restarted.snapshot.delivered == sink.snapshot.delivered, "no delivery repeated")
        #expect(try await TestKafka.readToEnd(cluster, partitions: dlq).count == 3, "nothing dead-lettered twice")
    }

    @Test("a partition that appears later is assigned and read, without reading the others again")
    func partitionAddedLater() async throws {
        let cluster = try TestKafka.cluster()
        let topic = TestKafka.uniqueName("grow")
        try cluster.createTopic(topic, partitions: 3)
        try await Self.produce(cluster, topic, count: 30)
        let admin = try KafkaAdminClient(configuration: KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers), logger: TestKafka.logger("a"))
        // The cluster cannot add partitions (mock), so discovery hides partition 2 at first.
        let visible = Atomic<Int32>(2)
        var configuration = Self.configuration(cluster)
        configuration.partitionRefreshInterval = .milliseconds(200)
        let sink = GlobalTableTestSink()
        let loader = try GlobalTableLoader(configuration: configuration, topics: [topic], sink: sink, logger: TestKafka.logger("gt")) {
            timeout throws(KafkaError) in
            try await admin.listTopics(timeout: timeout).map { metadata in
                var metadata = metadata
                metadata.partitions = metadata.partitions.filter { $0.id < visible.load(ordering: .acquiring) }
                return metadata
            }
        }
        try await loader.start()
        try await loader.waitUntilCaughtUp(timeout: .seconds(15))
        #expect(sink.snapshot.appliedRecords == 20, "two partitions at start")
        visible.store(3, ordering: .releasing)
        #expect(try await Self.eventually { sink.snapshot.appliedRecords == 30 }, "the third partition is read once found")
        let offsets = sink.snapshot.offsets
        #expect(offsets[TopicPartition(topic: topic, partition: 0)] == Array(0..<10), "partition 0 not read twice")
        #expect(offsets[TopicPartition(topic: topic, partition: 2)] == Array(0..<10))
        try await Self.produce(cluster, topic, count: 3, from: 30)
        #expect(try await Self.eventually { sink.snapshot.appliedRecords == 33 }, "all three keep being read")
        await loader.stop()
    }

    @Test("a topic that does not exist fails start naming it")
    func unknownTopicFailsStart() async throws {
        let cluster = try TestKafka.cluster(brokers: 1)
        let present = TestKafka.uniqueName("present")
        let missing = TestKafka.uniqueName("missing")
        try cluster.createTopic(present, partitions: 1)
        var configuration = Self.configuration(cluster)
        configuration.startTimeout = .milliseconds(600)
        let loader = try GlobalTableLoader(
            configuration: configuration, topics: [present, missing], sink: GlobalTableTestSink(), logger: TestKafka.logger("gt"))
        let error = await #expect(throws: GlobalTableError.self) { try await loader.start() }
        #expect(error?.code == .unknownTopic)
        #expect(error?.reason.contains(missing) == true)
        #expect(error?.reason.contains(present) == false)
        #expect(loader.failure?.code == .unknownTopic)
        let second = await #expect(throws: GlobalTableError.self) { try await loader.start() }
        #expect(second?.code == .invalidState)
        await loader.stop()
    }

    @Test("stop before start ends waits with stopped; settings are checked when the loader is created")
    func stopBeforeStartAndValidation() async throws {
        let cluster = try TestKafka.cluster(brokers: 1)
        let loader = try GlobalTableLoader(
            configuration: Self.configuration(cluster), topics: ["t"], sink: GlobalTableTestSink(), logger: TestKafka.logger("gt"))
        let wait = Task { try await loader.waitUntilCaughtUp(timeout: .seconds(10)) }
        try await Task.sleep(for: .milliseconds(50))
        await loader.stop()
        let stopped = await #expect(throws: GlobalTableError.self) { try await wait.value }
        #expect(stopped?.code == .stopped)
        let restart = await #expect(throws: GlobalTableError.self) { try await loader.start() }
        #expect(restart?.code == .invalidState)

        var bad = Self.configuration(cluster)
        bad.maxBatchSize = 0
        let batch = #expect(throws: GlobalTableError.self) {
            try GlobalTableLoader(configuration: bad, topics: ["t"], sink: GlobalTableTestSink(), logger: TestKafka.logger("gt"))
        }
        #expect(batch?.code == .configuration)
        #expect(batch?.reason.contains("maxBatchSize") == true)
        let duplicate = #expect(throws: GlobalTableError.self) {
            try GlobalTableLoader(configuration: Self.configuration(cluster), topics: ["t", "t"], sink: GlobalTableTestSink(), logger: TestKafka.logger("gt"))
        }
        #expect(duplicate?.reason.contains("twice") == true)
        var unknownProperty = Self.configuration(cluster)
        unknownProperty.client.additionalProperties["no.such.property"] = "1"
        let property = #expect(throws: GlobalTableError.self) {
            try GlobalTableLoader(configuration: unknownProperty, topics: ["t"], sink: GlobalTableTestSink(), logger: TestKafka.logger("gt"))
        }
        #expect(property?.code == .configuration)
        #expect("\(property.map { "\($0)" } ?? "")".contains("no.such.property"))
    }

    @Test("a cancelled wait ends with cancelled and leaves the loader running; a cancelled stop still waits")
    func cancelledWait() async throws {
        let cluster = try TestKafka.cluster(brokers: 1)
        let topic = TestKafka.uniqueName("cancel")
        try cluster.createTopic(topic, partitions: 1, replicationFactor: 1)
        try await Self.produce(cluster, topic, count: 3, partitions: 1)
        let sink = GlobalTableTestSink()
        sink.hold()
        let loader = try GlobalTableLoader(configuration: Self.configuration(cluster), topics: [topic], sink: sink, logger: TestKafka.logger("gt"))
        try await loader.start()
        let waiting = Task { try await loader.waitUntilCaughtUp(timeout: .seconds(30)) }
        try await Task.sleep(for: .milliseconds(100))
        waiting.cancel()
        let cancelled = await #expect(throws: GlobalTableError.self) { try await waiting.value }
        #expect(cancelled?.code == .cancelled)
        #expect(!loader.isCaughtUp)
        sink.release()
        try await loader.waitUntilCaughtUp(timeout: .seconds(10))

        // A stop from a cancelled task (a service shutting down) still waits for the thread.
        let stopping = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            await loader.stop()
            return loader.lagDescription
        }
        #expect(await stopping.value == "stopped", "stop returned only once the loader had finished")
        try await loader.waitUntilFinished()
    }
}
