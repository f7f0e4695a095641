import Foundation
import Kafka
import TestSupport
import Testing

@Suite("Admin and offsets on the in-process cluster")
struct AdminTests {
    @Test("group offsets can be listed and altered; an alter is refused while the group has a live member")
    func groupOffsets() async throws {
        let cluster = try TestKafka.cluster()
        let topic = TestKafka.uniqueName("admin")
        let group = TestKafka.uniqueName("group")
        try cluster.createTopic(topic, partitions: 2)
        let admin = try KafkaAdminClient(configuration: KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers), logger: TestKafka.logger("a"))
        let topics = try await admin.listTopics()
        #expect(topics.first { $0.name == topic }?.partitions.count == 2)

        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger("p"))
        _ = try await producer.send(batch: (0..<10).map { KafkaProducerMessage(topic: topic, partition: Int32($0 % 2), key: nil, value: String($0)) })

        let consumer = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(cluster, group: group), logger: TestKafka.logger("c"))
        try consumer.subscribe(topics: [topic])
        _ = try await TestKafka.collect(consumer, count: 10)
        try await consumer.commit([
            KafkaTopicPartitionOffset(topic: topic, partition: 0, offset: 5),
            KafkaTopicPartitionOffset(topic: topic, partition: 1, offset: 5),
        ])
        let listed = try await admin.listConsumerGroupOffsets(
            group: group,
            partitions: [
                KafkaTopicPartition(topic: topic, partition: 0), KafkaTopicPartition(topic: topic, partition: 1),
            ])
        #expect(Set(listed.map(\.offset)) == [5])

        let refused = await #expect(throws: KafkaError.self) {
            _ = try await admin.alterConsumerGroupOffsets(group: group, offsets: [KafkaTopicPartitionOffset(topic: topic, partition: 0, offset: 0)])
        }
        #expect(refused?.code == .unknownMemberID, "a live group must not be reset")

        try await consumer.close()

        // A group with no members takes the alter. (The mock cluster keeps refusing a group that
        // ever had a member, even after it left: Docs/operations.md. A group that never joined
        // stands in for a stopped one here.)
        let stopped = TestKafka.uniqueName("stopped-group")
        let altered = try await admin.alterConsumerGroupOffsets(
            group: stopped,
            offsets: [
                KafkaTopicPartitionOffset(topic: topic, partition: 0, offset: 1),
                KafkaTopicPartitionOffset(topic: topic, partition: 1, offset: 2),
            ])
        #expect(altered.map(\.offset).sorted() == [1, 2])
        let after = try await admin.listConsumerGroupOffsets(
            group: stopped,
            partitions: [
                KafkaTopicPartition(topic: topic, partition: 0), KafkaTopicPartition(topic: topic, partition: 1),
            ])
        #expect(after.sorted { $0.partition < $1.partition }.map(\.offset) == [1, 2])
        await producer.close()
    }

    @Test("offsets for a timestamp: the first record at or after it, by the broker or by binary search")
    func offsetsForTimestamp() async throws {
        let cluster = try TestKafka.cluster()
        let topic = TestKafka.uniqueName("times")
        try cluster.createTopic(topic, partitions: 1)
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger("p"))
        let base: Int64 = 1_750_000_000_000
        _ = try await producer.send(
            batch: (0..<200).map {
                KafkaProducerMessage(topic: topic, partition: 0, key: nil, value: String($0), timestamp: base + Int64($0) * 1000)
            })
        let tp = KafkaTopicPartition(topic: topic, partition: 0)
        let locator = KafkaTimestampLocator(
            client: KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers), logger: TestKafka.logger("l"))
        let middle = try await locator.offset(for: tp, atOrAfter: base + 120_500)
        #expect(middle.offset == 121)
        let exact = try await locator.offset(for: tp, atOrAfter: base + 42_000)
        #expect(exact.offset == 42)
        let beforeAll = try await locator.offset(for: tp, atOrAfter: base - 10_000)
        #expect(beforeAll.offset == 0)
        let afterAll = try await locator.offset(for: tp, atOrAfter: base + 999_000)
        #expect(afterAll.offset == 200, "past the last record: the high watermark")

        // What the broker itself answers (the mock: -1 for every timestamp) decides the method.
        let consumer = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(cluster, group: nil), logger: TestKafka.logger("c"))
        let native = try await consumer.offsetsForTimes([tp: base + 120_500])
        if native.first?.offset == 121 {
            #expect(middle.method == .broker)
        } else {
            guard case .binarySearch(let probes) = middle.method else {
                Issue.record("expected the binary-search fallback, got \(middle.method)")
                return
            }
            #expect(probes <= 12, "a binary search over 200 records needs about log2(200) probes")
        }
        try await consumer.close()
        await producer.close()
    }
}
