import Foundation
import Kafka
import Manufacturing
import Streams
import TestSupport

/// Master data, envelopes and records for the master-data tests.
public enum MasterDataFixtures {
    public static let occurredAt = Timestamp(milliseconds: 1_795_000_000_000)

    public static let plant = Plant(plantCode: "P100", name: "Augsburg", timezone: "Europe/Berlin", status: .active)
    public static let inactivePlant = Plant(plantCode: "P200", name: "Graz", timezone: "Europe/Vienna", status: .inactive)
    public static let item = Item(itemId: "ITEM-1", description: "Gear housing", baseUom: "EA", uomConversions: ["BOX": 12, "PAL": 480], status: .active)
    public static let component = Item(itemId: "ITEM-2", description: "Bolt M8", baseUom: "EA", uomConversions: [:], status: .obsolete)
    public static let bom = BillOfMaterials(
        itemId: "ITEM-1", revision: "B", status: .released,
        components: [.init(itemId: "ITEM-2", qtyPer: 4, uom: "EA"), .init(itemId: "ITEM-3", qtyPer: 0.25, uom: "KG")])
    public static let routing = Routing(
        itemId: "ITEM-1", plant: "P100",
        operations: [.init(operationSeq: 10, workCenter: "WC-CUT", description: "cut"), .init(operationSeq: 20, workCenter: "WC-ASM", description: "assemble")])

    public static func item(_ i: Int, description: String = "Item") -> Item {
        Item(itemId: "ITEM-\(1000 + i)", description: "\(description) \(i)", baseUom: "EA", uomConversions: ["BOX": Double(i % 7 + 1)], status: .active)
    }

    public static func envelope<P: MasterDataPayload>(_ data: P, correlationId: String = "corr-\(UUID().uuidString.prefix(6))") -> [UInt8] {
        Envelope(eventId: UUID().uuidString, correlationId: correlationId, occurredAt: occurredAt, source: EventSource(system: "ERP"), data: data).bytes
    }

    /// A Kafka record keyed by the natural key (or `key`), on the kind's topic.
    public static func message<P: MasterDataPayload>(_ data: P, key: String? = nil, partition: Int32? = nil) -> KafkaProducerMessage {
        KafkaProducerMessage(topic: P.kind.topic, partition: partition, key: Array((key ?? data.key).utf8), value: envelope(data))
    }

    public static func tombstone(_ kind: MasterDataKind, key: String, partition: Int32? = nil) -> KafkaProducerMessage {
        KafkaProducerMessage(topic: kind.topic, partition: partition, key: Array(key.utf8), value: nil as [UInt8]?)
    }

    /// A stream record as the loader would hand it to the store.
    public static func record<P: MasterDataPayload>(_ data: P, key: String? = nil, offset: Int64, partition: Int32 = 0) -> StreamRecord {
        StreamRecord(topic: P.kind.topic, partition: partition, offset: offset, key: Array((key ?? data.key).utf8), value: envelope(data))
    }

    public static func record(topic: String, key: String?, value: [UInt8]?, offset: Int64, partition: Int32 = 0, headers: [StreamRecord.Header] = [])
        -> StreamRecord
    {
        StreamRecord(topic: topic, partition: partition, offset: offset, key: key.map { Array($0.utf8) }, value: value, headers: headers)
    }

    /// The item's envelope with `status` replaced by something the contract does not allow.
    public static func itemWithInvalidStatus(_ item: Item) -> [UInt8] {
        let text = String(decoding: envelope(item, correlationId: "corr-poison"), as: UTF8.self)
        return Array(text.replacingOccurrences(of: "\"status\":\"ACTIVE\"", with: "\"status\":\"BROKEN\"").utf8)
    }

    /// A fresh state directory, removed by `cleanUp`.
    public static func stateDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("master-data-test-\(UUID().uuidString.prefix(8))").path
    }

    public static func cleanUp(_ directory: String) {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A fresh cluster with the four master-data topics and the dead-letter topic, 3 partitions each.
    public static func cluster() throws -> InProcessKafkaCluster {
        let cluster = try TestKafka.cluster()
        for topic in MasterDataTopic.all + [DeadLetter.topic] { try cluster.createTopic(topic, partitions: 3) }
        return cluster
    }

    /// Every dead letter on the cluster, read to the end.
    public static func deadLetters(_ cluster: InProcessKafkaCluster) async throws -> [KafkaConsumerMessage] {
        try await TestKafka.readToEnd(cluster, partitions: (0..<3).map { KafkaTopicPartition(topic: DeadLetter.topic, partition: $0) })
    }

    public static func configuration(_ cluster: InProcessKafkaCluster) -> GlobalTableConfiguration {
        var configuration = GlobalTableConfiguration(bootstrapServers: cluster.bootstrapServers)
        configuration.pollTimeout = .milliseconds(50)
        configuration.startTimeout = .seconds(10)
        return configuration
    }

    public static func send(_ cluster: InProcessKafkaCluster, _ messages: [KafkaProducerMessage]) async throws {
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger("p"))
        _ = try await producer.send(batch: messages)
        await producer.close()
    }

    /// Polls `condition` every 10 ms until it holds or `timeout` passes.
    public static func eventually(_ timeout: Duration = .seconds(10), _ condition: () -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }
}
