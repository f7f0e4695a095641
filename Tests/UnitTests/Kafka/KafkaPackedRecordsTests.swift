import Kafka
import Testing

@Suite("Records packed into one buffer")
struct KafkaPackedRecordsTests {
    /// Messages with every optional part absent, empty and set.
    static let messages: [KafkaProducerMessage] = [
        KafkaProducerMessage(
            topic: "orders", partition: 3, key: Array("k-1".utf8), value: Array("{\"a\":1}".utf8),
            headers: [
                KafkaHeader(key: "correlation-id", value: "c-1"), KafkaHeader(key: "null", value: nil as [UInt8]?),
                KafkaHeader(key: "empty", value: [UInt8]()), KafkaHeader(key: "", value: "no name"), KafkaHeader(key: "ünïcode", value: "wert ✓"),
            ],
            timestamp: 1_700_000_000_123),
        KafkaProducerMessage(topic: "status", partition: nil, key: nil as [UInt8]?, value: nil as [UInt8]?),
        KafkaProducerMessage(topic: "orders", partition: nil, key: [], value: [], headers: [], timestamp: -5),
        KafkaProducerMessage(
            topic: "", partition: 0, key: [0, 255, 10], value: Array(repeating: 7, count: 70_000), headers: [KafkaHeader(key: "x", value: [0])]),
    ]

    static func same(_ a: KafkaProducerMessage, _ b: KafkaProducerMessage) -> Bool {
        a.topic == b.topic && a.partition == b.partition && a.key == b.key && a.value == b.value && a.headers == b.headers && a.timestamp == b.timestamp
    }

    static func packed(_ messages: [KafkaProducerMessage]) -> (KafkaPackedRecords, [Int]) {
        var records = KafkaPackedRecords()
        let positions = messages.map { m in
            records.append(topic: m.topic, partition: m.partition, key: m.key, value: m.value, headers: m.headers, timestamp: m.timestamp)
        }
        return (records, positions)
    }

    @Test("packed records read back as appended: absent, empty and set keys, values and header values, partitions, timestamps, topics by first use")
    func roundTrip() {
        let (records, positions) = Self.packed(Self.messages)
        #expect(records.count == 4 && !records.isEmpty)
        #expect(records.topics == ["orders", "status", ""], "each topic once, in the order first used")
        let read = records.messages
        #expect(read.count == Self.messages.count)
        for (got, sent) in zip(read, Self.messages) { #expect(Self.same(got, sent), "\(got) read back for \(sent)") }
        for (position, sent) in zip(positions, Self.messages) { #expect(Self.same(records.message(at: position), sent)) }
        var seen: [(Int, Int, Int)] = []
        records.forEachRecord { seen.append(($0.position, $0.topicIndex, $0.headerCount)) }
        #expect(seen.map(\.0) == positions && seen.map(\.1) == [0, 1, 0, 2] && seen.map(\.2) == [5, 0, 0, 1])
        records.forEachRecord { record in
            guard record.position == positions[0] else { return }
            var names: [String] = []
            var values: [[UInt8]?] = []
            record.forEachHeader { name, value in
                names.append(String(decoding: name, as: UTF8.self))
                values.append(value.map(Array.init))
            }
            #expect(names == ["correlation-id", "null", "empty", "", "ünïcode"])
            #expect(values == [Array("c-1".utf8), nil, [], Array("no name".utf8), Array("wert ✓".utf8)], "no value stays apart from an empty one")
        }
    }

    @Test("a batch takes about its records' own bytes, and empties keeping its room when asked")
    func compact() {
        let (records, _) = Self.packed(Self.messages)
        let payload = Self.messages.reduce(0) { total, m in
            total + (m.key?.count ?? 0) + (m.value?.count ?? 0) + m.headers.reduce(0) { $0 + $1.key.utf8.count + ($1.value?.count ?? 0) }
        }
        // Per record at most 4 + 2 + 1 + 4 + 8 + 4 + 4 + 2 bytes of framing, per header 6.
        #expect(records.byteCount >= payload && records.byteCount <= payload + 4 * 29 + 6 * 6, "\(records.byteCount) bytes for \(payload) of payload")
        var emptied = records
        emptied.removeAll(keepingCapacity: true)
        #expect(emptied.isEmpty && emptied.count == 0 && emptied.byteCount == 0 && emptied.topics.isEmpty && emptied.capacity >= records.byteCount)
        #expect(records.count == 4, "a copy is emptied, not the original")
        emptied.append(topic: "t", partition: nil, key: nil, value: [1], headers: [], timestamp: nil)
        #expect(emptied.topics == ["t"] && emptied.messages.map(\.value) == [[1]])
    }
}
