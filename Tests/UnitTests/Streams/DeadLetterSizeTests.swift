import Streams
import Testing

@Suite("Dead letters: never larger than a producer may send")
struct DeadLetterSizeTests {
    static func input(key: [UInt8]? = Array("WO-1".utf8), value: [UInt8]?, headers: [StreamRecord.Header] = []) -> StreamRecord {
        StreamRecord(topic: "mes.operation-completed.v1", partition: 2, offset: 77, key: key, value: value, headers: headers, timestamp: 1_790_000_000_000)
    }

    static func header(_ record: OutputRecord, _ name: String) -> String? { record.headers.last { $0.key == name }?.stringValue }

    static func size(_ record: OutputRecord) -> Int { DeadLetter.wireSize(key: record.key, value: record.value, headers: record.headers) }

    @Test(
        "a 1.5 MB value is cut to fit: the first bytes of the original, dlq-truncated with its size, every other header kept, within a few bytes of the limit")
    func largeValueIsTruncated() {
        let value = (0..<1_500_000).map { UInt8(truncatingIfNeeded: $0 % 251) }
        let letter = DeadLetter.record(
            for: Self.input(value: value, headers: [.init(key: "traceparent", value: "00-abc")]), reason: "MALFORMED_JSON", error: "not JSON")
        #expect(Self.size(letter) <= DeadLetter.maxRecordBytes)
        #expect(Self.size(letter) > DeadLetter.maxRecordBytes - 8, "cut at the limit, not far below it")
        let batch = StreamRecord.Header(key: "mw-batch", value: "\(String(repeating: "f", count: 64)):\(Int64.max)")
        #expect(
            DeadLetter.wireSize(key: letter.key, value: letter.value, headers: letter.headers + [batch]) <= DeadLetter.messageMaxBytes,
            "with the header the runtime adds when it sends it, still within librdkafka's message.max.bytes")
        #expect(letter.value == Array(value.prefix(letter.value?.count ?? 0)), "a prefix of the original bytes")
        #expect(Self.header(letter, DeadLetter.HeaderName.truncated) == "1500000")
        #expect(Self.header(letter, "traceparent") == "00-abc", "the original headers stay")
        #expect(letter.key == Array("WO-1".utf8))
        #expect(Self.header(letter, DeadLetter.HeaderName.reason) == "MALFORMED_JSON")
        #expect(Self.header(letter, DeadLetter.HeaderName.droppedHeaders) == nil && Self.header(letter, DeadLetter.HeaderName.truncatedKey) == nil)
        let names = letter.headers.map(\.key)
        #expect(names.firstIndex(of: DeadLetter.HeaderName.truncated) == names.firstIndex(of: DeadLetter.HeaderName.originalTimestamp).map { $0 + 1 })
    }

    @Test("a dead letter exactly at the limit is kept whole; one byte more is cut")
    func boundary() {
        let probe = DeadLetter.record(for: Self.input(value: []), reason: "MALFORMED_JSON", error: "e")
        // The value's length varint is counted in the 36 bytes of framing: each byte of value is one.
        let room = DeadLetter.maxRecordBytes - Self.size(probe)
        let exact = DeadLetter.record(for: Self.input(value: Array(repeating: 1, count: room)), reason: "MALFORMED_JSON", error: "e")
        #expect(Self.size(exact) == DeadLetter.maxRecordBytes)
        #expect(exact.value?.count == room && Self.header(exact, DeadLetter.HeaderName.truncated) == nil)
        let over = DeadLetter.record(for: Self.input(value: Array(repeating: 1, count: room + 1)), reason: "MALFORMED_JSON", error: "e")
        #expect(Self.header(over, DeadLetter.HeaderName.truncated) == String(room + 1))
        #expect(Self.size(over) <= DeadLetter.maxRecordBytes)
    }

    @Test("original headers that leave no room are left out and counted; a key too large is cut last; a tombstone stays a tombstone")
    func headersThenKey() {
        let bigHeaders = (0..<3).map { StreamRecord.Header(key: "blob-\($0)", value: Array(repeating: 0x61, count: 400_000)) }
        let letter = DeadLetter.record(for: Self.input(value: Array("{}".utf8), headers: bigHeaders), reason: "INVALID_ENVELOPE", error: "e")
        #expect(Self.header(letter, DeadLetter.HeaderName.droppedHeaders) == "3")
        #expect(letter.value == Array("{}".utf8), "the small value is whole once the headers are out")
        #expect(Self.header(letter, DeadLetter.HeaderName.truncated) == nil)
        #expect(Self.size(letter) <= DeadLetter.maxRecordBytes)

        let key = Array(repeating: UInt8(0x6B), count: 1_200_000)
        let cutKey = DeadLetter.record(for: Self.input(key: key, value: Array("{}".utf8)), reason: "MALFORMED_JSON", error: "e")
        #expect(Self.header(cutKey, DeadLetter.HeaderName.truncatedKey) == "1200000")
        #expect(cutKey.key == Array(key.prefix(cutKey.key?.count ?? 0)) && (cutKey.key?.count ?? 0) > 990_000)
        #expect(Self.size(cutKey) <= DeadLetter.maxRecordBytes)

        let tombstone = DeadLetter.record(for: Self.input(value: nil), reason: "INVALID_ENVELOPE", error: "e")
        #expect(tombstone.value == nil && Self.header(tombstone, DeadLetter.HeaderName.truncated) == nil)
    }

    @Test("the size counts what librdkafka counts: 36 bytes of framing, key, value, and per header its name, value and zig-zag varint lengths")
    func wireSizeFormula() {
        #expect(DeadLetter.wireSize(key: nil, value: nil, headers: []) == 36)
        #expect(DeadLetter.wireSize(key: [1, 2], value: [3], headers: []) == 39)
        // "ab" + 63 bytes: lengths 2 and 63 zig-zag to 4 and 126, one varint byte each.
        #expect(DeadLetter.wireSize(key: nil, value: nil, headers: [.init(key: "ab", value: Array(repeating: 0, count: 63))]) == 36 + 2 + 63 + 1 + 1)
        // 64 zig-zags to 128: two varint bytes.
        #expect(DeadLetter.wireSize(key: nil, value: nil, headers: [.init(key: "ab", value: Array(repeating: 0, count: 64))]) == 36 + 2 + 64 + 1 + 2)
        #expect(DeadLetter.wireSize(key: nil, value: nil, headers: [.init(key: "ab", value: nil as [UInt8]?)]) == 36 + 2 + 1 + 1)
    }
}
