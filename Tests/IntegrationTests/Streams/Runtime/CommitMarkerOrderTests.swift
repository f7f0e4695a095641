import Foundation
import Kafka
import Logging
import TestSupport
import Testing

@testable import Streams

/// On the in-process cluster, `read_committed` readers see aborted transactions too, so a
/// restore and the chaos check take a batch with a visible commit marker for committed. That is
/// only sound if the whole batch is visible once its marker is: the committer sends the markers
/// after every other record of the batch was delivered. (Sent together, a transaction aborted
/// after a lost membership had its markers on the broker while outputs for another broker were
/// still queued and then purged — how, most likely, the 30-minute soak lost three releases.)
@Suite("A batch's commit marker is never visible before its outputs")
struct CommitMarkerOrderTests {
    @Test(
        "with the output partition's broker down, the transaction waits and its changelog shows no marker; once the broker is back it commits, marker and output both visible"
    )
    func markerWaitsForOutputs() async throws {
        let cluster = try TestKafka.cluster()
        let changelog = TestKafka.uniqueName("changelog")
        let out = TestKafka.uniqueName("out")
        for topic in [out, changelog] { try cluster.createTopic(topic, partitions: 1) }
        // The changelog and the transaction coordinator on broker 1, the output on broker 2.
        try cluster.setPartitionLeader(topic: changelog, partition: 0, broker: 1)
        try cluster.setPartitionLeader(topic: out, partition: 0, broker: 2)
        var configuration = TestKafka.producerConfiguration(cluster)
        let transactionalID = TestKafka.uniqueName("tx")
        configuration.transactionalID = transactionalID
        // Records are given up after the transaction timeout (librdkafka caps message.timeout.ms
        // at it): longer than the test can take.
        configuration.transactionTimeout = .seconds(300)
        try cluster.setTransactionCoordinator(transactionalID: transactionalID, broker: 1)
        let producer = try KafkaProducer(configuration: configuration, logger: TestKafka.logger("producer"))
        try await producer.initTransactions()
        // Metadata for both topics before the broker goes down.
        producer.prepareTopics([out, changelog])

        let pending = PendingCommit(batch: "order:life:1", changelog: changelog, metrics: StreamMetrics(processor: "order", thread: 0))
        // The committer's wait outlasts this test's steps on a loaded machine (CI saw the reads
        // below take over 20 s, and the 30 s default ran out before the broker came back).
        pending.deliveryTimeout = .seconds(300)
        pending.tasks.append(
            .init(
                partition: 0, file: nil, outputs: OutputBatch([OutputRecord(topic: out, key: "k", value: Array("released".utf8))]),
                changes: [(store: "s", key: "k", value: Array("released".utf8))], streamTime: 0, positions: ["in": 1], abortNotes: [],
                consumed: [:], oldestInput: nil))
        try cluster.takeBrokerDown(2)
        let committer = Thread {
            pending.run(producer: producer, logger: TestKafka.logger("commit"))
        }
        committer.start()

        // While the output cannot be delivered, the changelog shows the batch's change but no marker.
        let changelogPartition = KafkaTopicPartition(topic: changelog, partition: 0)
        var seen: [KafkaConsumerMessage] = []
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while !seen.contains(where: { $0.keyString == ChangelogFormat.storeKey(store: "s", key: "k") }) && ContinuousClock.now < deadline {
            seen = try await TestKafka.readToEnd(cluster, partitions: [changelogPartition])
        }
        try #require(seen.contains { $0.keyString == ChangelogFormat.storeKey(store: "s", key: "k") }, "the batch's change reached broker 1")
        try await Task.sleep(for: .seconds(2))
        let whileDown = try await TestKafka.readToEnd(cluster, partitions: [changelogPartition])
        #expect(!whileDown.contains { $0.keyString == ChangelogFormat.commitKey }, "no marker while the output is not on its broker")

        try cluster.bringBrokerUp(2)
        // `done` is signalled when the transaction is over.
        let finished = await Task.detached { pending.done.wait(timeout: .now() + .seconds(60)) == .success }.value
        try #require(finished, "the transaction finished once the broker was back")
        #expect(pending.error == nil, "and committed")
        let after = try await TestKafka.readToEnd(cluster, partitions: [changelogPartition, KafkaTopicPartition(topic: out, partition: 0)])
        #expect(after.filter { $0.topic == changelog && $0.keyString == ChangelogFormat.commitKey }.compactMap(\.valueString) == ["order:life:1"])
        #expect(after.filter { $0.topic == out }.compactMap(\.valueString) == ["released"])
        await producer.close()
    }

    @Test(
        "records an abort purged do not count as failed deliveries of the next transaction: their late reports (PURGE_QUEUE) are counted apart, so the next transaction still commits"
    )
    func purgedRecordsAreNotTheNextTransactionsFailures() async throws {
        let cluster = try TestKafka.cluster()
        let out = TestKafka.uniqueName("out")
        try cluster.createTopic(out, partitions: 1)
        try cluster.setPartitionLeader(topic: out, partition: 0, broker: 2)
        var configuration = TestKafka.producerConfiguration(cluster)
        let transactionalID = TestKafka.uniqueName("tx")
        configuration.transactionalID = transactionalID
        try cluster.setTransactionCoordinator(transactionalID: transactionalID, broker: 1)
        let producer = try KafkaProducer(configuration: configuration, logger: TestKafka.logger("producer"))
        try await producer.initTransactions()
        producer.prepareTopics([out])

        // A transaction whose records cannot leave (their broker is down) is aborted: they are purged.
        try cluster.takeBrokerDown(2)
        try producer.beginTransaction()
        for i in 0..<100 { try producer.send(KafkaProducerMessage(topic: out, partition: 0, key: Array("k".utf8), value: Array("\(i)".utf8))) }
        try await Task.sleep(for: .milliseconds(200))
        try await producer.abortTransaction()
        try cluster.bringBrokerUp(2)
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while producer.outstandingCount > 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(producer.untrackedDeliveryFailures > 0, "the purged records reported failures")
        #expect(producer.untrackedDeliveryFailuresNotPurged == 0, "none of them counts as a record that was to be delivered")

        // The next transaction waits for its own records only and commits.
        try producer.beginTransaction()
        let before = producer.untrackedDeliveryFailuresNotPurged
        try producer.send(KafkaProducerMessage(topic: out, partition: 0, key: Array("k".utf8), value: Array("after".utf8)))
        try producer.awaitDeliveries(failuresBefore: before)
        try await producer.commitTransaction()
        let records = try await TestKafka.readToEnd(cluster, partitions: [KafkaTopicPartition(topic: out, partition: 0)])
        #expect(records.compactMap(\.valueString).last == "after")
        await producer.close()
    }
}
