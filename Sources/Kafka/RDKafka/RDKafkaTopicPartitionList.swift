import CRdKafka
import Foundation

/// Owns one `rd_kafka_topic_partition_list_t`.
final class RDKafkaTopicPartitionList {
    let pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>
    private let owned: Bool

    init(capacity: Int = 4) {
        pointer = rd_kafka_topic_partition_list_new(Int32(max(capacity, 1)))
        owned = true
    }

    /// Wraps a list owned by librdkafka (for example inside a callback); it is not freed.
    init(borrowing pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) {
        self.pointer = pointer
        owned = false
    }

    /// Takes ownership of a list librdkafka handed over.
    init(taking pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) {
        self.pointer = pointer
        owned = true
    }

    convenience init(_ partitions: [KafkaTopicPartitionOffset]) {
        self.init(capacity: partitions.count)
        for p in partitions { add(p) }
    }

    convenience init(_ partitions: [KafkaTopicPartition], offset: Int64 = KafkaOffset.invalid) {
        self.init(capacity: partitions.count)
        for p in partitions { add(KafkaTopicPartitionOffset(p, offset: offset)) }
    }

    deinit {
        if owned { rd_kafka_topic_partition_list_destroy(pointer) }
    }

    func add(_ p: KafkaTopicPartitionOffset) {
        let element = rd_kafka_topic_partition_list_add(pointer, p.topic, p.partition)!
        element.pointee.offset = p.offset
        if let metadata = p.metadata {
            let bytes = Array(metadata.utf8)
            let buffer = malloc(bytes.count)!
            bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
            element.pointee.metadata = buffer  // freed by rd_kafka_topic_partition_list_destroy
            element.pointee.metadata_size = bytes.count
        }
    }

    struct Element {
        var position: KafkaTopicPartitionOffset
        var error: rd_kafka_resp_err_t
    }

    var elements: [Element] {
        let list = pointer.pointee
        return (0..<Int(list.cnt)).map { i in
            let e = list.elems[i]
            var metadata: String?
            if let raw = e.metadata, e.metadata_size > 0 {
                metadata = String(
                    decoding: UnsafeRawBufferPointer(start: raw, count: e.metadata_size), as: UTF8.self)
            }
            return Element(
                position: KafkaTopicPartitionOffset(
                    topic: String(cString: e.topic), partition: e.partition, offset: e.offset,
                    metadata: metadata),
                error: e.err)
        }
    }

    var partitions: [KafkaTopicPartition] { elements.map(\.position.topicPartition) }

    /// The positions, or the first per-partition error.
    func positionsOrThrow(_ context: String) throws(KafkaError) -> [KafkaTopicPartitionOffset] {
        var result: [KafkaTopicPartitionOffset] = []
        for e in elements {
            try RDKafkaResult.check(e.error, "\(context) \(e.position.topicPartition)")
            result.append(e.position)
        }
        return result
    }
}
