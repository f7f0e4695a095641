import Streams
import Testing

@Suite("Key partitioner and record origins (repartitioning)")
struct KeyPartitionerTests {
    @Test("murmur2 gives the Java client's hashes (Kafka's own test vectors of Utils.murmur2)")
    func javaVectors() {
        let cases: [(String, Int32)] = [
            ("21", -973_932_308), ("foobar", -790_332_482), ("a-little-bit-long-string", -985_981_536),
            ("a-little-bit-longer-string", -1_486_304_829), ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971), ("abc", 479_470_107),
        ]
        for (key, expected) in cases {
            #expect(Int32(bitPattern: KeyPartitioner.murmur2(Array(key.utf8))) == expected, "murmur2(\(key))")
        }
    }

    @Test("a key's partition is the positive hash modulo the partition count, the same for bytes and text, always in range")
    func partitionInRange() {
        for n in 0..<2_000 {
            let key = "WO-\(n)-10"
            let partition = KeyPartitioner.partition(forKey: Array(key.utf8), partitions: 12)
            #expect((0..<12).contains(partition))
            #expect(partition == Int32(Int64(KeyPartitioner.murmur2(Array(key.utf8)) & 0x7fff_ffff) % 12))
            #expect(KeyRouting(topic: "r", partitions: 12).owner(ofKey: key) == partition)
        }
        #expect(KeyPartitioner.partition(forKey: [UInt8](), partitions: 1) == 0)
    }

    @Test("a forwarded record's origin is read back from its headers; a record without all three headers has none")
    func originHeaders() {
        let headers: [StreamRecord.Header] = [
            .init(key: "correlationId", value: "c-1"), .init(key: "mw-origin-topic", value: "mes.operation-completed.v1"),
            .init(key: "mw-origin-partition", value: "7"), .init(key: "mw-origin-offset", value: "12345"),
        ]
        #expect(RecordOrigin(headers: headers) == RecordOrigin(topic: "mes.operation-completed.v1", partition: 7, offset: 12_345))
        #expect(RecordOrigin(headers: Array(headers.dropLast())) == nil)
        #expect(RecordOrigin(headers: headers.dropLast() + [.init(key: "mw-origin-offset", value: "x")]) == nil, "an offset that is not a number")
    }
}
