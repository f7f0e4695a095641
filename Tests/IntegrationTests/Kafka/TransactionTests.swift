import Kafka
import TestSupport
import Testing

@Suite("Transactions on the in-process cluster")
struct TransactionTests {
    @Test("a read_committed consumer sees the committed transaction and not the aborted one")
    func committedAndAborted() async throws {
        let cluster = try TestKafka.cluster()
        let topic = TestKafka.uniqueName("txn")
        try cluster.createTopic(topic, partitions: 2)
        var configuration = TestKafka.producerConfiguration(cluster)
        configuration.transactionalID = TestKafka.uniqueName("txn-producer")
        let producer = try KafkaProducer(configuration: configuration, logger: TestKafka.logger("p"))
        try await producer.initTransactions()

        try producer.beginTransaction()
        for i in 0..<10 { try producer.send(KafkaProducerMessage(topic: topic, partition: Int32(i % 2), key: "c\(i)", value: "committed")) }
        try await producer.commitTransaction()

        try producer.beginTransaction()
        for i in 0..<10 { try producer.send(KafkaProducerMessage(topic: topic, partition: Int32(i % 2), key: "a\(i)", value: "aborted")) }
        try await producer.flush(timeout: .seconds(10))  // make sure they reached the log
        try await producer.abortTransaction()

        try producer.beginTransaction()
        try producer.send(KafkaProducerMessage(topic: topic, partition: 0, key: "after", value: "committed"))
        try await producer.commitTransaction()

        let readCommitted = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(cluster, group: nil), logger: TestKafka.logger("rc"))
        try readCommitted.assign((0..<2).map { KafkaTopicPartitionOffset(topic: topic, partition: $0, offset: KafkaOffset.beginning) })
        // `collect` returns once 21 arrived: the timeout is only for a slow, loaded machine (5 s
        // saw none in a CI run where this test's transactions alone took a minute).
        let seen = try await TestKafka.collect(readCommitted, count: 21, timeout: .seconds(30))
        #expect(seen.filter { $0.valueString == "committed" }.count == 11, "every committed record arrives")
        // librdkafka 2.0.2's mock cluster keeps no aborted-transaction index and no last stable
        // offset, so read_committed consumers see aborted records there (verified with a plain C
        // client too; Docs/architecture.md). On a real broker this expectation holds; the known
        // issue turns into a failure the day the mock starts filtering.
        withKnownIssue("librdkafka 2.0.2 mock cluster does not hide aborted transactions") {
            #expect(seen.allSatisfy { $0.valueString == "committed" }, "read_committed hides the aborted records")
        }

        var uncommittedConfiguration = TestKafka.consumerConfiguration(cluster, group: nil)
        uncommittedConfiguration.isolationLevel = .readUncommitted
        let readUncommitted = try KafkaConsumer(configuration: uncommittedConfiguration, logger: TestKafka.logger("ru"))
        try readUncommitted.assign((0..<2).map { KafkaTopicPartitionOffset(topic: topic, partition: $0, offset: KafkaOffset.beginning) })
        let all = try await TestKafka.collect(readUncommitted, count: 21, timeout: .seconds(20))
        #expect(all.filter { $0.valueString == "aborted" }.count == 10, "the aborted records were written, only hidden")
        try await readCommitted.close()
        try await readUncommitted.close()
        await producer.close()
    }

    @Test("consumer offsets can be sent to a transaction with the consumer's group metadata")
    func offsetsToTransaction() async throws {
        let cluster = try TestKafka.cluster()
        let input = TestKafka.uniqueName("in")
        let group = TestKafka.uniqueName("group")
        try cluster.createTopic(input, partitions: 1)
        let plain = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger("p"))
        _ = try await plain.send(batch: (0..<5).map { KafkaProducerMessage(topic: input, key: nil, value: String($0)) })
        let consumer = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(cluster, group: group), logger: TestKafka.logger("c"))
        try consumer.subscribe(topics: [input])
        let got = try await TestKafka.collect(consumer, count: 5)
        #expect(got.count == 5)

        var configuration = TestKafka.producerConfiguration(cluster)
        configuration.transactionalID = TestKafka.uniqueName("eos")
        let producer = try KafkaProducer(configuration: configuration, logger: TestKafka.logger("t"))
        try await producer.initTransactions()
        try producer.beginTransaction()
        try await producer.sendOffsetsToTransaction(
            [KafkaTopicPartitionOffset(topic: input, partition: 0, offset: 5)], groupMetadata: consumer.groupMetadata())
        try await producer.commitTransaction()
        // The mock cluster acknowledges these offsets but does not store them as the group's
        // committed offsets (Docs/architecture.md); on real Kafka committed() would now say 5.
        // The exactly-once design therefore does not rely on them.
        try await consumer.close()
        await producer.close()
        await plain.close()
    }

    @Test("transaction calls on a producer without transactionalID are refused")
    func transactionsNeedID() throws {
        let cluster = try TestKafka.cluster(brokers: 1)
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger("p"))
        let error = #expect(throws: KafkaError.self) { try producer.beginTransaction() }
        #expect(error?.code == .invalidState)
    }
}
