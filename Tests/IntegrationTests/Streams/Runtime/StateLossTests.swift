import Foundation
import Kafka
import Logging
import Streams
import TestSupport
import Testing

/// Counts records per key into the store and forwards `key=count`.
private final class Counter: StreamProcessor {
    func process(_ record: StreamRecord, context: any ProcessorContext) throws {
        let key = record.keyString ?? "-"
        let store = context.store("counts")
        let count = (store.get(key).flatMap { Int(String(decoding: $0, as: UTF8.self)) } ?? 0) + 1
        store.put(key, Array(String(count).utf8))
        context.forward(OutputRecord(topic: "out", key: key, value: Array("\(key)=\(count)".utf8)))
    }
}

@Suite("A task whose changelog lost history, on the in-process cluster")
struct StateLossTests {
    static let definition = ProcessorDefinition(name: "counter", inputTopics: ["in"]) { _ in Counter() }

    /// A cluster with `in`, `out` and the group's changelog (2 partitions each), and partition 0 of
    /// the changelog written past what the cluster keeps (~5 MB), so that its log start is past 0.
    static func truncated() async throws -> (InProcessKafkaCluster, StreamsConfiguration, KafkaWatermarks) {
        let cluster = try TestKafka.cluster(brokers: 1)
        var configuration = StreamsConfiguration(client: KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers))
        configuration.group = TestKafka.uniqueName("loss")
        configuration.stateDirectory = FileManager.default.temporaryDirectory.appendingPathComponent(TestKafka.uniqueName("state")).path
        configuration.sessionTimeout = .seconds(6)
        let changelog = definition.changelogTopic(group: configuration.group)
        for topic in ["in", "out", changelog] { try cluster.createTopic(topic, partitions: 2, replicationFactor: 1) }
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger("p"))
        let big = [UInt8](repeating: 0x30, count: 10_000)
        for chunk in 0..<8 {
            var batch: [KafkaProducerMessage] = []
            for n in chunk * 100..<(chunk + 1) * 100 {
                let header = [KafkaHeader(key: "mw-batch", value: "old:\(n)")]
                batch.append(KafkaProducerMessage(topic: changelog, partition: 0, key: Array("counts\u{1F}old-\(n)".utf8), value: big, headers: header))
                batch.append(
                    KafkaProducerMessage(topic: changelog, partition: 0, key: Array("\u{1F}commit".utf8), value: Array("old:\(n)".utf8), headers: header))
            }
            _ = try await producer.send(batch: batch)
        }
        _ = try await producer.send(batch: (0..<10).map { KafkaProducerMessage(topic: "in", partition: Int32($0 % 2), key: "k\($0)", value: "v") })
        await producer.close()
        let consumer = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(cluster, group: nil), logger: TestKafka.logger("c"))
        let watermarks = try await consumer.watermarks(KafkaTopicPartition(topic: changelog, partition: 0))
        try await consumer.close()
        return (cluster, configuration, watermarks)
    }

    @Test(
        "by default the worker does not start a task from incomplete state: it stops with an error naming the processor, the task and the gap, and its health lists the loss"
    )
    func stopsByDefault() async throws {
        let (cluster, configuration, watermarks) = try await Self.truncated()
        #expect(watermarks.low > 0, "8 MB written to partition 0: the cluster kept ~5 MB (\(watermarks))")
        let worker = try StreamWorker(definition: Self.definition, configuration: configuration, logger: TestKafka.logger("w"))
        try worker.start()
        await worker.waitUntilFinished()
        let failure = try #require(worker.failure)
        #expect(failure.code == .stateLoss)
        #expect(
            failure.reason.contains("processor counter, task 0: changelog \(worker.changelogTopic) partition 0 starts at offset \(watermarks.low)"),
            "\(failure)")
        #expect(failure.reason.contains("needs it from offset 0 (no local state): \(watermarks.low) offsets of history were deleted"))
        #expect(failure.reason.contains("MILLWRIGHT_ALLOW_STATE_LOSS=true"))
        let losses = worker.health.stateLosses
        #expect(losses == [TaskStateLoss(partition: 0, changelog: worker.changelogTopic, gap: StateGap(needed: 0, logStart: watermarks.low), rebuilt: false)])
        #expect(worker.statistics.processedRecords == 0, "nothing processed on incomplete state")
        withExtendedLifetime(cluster) {}
    }

    @Test(
        "with allowStateLoss the task is rebuilt from what is left: the worker runs, counts the loss, reports it in its health, and processes its input"
    )
    func rebuildsWhenAllowed() async throws {
        var (cluster, configuration, watermarks) = try await Self.truncated()
        configuration.allowStateLoss = true
        let worker = try StreamWorker(definition: Self.definition, configuration: configuration, logger: TestKafka.logger("w"))
        try worker.start()
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while worker.statistics.processedRecords < 10 && worker.failure == nil && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        let health = worker.health
        await worker.stop()
        #expect(worker.failure == nil)
        #expect(worker.statistics.processedRecords == 10)
        #expect(worker.statistics.stateLosses == 1, "task 0 only: partition 1 of the changelog is whole")
        #expect(health.stateLosses.map(\.partition) == [0] && health.stateLosses.allSatisfy(\.rebuilt))
        #expect(health.stateLosses.first?.gap == StateGap(needed: 0, logStart: watermarks.low))
        #expect(health.isReady, "rebuilt: ready, and the loss reported")

        // The next start on the same state directory needs the changelog from where its file is
        // current to, which the log has: no loss.
        let again = try StreamWorker(definition: Self.definition, configuration: configuration, logger: TestKafka.logger("w2"))
        try again.start()
        let joined = ContinuousClock.now.advanced(by: .seconds(60))
        while again.statistics.assignedPartitions.count < 2 && again.failure == nil && ContinuousClock.now < joined {
            try await Task.sleep(for: .milliseconds(50))
        }
        await again.stop()
        #expect(again.failure == nil && again.statistics.stateLosses == 0 && again.health.stateLosses.isEmpty)
        withExtendedLifetime(cluster) {}
    }

    @Test(
        "a state directory whose task files are of another group's changelog is not taken for this group's state: the files are dropped and the group's own changelog restored"
    )
    func filesOfAnotherChangelog() async throws {
        let cluster = try TestKafka.cluster(brokers: 1)
        func configuration(_ group: String, _ directory: String) -> StreamsConfiguration {
            var configuration = StreamsConfiguration(client: KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers))
            configuration.group = group
            configuration.stateDirectory = directory
            configuration.sessionTimeout = .seconds(6)
            configuration.stateFileInterval = .zero
            return configuration
        }
        let (a, b) = (TestKafka.uniqueName("a"), TestKafka.uniqueName("b"))
        let shared = FileManager.default.temporaryDirectory.appendingPathComponent(TestKafka.uniqueName("state")).path
        for topic in ["in", "out", Self.definition.changelogTopic(group: a), Self.definition.changelogTopic(group: b)] {
            try cluster.createTopic(topic, partitions: 1, replicationFactor: 1)
        }
        func produce(_ count: Int, key: String) async throws {
            let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger("p"))
            _ = try await producer.send(batch: (0..<count).map { _ in KafkaProducerMessage(topic: "in", partition: 0, key: key, value: "v") })
            await producer.close()
        }
        func run(_ configuration: StreamsConfiguration, until processed: Int) async throws -> StreamWorker {
            let worker = try StreamWorker(definition: Self.definition, configuration: configuration, logger: TestKafka.logger(configuration.group))
            try worker.start()
            let deadline = ContinuousClock.now.advanced(by: .seconds(60))
            while worker.statistics.processedRecords < processed && worker.failure == nil && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            await worker.stop()
            #expect(worker.failure == nil)
            return worker
        }
        // Group b counts 30 "x" in a directory of its own, a transaction each: its changelog runs
        // well past group a's.
        try await produce(30, key: "x")
        var first = configuration(b, FileManager.default.temporaryDirectory.appendingPathComponent(TestKafka.uniqueName("state")).path)
        first.maxRecordsPerTransaction = 1
        _ = try await run(first, until: 30)
        // Group a counts 3 "y" and 30 "x" in the shared directory: its task file is current to a's changelog.
        try await produce(3, key: "y")
        _ = try await run(configuration(a, shared), until: 33)
        // Group b on the shared directory: a's file must not stand in for b's state.
        try await produce(1, key: "y")
        let worker = try await run(configuration(b, shared), until: 4)
        #expect(worker.statistics.restoredRecords > 0, "b's changelog read from its start")
        let out = try await TestKafka.readToEnd(cluster, partitions: [KafkaTopicPartition(topic: "out", partition: 0)]).compactMap(\.valueString)
        #expect(out.suffix(4) == ["y=1", "y=2", "y=3", "y=4"], "b counted y from its own state: \(out.suffix(8))")
        #expect(!out.contains("y=5"), "with a's file (y=3) b would have gone on to 7")
    }

    @Test(
        "a restore writes the task's state file as it goes, also inside one large batch: a restart on the same directory reads no changelog and goes on from the restored counts"
    )
    func restoreWritesTheFile() async throws {
        let cluster = try TestKafka.cluster(brokers: 1)
        var configuration = StreamsConfiguration(client: KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers))
        configuration.group = TestKafka.uniqueName("file")
        configuration.stateDirectory = FileManager.default.temporaryDirectory.appendingPathComponent(TestKafka.uniqueName("state")).path
        configuration.sessionTimeout = .seconds(6)
        let changelog = Self.definition.changelogTopic(group: configuration.group)
        for topic in ["in", "out", changelog] { try cluster.createTopic(topic, partitions: 1, replicationFactor: 1) }
        // Six batches of 5,000 counts, then one of 25,000 (as a compacted head would be): 55,000 keys.
        var messages: [KafkaProducerMessage] = []
        func batch(_ id: String, _ keys: Range<Int>) {
            let header = [KafkaHeader(key: "mw-batch", value: id)]
            for k in keys {
                messages.append(
                    KafkaProducerMessage(topic: changelog, partition: 0, key: Array("counts\u{1F}k\(k)".utf8), value: Array("41".utf8), headers: header))
            }
            messages.append(KafkaProducerMessage(topic: changelog, partition: 0, key: Array("\u{1F}commit".utf8), value: Array(id.utf8), headers: header))
        }
        for n in 0..<6 { batch("seed:\(n)", n * 5_000..<(n + 1) * 5_000) }
        batch("seed:6", 30_000..<55_000)
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger("p"))
        for chunk in stride(from: 0, to: messages.count, by: 5_000) {
            _ = try await producer.send(batch: Array(messages[chunk..<min(chunk + 5_000, messages.count)]))
        }
        await producer.close()

        func run(until assigned: Int) async throws -> StreamWorker {
            let worker = try StreamWorker(definition: Self.definition, configuration: configuration, logger: TestKafka.logger("w"))
            try worker.start()
            let deadline = ContinuousClock.now.advanced(by: .seconds(90))
            while worker.statistics.assignedPartitions.count < assigned && worker.failure == nil && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            return worker
        }
        let first = try await run(until: 1)
        await first.stop()
        #expect(first.failure == nil && first.statistics.restoredRecords == messages.count && first.statistics.restoredBatches == 7)

        let second = try await run(until: 1)
        let input = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger("p2"))
        _ = try await input.send(batch: [KafkaProducerMessage(topic: "in", partition: 0, key: "k54999", value: "v")])
        await input.close()
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while second.statistics.committedTransactions == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        await second.stop()
        #expect(second.failure == nil)
        #expect(second.statistics.restoredRecords == 0, "the file was current to the changelog's end: nothing to read")
        let out = try await TestKafka.readToEnd(cluster, partitions: [KafkaTopicPartition(topic: "out", partition: 0)]).compactMap(\.valueString)
        #expect(out == ["k54999=42"], "the count went on from the restored 41")
    }
}
