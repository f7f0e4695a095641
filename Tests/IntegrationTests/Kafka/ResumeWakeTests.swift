import Foundation
import Kafka
import TestSupport
import Testing

@Suite("Resuming a partition")
struct ResumeWakeTests {
    @Test(
        "resume sends a fetcher wake-up round (librdkafka 2.0.2 otherwise fetches a resumed partition only when its broker thread next wakes), and the partition's records all arrive"
    )
    func resumeWakes() async throws {
        let cluster = try TestKafka.cluster()
        let topic = TestKafka.uniqueName("resume")
        try cluster.createTopic(topic, partitions: 1)
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger("p"))
        _ = try await producer.send(batch: (0..<100).map { KafkaProducerMessage(topic: topic, partition: 0, key: "k\($0)", value: "v\($0)") })
        let consumer = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(cluster, group: nil), logger: TestKafka.logger("c"))
        let tp = KafkaTopicPartition(topic: topic, partition: 0)
        try consumer.assign([KafkaTopicPartitionOffset(topic: topic, partition: 0, offset: KafkaOffset.beginning)])
        #expect(try await TestKafka.collect(consumer, count: 100, timeout: .seconds(30)).count == 100)
        try consumer.pause([tp])
        _ = try await producer.send(batch: (100..<200).map { KafkaProducerMessage(topic: topic, partition: 0, key: "k\($0)", value: "v\($0)") })
        #expect(try await consumer.pollBatch(maxMessages: 100, timeout: .milliseconds(300)).isEmpty, "paused: nothing fetched")
        let before = consumer.fetcherWakeups
        try consumer.resume([tp])
        let rest = try await TestKafka.collect(consumer, count: 100, timeout: .seconds(30))
        #expect(rest.map(\.offset) == Array(100..<200), "every record after the pause, once, in order")
        // The round runs on the waker's thread and counts when its answer is in.
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while consumer.fetcherWakeups == before && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(consumer.fetcherWakeups == before + 1, "one wake-up round for the resume")
        try await consumer.close()
        await producer.close()
    }
}
