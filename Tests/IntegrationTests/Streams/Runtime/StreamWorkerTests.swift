import Foundation
import Kafka
import Logging
import Streams
import TestSupport
import Testing

/// Counts records per key and forwards `key=count`: state that must survive restarts exactly.
private final class CountingProcessor: StreamProcessor {
    let output: String
    init(output: String = "out") { self.output = output }

    func process(_ record: StreamRecord, context: any ProcessorContext) throws {
        let key = record.keyString ?? "-"
        let store = context.store("counts")
        let count = (store.get(key).flatMap { Int(String(decoding: $0, as: UTF8.self)) } ?? 0) + 1
        store.put(key, Array(String(count).utf8))
        context.forward(OutputRecord(topic: output, key: key, value: Array("\(key)=\(count)".utf8)))
    }
}

/// Counts like ``CountingProcessor`` but fails on the value `boom`, after forwarding its output.
private final class FailingProcessor: StreamProcessor {
    let counting = CountingProcessor()
    func process(_ record: StreamRecord, context: any ProcessorContext) throws {
        try counting.process(record, context: context)
        if record.value == Array("boom".utf8) { throw CancellationError() }
    }
}

@Suite("Stream worker on the in-process cluster")
struct StreamWorkerTests {
    static func setUp(brokers: Int = 3) throws -> (InProcessKafkaCluster, StreamsConfiguration, ProcessorDefinition) {
        let cluster = try TestKafka.cluster(brokers: brokers)
        let configuration = Self.configuration(cluster)
        let definition = ProcessorDefinition(name: "counter", inputTopics: ["in"]) { _ in CountingProcessor() }
        // The group's own changelog, with the inputs' partitions (the cluster would make one
        // with 4 on first use, which only happens to fit here).
        for topic in ["in", "out", definition.changelogTopic(group: configuration.group)] { try cluster.createTopic(topic, partitions: 4) }
        return (cluster, configuration, definition)
    }

    /// A fresh group and state directory on `cluster`.
    static func configuration(_ cluster: InProcessKafkaCluster) -> StreamsConfiguration {
        var configuration = StreamsConfiguration(client: KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers))
        configuration.group = TestKafka.uniqueName("streams")
        configuration.stateDirectory = FileManager.default.temporaryDirectory.appendingPathComponent(TestKafka.uniqueName("state")).path
        configuration.sessionTimeout = .seconds(6)
        return configuration
    }

    static func produce(_ cluster: InProcessKafkaCluster, keys: Int, perKey: Int) async throws {
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger("p"))
        var messages: [KafkaProducerMessage] = []
        for round in 0..<perKey { for k in 0..<keys { messages.append(KafkaProducerMessage(topic: "in", key: "k\(k)", value: "r\(round)")) } }
        _ = try await producer.send(batch: messages)
        await producer.close()
    }

    /// Starts `count` loop threads of one processor sharing one group member, the first first.
    static func startLoopThreads(_ count: Int, definition: ProcessorDefinition, configuration: StreamsConfiguration) throws -> [StreamWorker] {
        let loopThreads = LoopThreads(count: count)
        let threads = try (0..<count).map {
            try StreamWorker(definition: definition, configuration: configuration, thread: $0, threads: loopThreads, logger: TestKafka.logger("t\($0)"))
        }
        for thread in threads { try thread.start() }
        return threads
    }

    static func outputs(_ cluster: InProcessKafkaCluster, count: Int, topic: String = "out", partitions: Int32 = 4) async throws -> [String] {
        let consumer = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(cluster, group: nil), logger: TestKafka.logger("c"))
        try consumer.assign((0..<partitions).map { KafkaTopicPartitionOffset(topic: topic, partition: $0, offset: KafkaOffset.beginning) })
        let messages = try await TestKafka.collect(consumer, count: count, timeout: .seconds(60))
        try await consumer.close()
        return messages.compactMap(\.valueString)
    }

    @Test("records are processed once, outputs and state commit together, and a restarted worker goes on from the committed state")
    func processAndRestart() async throws {
        let (cluster, configuration, definition) = try Self.setUp()
        try await Self.produce(cluster, keys: 10, perKey: 20)
        let first = try StreamWorker(definition: definition, configuration: configuration, logger: TestKafka.logger("w1"))
        try first.start()
        let out = try await Self.outputs(cluster, count: 200)
        #expect(out.count == 200)
        await first.stop()
        #expect(first.failure == nil)
        #expect(first.statistics.processedRecords == 200)
        #expect(first.statistics.committedTransactions >= 1)
        for k in 0..<10 {
            #expect(
                out.filter { $0.hasPrefix("k\(k)=") }.sorted { Int($0.split(separator: "=")[1])! < Int($1.split(separator: "=")[1])! }
                    == (1...20).map { "k\(k)=\($0)" })
        }

        try await Self.produce(cluster, keys: 10, perKey: 5)
        let second = try StreamWorker(definition: definition, configuration: configuration, logger: TestKafka.logger("w2"))
        try second.start()
        let all = try await Self.outputs(cluster, count: 250)
        await second.stop()
        #expect(second.failure == nil)
        #expect(all.count == 250, "nothing re-processed after a clean stop")
        #expect(second.statistics.restoredRecords == 0, "same state directory: local state, no changelog records to read")
        for k in 0..<10 {
            #expect(Set(all.filter { $0.hasPrefix("k\(k)=") }) == Set((1...25).map { "k\(k)=\($0)" }), "counts went on from 20, not from 0")
        }

        // A worker on an empty state directory (another machine) restores from the changelog.
        try await Self.produce(cluster, keys: 10, perKey: 1)
        var elsewhere = configuration
        elsewhere.stateDirectory = FileManager.default.temporaryDirectory.appendingPathComponent(TestKafka.uniqueName("state")).path
        let third = try StreamWorker(definition: definition, configuration: elsewhere, logger: TestKafka.logger("w3"))
        try third.start()
        let more = try await Self.outputs(cluster, count: 260)
        await third.stop()
        #expect(third.failure == nil)
        #expect(third.statistics.restoredRecords > 0, "state came from the changelog")
        #expect(third.statistics.restoredBatches >= 1)
        for k in 0..<10 { #expect(more.contains("k\(k)=26"), "counts went on from 25 on a fresh machine") }
        #expect(more.count == 260)
    }

    @Test(
        "two groups counting the same input on one cluster keep their own state: each writes its own changelog, counts from its own start, and restores its own counts on a fresh machine"
    )
    func groupsKeepTheirOwnState() async throws {
        let cluster = try TestKafka.cluster()
        let (a, b) = (Self.configuration(cluster), Self.configuration(cluster))
        let definitionA = ProcessorDefinition(name: "counter", inputTopics: ["in"]) { _ in CountingProcessor(output: "out-a") }
        let definitionB = ProcessorDefinition(name: "counter", inputTopics: ["in"]) { _ in CountingProcessor(output: "out-b") }
        let changelogA = definitionA.changelogTopic(group: a.group)
        let changelogB = definitionB.changelogTopic(group: b.group)
        #expect(changelogA == "millwright.\(a.group).counter.changelog.v1" && changelogA != changelogB, "the same processor, a changelog per group")
        for topic in ["in", "out-a", "out-b", changelogA, changelogB] { try cluster.createTopic(topic, partitions: 4) }
        func run(_ definition: ProcessorDefinition, _ configuration: StreamsConfiguration, fresh: Bool, until count: Int, of topic: String) async throws -> (
            StreamWorker, [String]
        ) {
            var configuration = configuration
            if fresh { configuration.stateDirectory = FileManager.default.temporaryDirectory.appendingPathComponent(TestKafka.uniqueName("state")).path }
            let worker = try StreamWorker(definition: definition, configuration: configuration, logger: TestKafka.logger(configuration.group))
            try worker.start()
            let out = try await Self.outputs(cluster, count: count, topic: topic)
            await worker.stop()
            #expect(worker.failure == nil)
            return (worker, out)
        }
        func counts(_ out: [String], _ key: Int) -> Set<String> { Set(out.filter { $0.hasPrefix("k\(key)=") }) }

        // Group A counts 20 per key, then stops; group B starts later, after 5 more per key: it
        // counts all 25 from 0 — with A's changelog it would have restored A's 20 and said 21…45.
        try await Self.produce(cluster, keys: 10, perKey: 20)
        _ = try await run(definitionA, a, fresh: false, until: 200, of: "out-a")
        try await Self.produce(cluster, keys: 10, perKey: 5)
        let (firstB, outB) = try await run(definitionB, b, fresh: true, until: 250, of: "out-b")
        #expect(outB.count == 250)
        for k in 0..<10 { #expect(counts(outB, k) == Set((1...25).map { "k\(k)=\($0)" }), "group B counted from its own start") }
        #expect(firstB.statistics.restoredRecords == 0, "B's changelog was empty: nothing of A's to restore")

        // Each group restores its own state on a fresh machine and goes on from it.
        let (restoredA, outA) = try await run(definitionA, a, fresh: true, until: 250, of: "out-a")
        #expect(restoredA.statistics.restoredRecords > 0, "A restored from its changelog")
        for k in 0..<10 { #expect(counts(outA, k) == Set((1...25).map { "k\(k)=\($0)" }), "A went on from its 20") }
        try await Self.produce(cluster, keys: 10, perKey: 1)
        let (restoredB, moreB) = try await run(definitionB, b, fresh: true, until: 260, of: "out-b")
        #expect(restoredB.statistics.restoredRecords > 0)
        for k in 0..<10 { #expect(moreB.contains("k\(k)=26") && !moreB.contains("k\(k)=27"), "B went on from its own 25") }
        let (_, moreA) = try await run(definitionA, a, fresh: true, until: 260, of: "out-a")
        for k in 0..<10 { #expect(moreA.contains("k\(k)=26") && !moreA.contains("k\(k)=27"), "A went on from its own 25") }

        // Each changelog holds only its own group's batches.
        let logA = try await TestKafka.readToEnd(cluster, partitions: (0..<Int32(4)).map { KafkaTopicPartition(topic: changelogA, partition: $0) })
        let logB = try await TestKafka.readToEnd(cluster, partitions: (0..<Int32(4)).map { KafkaTopicPartition(topic: changelogB, partition: $0) })
        let batchesA = Set(logA.compactMap { $0.headers.last("mw-batch")?.stringValue })
        let batchesB = Set(logB.compactMap { $0.headers.last("mw-batch")?.stringValue })
        #expect(!batchesA.isEmpty && !batchesB.isEmpty && batchesA.isDisjoint(with: batchesB))
    }

    @Test("in a burst the transaction budget goes round the tasks: no partition waits until the others have drained")
    func budgetGoesRound() async throws {
        // One broker: every input partition comes in the same fetch. With three, one broker's
        // fetch came 30 transactions late under a loaded suite, and that partition could not
        // start before the others drained, whatever the loop does.
        var (cluster, configuration, definition) = try Self.setUp(brokers: 1)
        configuration.maxRecordsPerTransaction = 40
        configuration.commitInterval = .seconds(600)  // only the bound starts a transaction
        configuration.idleCommitWait = .seconds(600)
        // 3,200 records, ~800 a partition: ~20 transactions' worth each, so that a partition whose
        // first fetch comes late under load (a full suite in parallel on 2 cores) still starts
        // long before the others drain (with ~10 each, one started at transaction 24 once).
        try await Self.produce(cluster, keys: 40, perKey: 80)
        let worker = try StreamWorker(definition: definition, configuration: configuration, logger: TestKafka.logger("w"))
        try worker.start()
        let consumer = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(cluster, group: nil), logger: TestKafka.logger("c"))
        try consumer.assign((0..<4).map { KafkaTopicPartitionOffset(topic: "out", partition: $0, offset: KafkaOffset.beginning) })
        let out = try await TestKafka.collect(consumer, count: 3_200, timeout: .seconds(90))
        try await consumer.close()
        await worker.stop()
        #expect(worker.failure == nil)
        #expect(out.count == 3_200)
        // The transactions (batch sequence numbers) that carried each partition's first and last
        // outputs.
        var first: [Int32: Int] = [:]
        var last: [Int32: Int] = [:]
        for message in out {
            guard let batch = message.headers.last("mw-batch")?.stringValue, let sequence = batch.split(separator: ":").last.flatMap({ Int($0) }) else {
                Issue.record("output without a batch header")
                continue
            }
            first[message.partition] = min(first[message.partition] ?? .max, sequence)
            last[message.partition] = max(last[message.partition] ?? .min, sequence)
        }
        #expect(first.count == 4, "every partition had input")
        // Served in turn, every partition starts before any has drained (each holds ~20
        // transactions' worth). Served in a fixed order, the first partition drains in
        // transactions 1–20 and the last starts at ~61. (Not a bound in transactions: how many
        // pass before a late fetch arrives depends on how fast commits are.)
        #expect(first.values.max()! < last.values.min()!, "first \(first.sorted { $0.key < $1.key }), last \(last.sorted { $0.key < $1.key })")
    }

    @Test("two loop threads of one processor split its partitions, each with its own instance id, and together process every record once")
    func streamThreads() async throws {
        let (cluster, configuration, definition) = try Self.setUp()
        let threads = try Self.startLoopThreads(2, definition: definition, configuration: configuration)
        // The first thread, the group's member, shares the partitions out before any input.
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while threads.contains(where: { $0.statistics.assignedPartitions.isEmpty }) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        let assigned = threads.map { Set($0.statistics.assignedPartitions) }
        #expect(assigned[0].isDisjoint(with: assigned[1]), "no partition on both threads")
        #expect(assigned[0].union(assigned[1]) == Set(0..<4), "every partition on one of them")
        try await Self.produce(cluster, keys: 10, perKey: 20)
        let out = try await Self.outputs(cluster, count: 200)
        // Named for `top -H`: the names fit Linux's 15 bytes, so the kernel took them.
        let names = Set(
            ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []).compactMap {
                try? String(contentsOfFile: "/proc/self/task/\($0)/comm", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            })
        #expect(threads.map(\.threadName) == ["mw-counter", "mw-counter-1"])
        #expect(names.isSuperset(of: ["mw-counter", "mw-counter-1"]), "thread names: \(names.sorted())")
        for thread in threads { await thread.stop() }
        #expect(threads.allSatisfy { $0.failure == nil })
        #expect(threads.allSatisfy { $0.statistics.processedRecords > 0 }, "both threads processed records")
        #expect(threads.reduce(0) { $0 + $1.statistics.processedRecords } == 200, "each record once")
        #expect(out.count == 200)
        for k in 0..<10 {
            #expect(Set(out.filter { $0.hasPrefix("k\(k)=") }) == Set((1...20).map { "k\(k)=\($0)" }))
        }
        let directory = URL(fileURLWithPath: configuration.stateDirectory)
        let ids = try ["counter.instance", "counter-1.instance"].map { try String(contentsOf: directory.appendingPathComponent($0), encoding: .utf8) }
        #expect(ids[0] != ids[1], "two transactional ids: neither thread fences the other")
    }

    @Test(
        "a worker joining a two-thread worker's group takes partitions from both threads: they commit before they let go, so counts go on and nothing is lost or doubled"
    )
    func loopThreadsGiveBackPartitions() async throws {
        let (cluster, configuration, definition) = try Self.setUp()
        let threads = try Self.startLoopThreads(2, definition: definition, configuration: configuration)
        try await Self.produce(cluster, keys: 10, perKey: 20)
        _ = try await Self.outputs(cluster, count: 200)
        #expect(threads.allSatisfy { !$0.statistics.assignedPartitions.isEmpty }, "both threads had partitions")

        var elsewhere = configuration
        elsewhere.stateDirectory = FileManager.default.temporaryDirectory.appendingPathComponent(TestKafka.uniqueName("state")).path
        let joiner = try StreamWorker(definition: definition, configuration: elsewhere, logger: TestKafka.logger("j"))
        try joiner.start()
        // The group settles in steps (the joiner's assignment can arrive before the member has
        // handed a partition on to its second thread), so wait for every partition to be held.
        var held: [Set<Int32>] = []
        var joined: Set<Int32> = []
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        repeat {
            try await Task.sleep(for: .milliseconds(50))
            held = threads.map { Set($0.statistics.assignedPartitions) }
            joined = Set(joiner.statistics.assignedPartitions)
        } while (joined.isEmpty || held[0].union(held[1]).union(joined) != Set(0..<4)) && ContinuousClock.now < deadline
        #expect(!joined.isEmpty, "the joining worker got partitions")
        #expect(held[0].union(held[1]).union(joined) == Set(0..<4), "every partition held")
        #expect(held[0].union(held[1]).isDisjoint(with: joined), "no partition held twice")

        try await Self.produce(cluster, keys: 10, perKey: 5)
        let all = try await Self.outputs(cluster, count: 250)
        for worker in threads + [joiner] { await worker.stop() }
        #expect((threads + [joiner]).allSatisfy { $0.failure == nil })
        #expect(all.count == 250, "each record's output once")
        for k in 0..<10 {
            #expect(Set(all.filter { $0.hasPrefix("k\(k)=") }) == Set((1...25).map { "k\(k)=\($0)" }), "counts went on from 20 wherever the partition went")
        }
    }

    @Test("a processor error stops the worker and commits nothing after the last commit: the failing record's output never reaches read_committed readers")
    func errorCommitsNothingMore() async throws {
        let (cluster, configuration, _) = try Self.setUp()
        let definition = ProcessorDefinition(name: "counter", inputTopics: ["in"]) { _ in FailingProcessor() }
        try await Self.produce(cluster, keys: 10, perKey: 2)
        let worker = try StreamWorker(definition: definition, configuration: configuration, logger: TestKafka.logger("w"))
        try worker.start()
        let first = try await Self.outputs(cluster, count: 20)
        #expect(first.count == 20)
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger("p"))
        _ = try await producer.send(batch: [KafkaProducerMessage(topic: "in", key: "k0", value: "boom")])
        await producer.close()
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while worker.failure == nil && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        await worker.stop()
        #expect(worker.failure?.reason.contains("failed on in[") == true, "the worker stopped on the processor's error")
        let committed = try await Self.committedOutputs(cluster, changelog: definition.changelogTopic(group: configuration.group))
        #expect(committed.count == 20, "the first 20 committed")
        #expect(!committed.contains("k0=3"), "the failing record's output was not committed on the way out")
    }

    @Test("a burst is split into transactions of at most maxRecordsPerTransaction input records, without waiting for the commit interval; counts stay exact")
    func transactionSizeBound() async throws {
        // One broker: every input partition comes in the same fetch. With three, one broker's
        // fetch came 30 transactions late under a loaded suite, and that partition could not
        // start before the others drained, whatever the loop does.
        var (cluster, configuration, definition) = try Self.setUp(brokers: 1)
        configuration.maxRecordsPerTransaction = 40
        configuration.commitInterval = .seconds(600)  // only the bound can start a transaction
        configuration.idleCommitWait = .seconds(600)
        try await Self.produce(cluster, keys: 10, perKey: 20)
        let worker = try StreamWorker(definition: definition, configuration: configuration, logger: TestKafka.logger("w"))
        try worker.start()
        let out = try await Self.outputs(cluster, count: 200)
        await worker.stop()
        #expect(worker.failure == nil)
        #expect(out.count == 200, "every full transaction committed long before the commit interval")
        // 200 records in transactions of at most 40 records each: at least five of them.
        #expect(worker.statistics.committedTransactions >= 5)
        for k in 0..<10 {
            // In order: a key's outputs keep their order within each transaction and across them
            // (the committer sends a task's first output to each topic ahead of the rest).
            #expect(out.filter { $0.hasPrefix("k\(k)=") } == (1...20).map { "k\(k)=\($0)" })
        }
    }

    @Test(
        "a transaction is also bounded by its outputs: once they reach maxOutputBytesPerTransaction it is handed over, whatever the record count; every output once, in order"
    )
    func transactionOutputBound() async throws {
        var (cluster, configuration, definition) = try Self.setUp(brokers: 1)
        configuration.maxOutputBytesPerTransaction = 1024  // ~110 of the counter's outputs (key "k12", value "k12=7")
        configuration.commitInterval = .seconds(600)  // neither the interval nor the record bound can start one
        configuration.idleCommitWait = .seconds(600)
        try await Self.produce(cluster, keys: 20, perKey: 30)
        let worker = try StreamWorker(definition: definition, configuration: configuration, logger: TestKafka.logger("w"))
        try worker.start()
        // Until every input is processed (a slow machine had committed three transactions with
        // 54 inputs still unread) and three transactions committed; the stop commits the rest.
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while (worker.statistics.committedTransactions < 3 || worker.statistics.processedRecords < 600) && worker.failure == nil
            && ContinuousClock.now < deadline
        {
            try await Task.sleep(for: .milliseconds(20))
        }
        let whileRunning = worker.statistics.committedTransactions
        await worker.stop()
        #expect(worker.failure == nil)
        #expect(whileRunning >= 3, "600 outputs of ~9 bytes in transactions of at most ~1 KB of outputs: handed over as they filled")
        let out = try await Self.committedOutputs(cluster, changelog: definition.changelogTopic(group: configuration.group))
        #expect(out.count == 600)
        for k in 0..<20 { #expect(out.filter { $0.hasPrefix("k\(k)=") } == (1...30).map { "k\(k)=\($0)" }) }
    }

    /// A worker with a 600 s commit interval (it never comes in these tests) started on 30
    /// records (10 keys × 3), returned once it has processed them all (or after 60 s).
    static func workerOnThirtyRecords(idleCommitWait: Duration?) async throws -> (InProcessKafkaCluster, StreamWorker) {
        var (cluster, configuration, definition) = try Self.setUp()
        configuration.commitInterval = .seconds(600)
        if let idleCommitWait { configuration.idleCommitWait = idleCommitWait }
        try await Self.produce(cluster, keys: 10, perKey: 3)
        let worker = try StreamWorker(definition: definition, configuration: configuration, logger: TestKafka.logger("w"))
        try worker.start()
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while worker.statistics.processedRecords < 30 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        return (cluster, worker)
    }

    @Test("input that pauses is committed after the idle wait, not at the commit interval; with the idle wait at the interval it waits for the interval")
    func pausedInputCommitsAtOnce() async throws {
        let (cluster, worker) = try await Self.workerOnThirtyRecords(idleCommitWait: nil)  // the default
        let out = try await Self.outputs(cluster, count: 30)
        #expect(out.count == 30, "30 records, far below maxRecordsPerTransaction, committed once the input paused")
        await worker.stop()
        #expect(worker.failure == nil)

        // The same with the idle wait switched off (at the interval): processed, not committed.
        let (cluster2, held) = try await Self.workerOnThirtyRecords(idleCommitWait: .seconds(600))
        #expect(held.statistics.processedRecords == 30)
        try await Task.sleep(for: .milliseconds(500))  // 50 idle-wait periods: a commit would have come
        #expect(held.statistics.committedTransactions == 0, "nothing committed before the interval")
        await held.stop()  // commits on the way out
        #expect(held.failure == nil)
        #expect(try await Self.outputs(cluster2, count: 30).count == 30)
    }

    /// When the pause must last (counted across polls) is proved with a manual clock in
    /// CommitScheduleTests; here, that a worker with an idle wait longer than its 50 ms poll
    /// still commits paused input well before its commit interval. (Asserting that nothing
    /// committed 300 ms after the last record failed once in CI: on a loaded machine the fetches
    /// of the four partitions can be more than 5 s apart, and the first ones then commit on
    /// their own, as they should.)
    @Test(
        "an idle wait longer than the loop's 50 ms poll is counted across polls: paused input is committed once the pause lasted it, long before the commit interval"
    )
    func longIdleWaitSpansPolls() async throws {
        let (cluster, worker) = try await Self.workerOnThirtyRecords(idleCommitWait: .seconds(5))
        #expect(worker.statistics.processedRecords == 30)
        #expect(try await Self.outputs(cluster, count: 30).count == 30, "committed once the pause lasted the idle wait")
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while worker.statistics.committedTransactions == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(worker.statistics.committedTransactions >= 1, "the transaction that carried them committed")
        await worker.stop()
        #expect(worker.failure == nil)
    }

    /// Outputs whose transaction committed: the batch ids with a commit marker and no abort note
    /// in the changelog (the in-process cluster shows aborted transactions to read_committed
    /// readers too).
    static func committedOutputs(_ cluster: InProcessKafkaCluster, changelog: String) async throws -> [String] {
        let partitions = (0..<Int32(4)).flatMap { p in
            ["out", changelog].map { KafkaTopicPartition(topic: $0, partition: p) }
        }
        let messages = try await TestKafka.readToEnd(cluster, partitions: partitions)
        let changelog = messages.filter { $0.topic != "out" }
        let aborted = Set(changelog.filter { $0.keyString == "\u{1F}abort" }.compactMap(\.valueString))
        let committed = Set(changelog.filter { $0.keyString == "\u{1F}commit" }.compactMap(\.valueString)).subtracting(aborted)
        return messages.filter { m in
            m.topic == "out" && m.headers.last("mw-batch")?.stringValue.map(committed.contains) == true
        }.compactMap(\.valueString)
    }

    @Test("an aborted transaction rewinds: what it held and what was processed while it committed is processed again, once")
    func abortRewinds() async throws {
        let (cluster, configuration, definition) = try Self.setUp()
        try await Self.produce(cluster, keys: 10, perKey: 20)
        let worker = try StreamWorker(definition: definition, configuration: configuration, logger: TestKafka.logger("w"))
        try worker.start()
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while worker.statistics.committedTransactions == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(worker.statistics.committedTransactions > 0)
        // The next transactions' AddOffsetsToTxn fail with an error that requires an abort.
        cluster.injectRequestErrors(.addOffsetsToTransaction, [.librdkafka(30), .librdkafka(30)])  // GROUP_AUTHORIZATION_FAILED
        try await Self.produce(cluster, keys: 10, perKey: 20)
        while worker.statistics.abortedTransactions == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        try await Self.produce(cluster, keys: 10, perKey: 5)
        while worker.statistics.processedRecords < 450 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        try await Task.sleep(for: .milliseconds(500))
        await worker.stop()
        #expect(worker.failure == nil)
        #expect(worker.statistics.abortedTransactions >= 1, "the injected error aborted a transaction")
        #expect(worker.statistics.processedRecords > 450, "records of the aborted transaction were processed again")
        let outputs = try await Self.committedOutputs(cluster, changelog: definition.changelogTopic(group: configuration.group))
        #expect(outputs.count == 450, "each record's output committed exactly once")
        for k in 0..<10 {
            #expect(outputs.filter { $0.hasPrefix("k\(k)=") }.sorted() == (1...45).map { "k\(k)=\($0)" }.sorted(), "key k\(k) counted 1…45, no gap, no repeat")
        }
    }
}
