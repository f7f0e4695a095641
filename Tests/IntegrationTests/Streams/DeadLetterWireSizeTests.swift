import Kafka
import Streams
import TestSupport
import Testing

@Suite("Dead-letter size against librdkafka's own check")
struct DeadLetterWireSizeTests {
    @Test("librdkafka accepts a record whose counted size is exactly message.max.bytes and refuses one byte more: DeadLetter.wireSize is its rule")
    func librdkafkaAgrees() async throws {
        let cluster = try TestKafka.cluster(brokers: 1)
        let topic = TestKafka.uniqueName("size")
        try cluster.createTopic(topic, partitions: 1, replicationFactor: 1)
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger("p"))
        let headers = [StreamRecord.Header(key: "dlq-reason", value: "MALFORMED_JSON"), StreamRecord.Header(key: "h", value: Array(repeating: 7, count: 300))]
        let key = Array("WO-4711".utf8)
        let room = DeadLetter.messageMaxBytes - DeadLetter.wireSize(key: key, value: [], headers: headers)
        func message(_ valueSize: Int) -> KafkaProducerMessage {
            KafkaProducerMessage(
                topic: topic, partition: 0, key: key, value: Array(repeating: 0x78, count: valueSize),
                headers: headers.map { KafkaHeader(key: $0.key, value: $0.value) })
        }
        #expect(DeadLetter.wireSize(key: key, value: Array(repeating: 0, count: room), headers: headers) == 1_000_000)
        let report = try await producer.sendAndAwait(message(room))
        #expect(report.offset == 0, "exactly message.max.bytes (librdkafka's default, 1,000,000) is sent")
        let refused = await #expect(throws: KafkaError.self) { try await producer.sendAndAwait(message(room + 1)) }
        #expect(refused?.code == .messageSizeTooLarge, "one byte more is refused: \(refused.map { "\($0)" } ?? "")")
        await producer.close()
    }
}
