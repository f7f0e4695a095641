/// Repartitioning: a record that reached the wrong task (its producer partitioned it by another
/// key, by another hash, or had no key) is forwarded, with the task's commit, through the
/// processor's repartition topic to the task that owns its key, as Kafka Streams does before a
/// stateful step. The processor decides the key (``ProcessorContext/owner(ofKey:)``,
/// ``ProcessorContext/repartition(_:key:)``); the runtime owns the topic, the partitioner and the
/// exactly-once forwarding.

/// Where a record was first read, when the runtime forwarded it through a repartition topic: the
/// processor sees it as a record of `topic` (its quarantines and postings name this origin, not
/// the repartition topic's offset).
public struct RecordOrigin: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64

    public init(topic: String, partition: Int32, offset: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }

    /// The headers the runtime adds to a forwarded record (after the record's own).
    enum Header {
        static let topic = "mw-origin-topic"
        static let partition = "mw-origin-partition"
        static let offset = "mw-origin-offset"
    }

    var headers: [StreamRecord.Header] {
        [.init(key: Header.topic, value: topic), .init(key: Header.partition, value: String(partition)), .init(key: Header.offset, value: String(offset))]
    }

    /// The origin a forwarded record's headers give (the last of each), if they are all there.
    public init?(headers: [StreamRecord.Header]) {
        var topic: String?
        var partition: Int32?
        var offset: Int64?
        for header in headers {
            switch header.key {
            case Header.topic: topic = header.stringValue
            case Header.partition: partition = header.stringValue.flatMap { Int32($0) }
            case Header.offset: offset = header.stringValue.flatMap { Int64($0) }
            default: continue
            }
        }
        guard let topic, let partition, let offset else { return nil }
        self.init(topic: topic, partition: partition, offset: offset)
    }
}

/// The partitioner of keyed records in Millwright's topics: murmur2 of the key's bytes, as the
/// Java client and librdkafka's `murmur2_random` compute it (the worker's producers use it, and the
/// contract asks producers for it).
public enum KeyPartitioner {
    /// Kafka's murmur2 (seed 0x9747b28c), bit for bit as `org.apache.kafka.common.utils.Utils.murmur2`.
    public static func murmur2(_ bytes: some Collection<UInt8>) -> UInt32 {
        if let hash = bytes.withContiguousStorageIfAvailable({ murmur2(UnsafeRawBufferPointer($0)) }) { return hash }
        return Array(bytes).withUnsafeBytes { murmur2($0) }
    }

    /// murmur2 over contiguous bytes: no copy, no allocation (a key's UTF-8 view is contiguous).
    static func murmur2(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        let m: UInt32 = 0x5bd1_e995
        let length = bytes.count
        var h: UInt32 = 0x9747_b28c ^ UInt32(truncatingIfNeeded: length)
        var index = 0
        while index + 4 <= length {
            var k = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt32.self))
            k = k &* m
            k ^= k >> 24
            k = k &* m
            h = h &* m
            h ^= k
            index += 4
        }
        let rest = length - index
        if rest >= 3 { h ^= UInt32(bytes[index + 2]) << 16 }
        if rest >= 2 { h ^= UInt32(bytes[index + 1]) << 8 }
        if rest >= 1 {
            h ^= UInt32(bytes[index])
            h = h &* m
        }
        h ^= h >> 13
        h = h &* m
        h ^= h >> 15
        return h
    }

    /// The partition of `key` among `partitions`: `(murmur2(key) & 0x7fffffff) % partitions`.
    public static func partition(forKey key: some Collection<UInt8>, partitions: Int32) -> Int32 {
        precondition(partitions > 0, "a topic has at least one partition")
        return Int32(Int64(murmur2(key) & 0x7fff_ffff) % Int64(partitions))
    }

    static func partition(forBytes key: UnsafeRawBufferPointer, partitions: Int32) -> Int32 {
        precondition(partitions > 0, "a topic has at least one partition")
        return Int32(Int64(murmur2(key) & 0x7fff_ffff) % Int64(partitions))
    }
}

/// How a task forwards records to the task owning their key: the processor's repartition topic
/// and the partition count of its key-partitioned inputs (``ProcessorDefinition/repartitions``).
public struct KeyRouting: Sendable, Hashable {
    /// `millwright.<group>.<processor>.repartition.v1`.
    public var topic: String
    /// Partitions of the processor's key-partitioned inputs (its table), which the repartition topic has too.
    public var partitions: Int32

    public init(topic: String, partitions: Int32) {
        self.topic = topic
        self.partitions = partitions
    }

    /// The partition of the task owning `key`.
    public func owner(ofKey key: String) -> Int32 {
        var key = key
        return key.withUTF8 { KeyPartitioner.partition(forBytes: UnsafeRawBufferPointer($0), partitions: partitions) }
    }

    /// The forwarded copy of `record`: same value, timestamp and headers (plus its origin), keyed
    /// and partitioned by `key`; counted in `millwright_repartitioned_records_total` by origin topic.
    func forward(_ record: StreamRecord, key: String) -> OutputRecord {
        let origin = record.origin ?? RecordOrigin(topic: record.topic, partition: record.partition, offset: record.offset)
        var output = OutputRecord(
            topic: topic, key: Array(key.utf8), value: record.value, headers: record.headers + origin.headers, timestamp: record.timestamp)
        output.partition = owner(ofKey: key)
        output.tally = OutputTally(name: "millwright_repartitioned_records_total", labels: [.init("topic", origin.topic)])
        return output
    }
}
