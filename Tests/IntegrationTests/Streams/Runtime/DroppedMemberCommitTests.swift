import Foundation
import Kafka
import Logging
import TestSupport
import Testing

@testable import Streams

/// A member the group dropped while it was alive (its session timed out while a broker was down,
/// or it starved of CPU) must not commit the transaction it has in flight: another member may
/// have restored its tasks already. The in-process cluster does not fence such a zombie (a real
/// broker refuses its offsets), so the worker itself checks before it sends anything and again
/// before the commit markers.
@Suite("A member dropped from its group does not commit")
struct DroppedMemberCommitTests {
    /// One transaction of one task: an output, a store change, the commit marker.
    static func pending(batch: String, changelog: String, consumer: KafkaConsumer) throws -> PendingCommit {
        let pending = PendingCommit(batch: batch, changelog: changelog, metrics: StreamMetrics(processor: "dropped", thread: 0))
        pending.tasks.append(
            .init(
                partition: 0, file: nil, outputs: OutputBatch([OutputRecord(topic: "out", key: "k", value: Array(batch.utf8))]),
                changes: [(store: "s", key: "k", value: Array(batch.utf8))], streamTime: 0, positions: ["in": 1], abortNotes: [], consumed: [:],
                oldestInput: nil))
        pending.offsets = [KafkaTopicPartitionOffset(topic: "in", partition: 0, offset: 1)]
        pending.groupConsumer = consumer
        pending.groupMetadata = try consumer.groupMetadata()
        pending.memberID = consumer.memberID
        return pending
    }

    @Test(
        "after its assignment is lost (the coordinator no longer knows it), the transaction in flight aborts: no commit marker, an error that requires an abort"
    )
    func lostMemberAborts() async throws {
        let cluster = try TestKafka.cluster()
        let changelog = TestKafka.uniqueName("changelog")
        for topic in ["in", "out", changelog] { try cluster.createTopic(topic, partitions: 1) }
        let consumer = try KafkaConsumer(
            configuration: TestKafka.consumerConfiguration(cluster, group: TestKafka.uniqueName("group")), logger: TestKafka.logger("member"))
        try consumer.subscribe(topics: ["in"])
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while (try consumer.assignment()).isEmpty && ContinuousClock.now < deadline { _ = try await consumer.pollBatch(timeout: .milliseconds(100)) }
        try #require(try !consumer.assignment().isEmpty, "joined the group")
        var configuration = TestKafka.producerConfiguration(cluster)
        configuration.transactionalID = TestKafka.uniqueName("tx")
        let producer = try KafkaProducer(configuration: configuration, logger: TestKafka.logger("producer"))
        try await producer.initTransactions()
        let logger = TestKafka.logger("commit")

        // A member in good standing commits.
        let healthy = try Self.pending(batch: "member:life:1", changelog: changelog, consumer: consumer)
        healthy.run(producer: producer, logger: logger)
        #expect(healthy.error == nil, "a member of the group commits")

        // The transaction is handed over; then the coordinator drops the member (its next
        // heartbeats answer UNKNOWN_MEMBER_ID, as after a session timeout). The consumer is not
        // polled: the loss is not handled yet, as when the loop thread is busy or starved.
        let inFlight = try Self.pending(batch: "member:life:2", changelog: changelog, consumer: consumer)
        cluster.injectRequestErrors(.heartbeat, Array(repeating: .unknownMemberID, count: 5))
        while !consumer.assignmentLost && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        try #require(consumer.assignmentLost, "librdkafka noticed that the group dropped the member")
        inFlight.run(producer: producer, logger: logger)
        #expect(inFlight.error?.code == .unknownMemberID, "the transaction of a dropped member does not commit")
        #expect(inFlight.error?.transactionRequiresAbort == true)
        try await producer.abortTransaction()

        let changelogRecords = try await TestKafka.readToEnd(cluster, partitions: [KafkaTopicPartition(topic: changelog, partition: 0)])
        let markers = changelogRecords.filter { $0.keyString == ChangelogFormat.commitKey }.compactMap(\.valueString)
        #expect(markers == ["member:life:1"], "only the member in good standing wrote a commit marker")
        cluster.clearRequestErrors(.heartbeat)
        await producer.close()
        // The consumer polled until librdkafka has handled the loss and the member is back in the
        // group before it closes: librdkafka 2.0.2 aborts the process (rd_kafka_cgrp_terminated:
        // assert !rd_kafka_assignment_in_progress, librdkafka issue #4027) when a consumer closes
        // while an assignment change is still in progress — a fresh-clone CI crashed there once.
        let settle = ContinuousClock.now.advanced(by: .seconds(60))
        while try (consumer.assignmentLost || consumer.assignment().isEmpty) && ContinuousClock.now < settle {
            _ = try await consumer.pollBatch(timeout: .milliseconds(100))
        }
        for _ in 0..<5 { _ = try await consumer.pollBatch(timeout: .milliseconds(100)) }
        try? await consumer.close()
    }
}
