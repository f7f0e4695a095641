import Foundation
import Kafka
import Manufacturing
import Streams
import TestSupport
import Testing

@Suite("Dead letters on the in-process cluster")
struct DeadLetterTests {
    @Test("poison input goes to ops.dead-letter.v1 unchanged with reason and origin headers, and processing goes on")
    func poisonIsDeadLetteredAndProcessingGoesOn() async throws {
        let cluster = try TestKafka.cluster()
        let input = "erp.order-approved.v1"
        try cluster.createTopic(input, partitions: 1)
        try cluster.createTopic(DeadLetter.topic, partitions: 3)
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger("p"))

        // Poison and valid events interleaved on one partition: valid ones come after poison ones.
        let examples = try Examples.expectations(input).sorted { $0.file.hasPrefix("invalid") && !$1.file.hasPrefix("invalid") }
        var sent: [(file: String, expected: String, bytes: [UInt8], offset: Int64)] = []
        for (index, example) in examples.enumerated() {
            let bytes = try Examples.bytes(input, example.file)
            let report = try await producer.sendAndAwait(
                KafkaProducerMessage(
                    topic: input, partition: 0, key: Array("key-\(index)".utf8), value: bytes,
                    headers: [KafkaHeader(key: "traceparent", value: "00-\(index)"), KafkaHeader(key: "correlation-id", value: "hdr-\(index)")],
                    timestamp: 1_790_000_000_000 + Int64(index)))
            sent.append((example.file, example.expected, bytes, report.offset))
        }
        let poison = sent.filter { $0.expected != "valid" }
        #expect(poison.count >= 20)

        // The decode stage: every record becomes an event or a dead letter.
        let consumer = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(cluster, group: nil), logger: TestKafka.logger("c"))
        try consumer.assign([KafkaTopicPartitionOffset(topic: input, partition: 0, offset: KafkaOffset.beginning)])
        var decoded: [String] = []
        for message in try await TestKafka.collect(consumer, count: sent.count) {
            switch InputRoute(StreamRecord(message), as: OrderApproved.self) {
            case .event(let order): decoded.append(order.data.orderId)
            case .deadLetter(let record, _): _ = try await producer.sendAndAwait(KafkaProducerMessage(record))
            }
        }
        #expect(decoded.count == sent.count - poison.count, "every valid event after the poison ones was processed")
        try await consumer.close()

        let reader = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(cluster, group: nil), logger: TestKafka.logger("d"))
        try reader.assign((0..<3).map { KafkaTopicPartitionOffset(topic: DeadLetter.topic, partition: $0, offset: KafkaOffset.beginning) })
        let letters = try await TestKafka.collect(reader, count: poison.count)
        #expect(letters.count == poison.count)
        for letter in letters {
            let offset = try #require(letter.headers.last("original-offset")?.stringValue.flatMap { Int64($0) })
            let original = try #require(sent.first { $0.offset == offset })
            let index = try #require(sent.firstIndex { $0.offset == offset })
            #expect(letter.value ?? [] == original.bytes, "\(original.file): the value is the original bytes, unchanged")
            #expect(letter.key == Array("key-\(index)".utf8), "the original key is kept")
            #expect(letter.headers.last("dlq-reason")?.stringValue == original.expected, "\(original.file)")
            #expect(letter.headers.last("dlq-error")?.stringValue?.isEmpty == false)
            if original.file.contains("quantity-negative") {
                #expect(letter.headers.last("dlq-error")?.stringValue == "data.quantity: must be ≥ 0, found -120", "the error names the field and the rule")
            }
            #expect(letter.headers.last("original-topic")?.stringValue == input)
            #expect(letter.headers.last("original-partition")?.stringValue == "0")
            #expect(letter.headers.last("original-timestamp")?.stringValue == String(1_790_000_000_000 + Int64(index)))
            #expect(letter.headers.last("traceparent")?.stringValue == "00-\(index)", "every original header is kept")
            #expect(letter.headers.last("correlation-id")?.stringValue == "hdr-\(index)")
        }
        try await reader.close()
        await producer.close()
    }
}
