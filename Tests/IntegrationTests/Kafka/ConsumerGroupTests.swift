import Foundation
import Kafka
import Synchronization
import TestSupport
import Testing

/// Records rebalance hooks into a shared log; the revoke hook takes its time, as a state flush would.
private struct LoggingListener: KafkaRebalanceListener {
    let name: String
    let log: EventLog
    let revokeWork: Duration

    func partitionsAssigned(_ partitions: [KafkaTopicPartition], consumer: KafkaConsumer) {
        for p in partitions { log.append("\(name) assigned \(p.partition)") }
    }

    func partitionsRevoked(_ partitions: [KafkaTopicPartition], consumer: KafkaConsumer) {
        log.append("\(name) revoke-start \(partitions.count)")
        Thread.sleep(forTimeInterval: Double(revokeWork.components.seconds))
        // The hook may commit while it still owns the partitions.
        try? consumer.commit()
        log.append("\(name) revoke-end")
    }
}

/// A listener that owns its consumer, as the stream worker's loop does.
private final class OwningListener: KafkaRebalanceListener, @unchecked Sendable {
    var consumer: KafkaConsumer?
    let revoked = Atomic<Int>(0)
    func partitionsAssigned(_ partitions: [KafkaTopicPartition], consumer: KafkaConsumer) {}
    func partitionsRevoked(_ partitions: [KafkaTopicPartition], consumer: KafkaConsumer) { revoked.add(1, ordering: .relaxed) }
}

@Suite("Consumer groups on the in-process cluster")
struct ConsumerGroupTests {
    @Test("closing a consumer runs the revoke hook and then lets go of its listener: a listener that owns the consumer is freed, and the consumer with it")
    func closeReleasesListener() async throws {
        let cluster = try TestKafka.cluster()
        let topic = TestKafka.uniqueName("owner")
        try cluster.createTopic(topic, partitions: 2)
        weak var weakListener: OwningListener?
        weak var weakConsumer: KafkaConsumer?
        do {
            let listener = OwningListener()
            let consumer = try KafkaConsumer(
                configuration: TestKafka.consumerConfiguration(cluster, group: TestKafka.uniqueName("group")), logger: TestKafka.logger("o"))
            listener.consumer = consumer
            try consumer.subscribe(topics: [topic], listener: listener)
            // A generous deadline: the join is no timing claim (a fresh-clone CI beside two other
            // builds on the 2 cores saw no assignment within 30 s once).
            let deadline = ContinuousClock.now.advanced(by: .seconds(120))
            while (try consumer.assignment()).isEmpty && ContinuousClock.now < deadline { _ = try await consumer.pollBatch(timeout: .milliseconds(100)) }
            #expect(try !consumer.assignment().isEmpty)
            try await consumer.close()
            #expect(listener.revoked.load(ordering: .relaxed) >= 1, "the close revoked through the listener first")
            weakListener = listener
            weakConsumer = consumer
        }
        // The consumer's own queue lets go of its last call a moment after answering it.
        let deadline = ContinuousClock.now.advanced(by: .seconds(5))
        while (weakListener != nil || weakConsumer != nil) && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(weakListener == nil, "the listener was freed")
        #expect(weakConsumer == nil, "and the consumer it owned, librdkafka handle included")
    }

    @Test("the revoke hook finishes before another member gets the partition")
    func revokeHookRunsBeforeHandOver() async throws {
        let cluster = try TestKafka.cluster()
        let topic = TestKafka.uniqueName("rebalance")
        let group = TestKafka.uniqueName("group")
        try cluster.createTopic(topic, partitions: 4)
        let log = EventLog()
        let a = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(cluster, group: group), logger: TestKafka.logger("a"))
        try a.subscribe(topics: [topic], listener: LoggingListener(name: "A", log: log, revokeWork: .seconds(2)))
        let polling = StopFlag()
        let pollA = Task {
            while !polling.isStopped { _ = try await a.pollBatch(timeout: .milliseconds(100)) }
        }
        try await waitUntil { log.all.filter { $0.hasPrefix("A assigned") }.count == 4 }

        let b = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(cluster, group: group), logger: TestKafka.logger("b"))
        try b.subscribe(topics: [topic], listener: LoggingListener(name: "B", log: log, revokeWork: .zero))
        let pollB = Task {
            while !polling.isStopped { _ = try await b.pollBatch(timeout: .milliseconds(100)) }
        }
        try await waitUntil { log.all.contains { $0.hasPrefix("B assigned") } }
        polling.stop()
        try await pollA.value
        try await pollB.value

        let entries = log.all
        let revokeEnd = try #require(entries.firstIndex(of: "A revoke-end"))
        let revokeStart = try #require(entries.firstIndex(of: "A revoke-start 4"))
        let firstB = try #require(entries.firstIndex { $0.hasPrefix("B assigned") })
        #expect(revokeStart < revokeEnd)
        #expect(revokeEnd < firstB, "B got a partition before A's revoke hook finished: \(entries)")
        // What A is given back comes in a later round, which a loaded machine may not have logged
        // when the polls stop: only that nothing is held by both is checked.
        let aAfter = Set(entries[revokeEnd...].filter { $0.hasPrefix("A assigned") }.map { $0.dropFirst("A assigned ".count) })
        let bAfter = Set(entries.filter { $0.hasPrefix("B assigned") }.map { $0.dropFirst("B assigned ".count) })
        #expect(!bAfter.isEmpty && aAfter.isDisjoint(with: bAfter) && aAfter.count + bAfter.count <= 4, "no partition held by both: \(entries)")

        // librdkafka 2.0.2 can hang for good in a close while a rebalance of the closing member
        // is still to be served (its assign in the callback never returns: librdkafka #4527,
        // #4884; seen once in a fresh-clone CI run). So each member closes only once its group is
        // settled, the other one still polling: A once it got its later round, B once it took
        // over A's partitions.
        let settling = (a: StopFlag(), b: StopFlag())
        let settleA = Task { while !settling.a.isStopped { _ = try await a.pollBatch(timeout: .milliseconds(100)) } }
        let settleB = Task { while !settling.b.isStopped { _ = try await b.pollBatch(timeout: .milliseconds(100)) } }
        func assigned(_ name: String, from start: Int) -> Set<Substring> {
            let all = log.all
            return Set(all[min(start, all.count)...].filter { $0.hasPrefix("\(name) assigned") }.map { $0.dropFirst("\(name) assigned ".count) })
        }
        try await waitUntil(timeout: .seconds(60)) { assigned("A", from: revokeEnd + 1).count + assigned("B", from: 0).count == 4 }
        settling.a.stop()
        try await settleA.value
        let beforeClose = log.all.count
        try await a.close()
        try await waitUntil(timeout: .seconds(60)) { assigned("B", from: beforeClose).count == 4 }
        settling.b.stop()
        try await settleB.value
        try await b.close()
    }

    @Test("a manual commit is where a new consumer of the group resumes")
    func manualCommitThenResume() async throws {
        let cluster = try TestKafka.cluster()
        let topic = TestKafka.uniqueName("resume")
        let group = TestKafka.uniqueName("group")
        try cluster.createTopic(topic, partitions: 1)
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger("p"))
        _ = try await producer.send(batch: (0..<20).map { KafkaProducerMessage(topic: topic, key: nil, value: String($0)) })

        let first = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(cluster, group: group), logger: TestKafka.logger("c1"))
        try first.subscribe(topics: [topic])
        let firstBatch = try await TestKafka.collect(first, count: 20)
        #expect(firstBatch.count == 20)
        // Finish only the first 12: store and commit up to there.
        try first.storeOffset(for: firstBatch[11])
        try await first.commit()
        let tp = KafkaTopicPartition(topic: topic, partition: 0)
        #expect(try await first.committed([tp]).first?.offset == 12)
        try await first.close()

        let second = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(cluster, group: group), logger: TestKafka.logger("c2"))
        try second.subscribe(topics: [topic])
        let resumed = try await TestKafka.collect(second, count: 8)
        #expect(resumed.map { $0.valueString! } == (12..<20).map(String.init))
        #expect(resumed.first?.offset == 12)
        try await second.close()
        await producer.close()
    }

    @Test("seek, position, watermarks, pause/resume and partition EOF")
    func positioning() async throws {
        let cluster = try TestKafka.cluster(brokers: 1)
        let topic = TestKafka.uniqueName("seek")
        try cluster.createTopic(topic, partitions: 1, replicationFactor: 1)
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger("p"))
        _ = try await producer.send(batch: (0..<10).map { KafkaProducerMessage(topic: topic, key: nil, value: String($0)) })
        var configuration = TestKafka.consumerConfiguration(cluster, group: nil)
        configuration.enablePartitionEOF = true
        let consumer = try KafkaConsumer(configuration: configuration, logger: TestKafka.logger("c"))
        let tp = KafkaTopicPartition(topic: topic, partition: 0)
        #expect(try await consumer.watermarks(tp) == KafkaWatermarks(low: 0, high: 10))
        try consumer.assign([KafkaTopicPartitionOffset(tp, offset: KafkaOffset.beginning)])
        var eof: KafkaTopicPartitionOffset?
        var values: [String] = []
        let deadline = ContinuousClock.now.advanced(by: .seconds(20))
        while eof == nil && ContinuousClock.now < deadline {
            for event in try await consumer.pollBatch(timeout: .milliseconds(100)) {
                switch event {
                case .message(let m): values.append(m.valueString!)
                case .partitionEOF(let position): eof = position
                }
            }
        }
        #expect(values == (0..<10).map(String.init))
        #expect(eof?.offset == 10)
        #expect(try consumer.position([tp]).first?.offset == 10)

        try await consumer.seek([KafkaTopicPartitionOffset(tp, offset: 7)])
        let afterSeek = try await TestKafka.collect(consumer, count: 3)
        #expect(afterSeek.map(\.offset) == [7, 8, 9])

        try consumer.pause([tp])
        _ = try await producer.send(batch: [KafkaProducerMessage(topic: topic, key: nil, value: "10")])
        let whilePaused = try await TestKafka.collect(consumer, count: 1, timeout: .seconds(2))
        #expect(whilePaused.isEmpty, "a paused partition returns nothing")
        try consumer.resume([tp])
        let afterResume = try await TestKafka.collect(consumer, count: 1)
        #expect(afterResume.map(\.offset) == [10])
        try await consumer.close()
        await producer.close()
    }
}

/// Polls a condition every 50 ms for up to `timeout`; throws if it never holds.
func waitUntil(timeout: Duration = .seconds(30), _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while !condition() {
        if ContinuousClock.now >= deadline { throw WaitTimeout() }
        try await Task.sleep(for: .milliseconds(50))
    }
}

struct WaitTimeout: Error {}
