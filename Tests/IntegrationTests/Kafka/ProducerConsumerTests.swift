import Foundation
import Kafka
import TestSupport
import Testing

@Suite("Producer and consumer on the in-process cluster")
struct ProducerConsumerTests {
    @Test("a consumed message keeps key, value and headers apart in its one buffer: absent, empty and set values, and each part changed on its own")
    func messageParts() {
        var message = KafkaConsumerMessage(
            topic: "t", partition: 1, offset: 7, key: Array("k".utf8), value: [],
            headers: [KafkaHeader(key: "a", value: "1"), KafkaHeader(key: "null", value: nil as [UInt8]?), KafkaHeader(key: "", value: [UInt8]())])
        #expect(message.key == Array("k".utf8) && message.value == [])
        #expect(
            message.headers == [KafkaHeader(key: "a", value: "1"), KafkaHeader(key: "null", value: nil as [UInt8]?), KafkaHeader(key: "", value: [UInt8]())])
        message.value = Array("payload".utf8)
        message.key = nil
        #expect(message.valueString == "payload" && message.key == nil && message.headers.count == 3)
        message.headers.append(KafkaHeader(key: "b", value: "2"))
        #expect(message.headers.last == KafkaHeader(key: "b", value: "2") && message.valueString == "payload")
        let bare = KafkaConsumerMessage(topic: "t", partition: 0, offset: 0, key: nil, value: nil)
        #expect(bare.key == nil && bare.value == nil && bare.headers.isEmpty)
    }

    @Test("a header made from text equals and hashes like one made from its UTF-8 bytes, and differs from no value")
    func headerValueForms() {
        let text = KafkaHeader(key: "k", value: "é-1")
        let bytes = KafkaHeader(key: "k", value: Array("é-1".utf8))
        #expect(text == bytes && text.hashValue == bytes.hashValue && Set([text, bytes]).count == 1)
        #expect(text.value == Array("é-1".utf8) && bytes.stringValue == "é-1")
        #expect(KafkaHeader(key: "k", value: "") == KafkaHeader(key: "k", value: [UInt8]()))
        #expect(KafkaHeader(key: "k", value: "") != KafkaHeader(key: "k", value: nil as [UInt8]?), "empty is not absent")
        #expect(KafkaHeader(key: "k", value: "\u{E9}") != KafkaHeader(key: "k", value: "e\u{301}"), "bytes, not canonical equivalence")
        var changed = text
        changed.value = [1, 2]
        #expect(changed.value == [1, 2] && changed.stringValue != "é-1")
        text.withValueBytes { #expect($0.map(Array.init) == Array("é-1".utf8)) }
    }

    @Test("a round trip keeps keys, values, headers, partitions and timestamps")
    func roundTripKeepsEverything() async throws {
        let cluster = try TestKafka.cluster()
        let topic = TestKafka.uniqueName("roundtrip")
        try cluster.createTopic(topic, partitions: 3)
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger("p"))
        let sent = (0..<30).map { i in
            KafkaProducerMessage(
                topic: topic, partition: Int32(i % 3), key: "key-\(i)", value: "value-\(i)",
                headers: [
                    KafkaHeader(key: "correlation-id", value: "corr-\(i)"),
                    KafkaHeader(key: "empty", value: [UInt8]()),
                    KafkaHeader(key: "empty-text", value: ""),
                    KafkaHeader(key: "null", value: nil as [UInt8]?),
                ],
                timestamp: 1_700_000_000_000 + Int64(i))
        }
        let reports = try await producer.send(batch: sent)
        #expect(reports.count == 30)
        #expect(reports.map(\.partition) == sent.map { $0.partition! })
        let single = try await producer.sendAndAwait(
            KafkaProducerMessage(topic: topic, partition: 0, key: nil as [UInt8]?, value: nil as [UInt8]?))
        #expect(single.partition == 0)

        let consumer = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(cluster, group: nil), logger: TestKafka.logger("c"))
        try consumer.assign((0..<3).map { KafkaTopicPartitionOffset(topic: topic, partition: $0, offset: KafkaOffset.beginning) })
        let received = try await TestKafka.collect(consumer, count: 31)
        #expect(received.count == 31)
        let byKey = Dictionary(received.compactMap { m in m.keyString.map { ($0, m) } }, uniquingKeysWith: { a, _ in a })
        for (i, message) in sent.enumerated() {
            let got = try #require(byKey["key-\(i)"], "message key-\(i) missing")
            #expect(got.valueString == "value-\(i)")
            #expect(got.partition == message.partition)
            #expect(got.timestamp == KafkaTimestamp(milliseconds: 1_700_000_000_000 + Int64(i), kind: .createTime))
            #expect(got.headers == message.headers, "headers keep order, empty and null values")
            #expect(got.offset == reports[i].offset)
        }
        let tombstone = try #require(received.first { $0.key == nil })
        #expect(tombstone.value == nil, "a nil value stays a tombstone")
        try await consumer.close()
        await producer.close()
    }

    @Test(
        "a packed record reaches the broker as the same message does: key, value, headers (empty, null, unnamed, non-ASCII), partition, timestamp, and the extra header last"
    )
    func packedRecordsMatchMessages() async throws {
        let cluster = try TestKafka.cluster()
        let packedTopic = TestKafka.uniqueName("packed")
        let messageTopic = TestKafka.uniqueName("messages")
        try cluster.createTopic(packedTopic, partitions: 3)
        try cluster.createTopic(messageTopic, partitions: 3)
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger("p"))
        let extra = KafkaHeader(key: "mw-batch", value: "b:7")
        var records = KafkaPackedRecords()
        var sent: [KafkaProducerMessage] = []
        for i in 0..<30 {
            let headers = [
                KafkaHeader(key: "correlation-id", value: "corr-\(i)"), KafkaHeader(key: "empty", value: [UInt8]()),
                KafkaHeader(key: "null", value: nil as [UInt8]?), KafkaHeader(key: "", value: "unnamed"), KafkaHeader(key: "grüße", value: "✓ \(i)"),
            ]
            let key: [UInt8]? = i % 5 == 4 ? nil : Array("key-\(i)".utf8)
            let value: [UInt8]? = i % 7 == 6 ? nil : Array("value-\(i)".utf8)
            // Keyless records name their partition: the partitioner places them at random.
            let partition: Int32? = i % 2 == 0 || key == nil ? Int32(i % 3) : nil
            let timestamp: Int64? = i % 3 == 0 ? nil : 1_700_000_000_000 + Int64(i)
            records.append(topic: packedTopic, partition: partition, key: key, value: value, headers: headers, timestamp: timestamp)
            sent.append(
                KafkaProducerMessage(topic: messageTopic, partition: partition, key: key, value: value, headers: headers + [extra], timestamp: timestamp))
        }
        try records.forEachRecord { (record) throws(KafkaError) in try producer.send(record, extraHeader: extra) }
        for message in sent { try producer.send(message) }
        try await producer.flush(timeout: .seconds(30))
        #expect(producer.untrackedDeliveryFailures == 0)

        func read(_ topic: String) async throws -> [KafkaConsumerMessage] {
            let consumer = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(cluster, group: nil), logger: TestKafka.logger("c"))
            try consumer.assign((0..<3).map { KafkaTopicPartitionOffset(topic: topic, partition: $0, offset: KafkaOffset.beginning) })
            let received = try await TestKafka.collect(consumer, count: 30)
            try await consumer.close()
            // Both topics' records by the correlation id they carry.
            return received.sorted { ($0.headers.first?.stringValue ?? "") < ($1.headers.first?.stringValue ?? "") }
        }
        let viaPacked = try await read(packedTopic)
        let viaMessages = try await read(messageTopic)
        #expect(viaPacked.count == 30 && viaMessages.count == 30)
        for (packed, message) in zip(viaPacked, viaMessages) {
            #expect(packed.key == message.key && packed.value == message.value, "key and value, absent kept absent")
            #expect(packed.headers == message.headers, "the same headers in the same order, the extra one last")
            #expect(packed.partition == message.partition, "the same partition, named or by key")
            let number: Int? = packed.headers.first?.stringValue.flatMap { Int($0.dropFirst("corr-".count)) }
            if let number, number % 3 != 0 {
                #expect(packed.timestamp?.milliseconds == 1_700_000_000_000 + Int64(number), "the record's own timestamp")
                #expect(packed.timestamp == message.timestamp)
            }
        }
        let first = try #require(viaPacked.first { $0.headers.first?.stringValue == "corr-1" })
        #expect(first.headers.map(\.key) == ["correlation-id", "empty", "null", "", "grüße", "mw-batch"])
        #expect(first.headers[1].value == [] && first.headers[2].value == nil && first.headers[4].stringValue == "✓ 1")
        await producer.close()
    }

    @Test("a consumer that drains a small prefetch again and again wakes librdkafka's fetchers, and still gets every message once, in order per partition")
    func fetcherWakeups() async throws {
        let cluster = try TestKafka.cluster()
        let topic = TestKafka.uniqueName("wake")
        try cluster.createTopic(topic, partitions: 3)
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger("p"))
        // In 30 rounds, so the log holds small batches: a fetch returns at least one whole batch.
        for round in 0..<30 {
            let sent = (round * 100..<(round + 1) * 100).map { i in KafkaProducerMessage(topic: topic, partition: Int32(i % 3), key: "k\(i)", value: "v\(i)") }
            _ = try await producer.send(batch: sent)
        }
        await producer.close()

        func consume(wake: Bool, count: Int, prefetchAsProperty: Bool = false) async throws -> (messages: [KafkaConsumerMessage], wakeups: Int) {
            var configuration = TestKafka.consumerConfiguration(cluster, group: nil)
            if prefetchAsProperty {
                // As an operator sets it (`MILLWRIGHT_KAFKA_QUEUED_MIN_MESSAGES`): the property wins
                // over `maxPrefetchedMessages` (left at 100,000), and the waker must count with it.
                configuration.client.additionalProperties["queued.min.messages"] = "200"
            } else {
                configuration.maxPrefetchedMessages = 200
            }
            configuration.wakeFetcherAfterDrain = wake
            // Small fetches: the records arrive a few dozen at a time, so polls come back short.
            configuration.client.additionalProperties["max.partition.fetch.bytes"] = "1024"
            let consumer = try KafkaConsumer(configuration: configuration, logger: TestKafka.logger("c"))
            try consumer.assign((0..<3).map { KafkaTopicPartitionOffset(topic: topic, partition: $0, offset: KafkaOffset.beginning) })
            let messages = try await TestKafka.collect(consumer, count: count, timeout: .seconds(60))
            // A round runs on the waker's thread: give the last one requested time to finish.
            let deadline = ContinuousClock.now.advanced(by: .seconds(10))
            while wake && consumer.fetcherWakeups == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            let wakeups = consumer.fetcherWakeups
            try await consumer.close()
            return (messages, wakeups)
        }
        let woken = try await consume(wake: true, count: 3_000)
        #expect(woken.messages.count == 3_000)
        #expect(woken.wakeups >= 1, "polls came back short after more than half a prefetch went through")
        for partition in Int32(0)..<3 {
            let offsets = woken.messages.filter { $0.partition == partition }.map(\.offset)
            #expect(offsets == Array(0..<1_000), "partition \(partition): every offset once, in order")
        }
        let property = try await consume(wake: true, count: 3_000, prefetchAsProperty: true)
        #expect(property.messages.count == 3_000)
        #expect(property.wakeups >= 1, "the prefetch given as librdkafka's property sets the waker's threshold too")
        let plain = try await consume(wake: false, count: 300)
        #expect(plain.messages.count >= 300)
        #expect(plain.wakeups == 0, "switched off, no round is sent")
    }

    @Test("an unknown property or a bad value fails construction naming the property")
    func invalidPropertyIsNamed() throws {
        let cluster = try TestKafka.cluster(brokers: 1)
        var configuration = TestKafka.producerConfiguration(cluster)
        configuration.client.additionalProperties = ["no.such.property": "1"]
        let unknown = #expect(throws: KafkaError.self) { try KafkaProducer(configuration: configuration, logger: TestKafka.logger("p")) }
        #expect(unknown?.code == .configuration)
        #expect(unknown?.reason.contains("no.such.property") == true)
        #expect(unknown?.reason.contains("unknown property") == true)

        configuration.client.additionalProperties = ["linger.ms": "banana"]
        let invalid = #expect(throws: KafkaError.self) { try KafkaProducer(configuration: configuration, logger: TestKafka.logger("p")) }
        #expect(invalid?.reason.contains("linger.ms") == true)
        #expect(invalid?.reason.contains("banana") == true)

        var consumerConfiguration = TestKafka.consumerConfiguration(cluster, group: "g")
        consumerConfiguration.client.additionalProperties = ["isolation.level": "sometimes"]
        let consumerError = #expect(throws: KafkaError.self) {
            try KafkaConsumer(configuration: consumerConfiguration, logger: TestKafka.logger("c"))
        }
        #expect(consumerError?.reason.contains("isolation.level") == true)

        let empty = #expect(throws: KafkaError.self) {
            try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: []), logger: TestKafka.logger("p"))
        }
        #expect(empty?.reason.contains("bootstrapServers") == true)
    }

    @Test("a broker taken down during produce and brought back: nothing lost, order per partition kept")
    func brokerDownDuringProduce() async throws {
        let cluster = try TestKafka.cluster(brokers: 3)
        let topic = TestKafka.uniqueName("outage")
        try cluster.createTopic(topic, partitions: 3, replicationFactor: 3)
        for p in Int32(0)..<3 { try cluster.setPartitionLeader(topic: topic, partition: p, broker: p + 1) }
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger("p"))
        let total = 3000
        for i in 0..<total {
            if i == 1000 { try cluster.takeBrokerDown(2) }
            if i == 2000 {
                try await Task.sleep(for: .seconds(1))
                try cluster.bringBrokerUp(2)
            }
            try producer.send(KafkaProducerMessage(topic: topic, partition: Int32(i % 3), key: "k", value: String(i)))
            if i % 200 == 0 { try await Task.sleep(for: .milliseconds(20)) }
        }
        try await producer.flush(timeout: .seconds(60))
        #expect(producer.untrackedDeliveryFailures == 0)

        let consumer = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(cluster, group: nil), logger: TestKafka.logger("c"))
        try consumer.assign((0..<3).map { KafkaTopicPartitionOffset(topic: topic, partition: $0, offset: KafkaOffset.beginning) })
        let received = try await TestKafka.collect(consumer, count: total, timeout: .seconds(60))
        #expect(received.count == total)
        for p in Int32(0)..<3 {
            let values = received.filter { $0.partition == p }.map { Int($0.valueString!)! }
            let expected = Array(stride(from: Int(p), to: total, by: 3))
            #expect(values == expected, "partition \(p) has every record once, in send order")
        }
        try await consumer.close()
        await producer.close()
    }

    @Test("the messages sequence yields records in order and ends when the consumer closes")
    func messagesSequence() async throws {
        let cluster = try TestKafka.cluster(brokers: 1)
        let topic = TestKafka.uniqueName("sequence")
        try cluster.createTopic(topic, partitions: 1, replicationFactor: 1)
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger("p"))
        _ = try await producer.send(batch: (0..<100).map { KafkaProducerMessage(topic: topic, key: nil, value: String($0)) })
        let consumer = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(cluster, group: nil), logger: TestKafka.logger("c"))
        try consumer.assign([KafkaTopicPartitionOffset(topic: topic, partition: 0, offset: KafkaOffset.beginning)])
        var values: [Int] = []
        for try await message in consumer.messages {
            values.append(Int(message.valueString!)!)
            if values.count == 100 { try await consumer.close() }
        }
        #expect(values == Array(0..<100))
        await producer.close()
    }
}
