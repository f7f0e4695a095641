import Foundation
import Kafka
import Streams
import TestSupport
import Testing

@Suite("The key partitioner against librdkafka")
struct KeyPartitionerWireTests {
    @Test("the runtime's key partitioner puts every key where librdkafka's murmur2_random producer (the workers' and the Java client's) puts it")
    func agreesWithLibrdkafka() async throws {
        let cluster = try TestKafka.cluster(brokers: 1)
        let topic = TestKafka.uniqueName("murmur")
        try cluster.createTopic(topic, partitions: 12, replicationFactor: 1)
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger("murmur"))
        let keys = (0..<500).map { "WO-\($0 * 7919)-\($0 % 90)" } + ["", "é", "a", "ab", "abc", "abcd", "abcde"]
        let reports = try await producer.send(batch: keys.map { KafkaProducerMessage(topic: topic, key: Array($0.utf8), value: Array("v".utf8)) })
        await producer.close()
        #expect(reports.count == keys.count)
        for (key, report) in zip(keys, reports) {
            #expect(report.partition == KeyPartitioner.partition(forKey: Array(key.utf8), partitions: 12), "key '\(key)'")
        }
    }
}
