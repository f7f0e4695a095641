import Kafka
import Streams
import Testing

@Suite("Stream records of consumed messages")
struct StreamRecordTests {
    static let message = KafkaConsumerMessage(
        topic: "t", partition: 3, offset: 42, key: Array("k1".utf8), value: Array("v".utf8),
        headers: [KafkaHeader(key: "correlation-id", value: Array("c-1".utf8)), KafkaHeader(key: "empty", value: nil)],
        timestamp: KafkaTimestamp(milliseconds: 7))

    @Test("a consumed record reads its key and headers from the message, in order, the null header kept")
    func readsFromMessage() {
        let record = StreamRecord(Self.message)
        #expect(record.topic == "t" && record.partition == 3 && record.offset == 42 && record.timestamp == 7)
        #expect(record.value == Array("v".utf8))
        #expect(record.keyString == "k1")
        #expect(record.headers == [.init(key: "correlation-id", value: "c-1"), .init(key: "empty", value: nil)])
        #expect(record.header("correlation-id")?.stringValue == "c-1")
    }

    @Test("setting a consumed record's key keeps its headers, and setting its headers keeps its key")
    func settersKeepTheOtherPart() {
        var record = StreamRecord(Self.message)
        record.key = Array("k2".utf8)
        #expect(record.keyString == "k2")
        #expect(record.headers.map(\.key) == ["correlation-id", "empty"])
        var other = StreamRecord(Self.message)
        other.headers.append(.init(key: "added", value: "x"))
        #expect(other.keyString == "k1")
        #expect(other.headers.map(\.key) == ["correlation-id", "empty", "added"])
        #expect(StreamRecord(Self.message).headers.count == 2, "the message itself is unchanged")
    }

    @Test("an output header made from text equals one made from its bytes and reaches Kafka with the same bytes, text kept as text")
    func textHeaders() {
        let text = StreamRecord.Header(key: "schema", value: "erp.production-confirmation")
        let bytes = StreamRecord.Header(key: "schema", value: Array("erp.production-confirmation".utf8))
        #expect(text == bytes && text.hashValue == bytes.hashValue)
        #expect(text.value == bytes.value && text.stringValue == "erp.production-confirmation")
        #expect(StreamRecord.Header(key: "k", value: "\u{E9}") != StreamRecord.Header(key: "k", value: "e\u{301}"), "bytes, not canonical equivalence")
        let output = OutputRecord(topic: "out", key: "k", value: [1], headers: [text, .init(key: "none", value: nil)])
        let message = KafkaProducerMessage(output, extra: KafkaHeader(key: "mw-batch", value: "b:1"))
        #expect(
            message.headers == [
                KafkaHeader(key: "schema", value: Array("erp.production-confirmation".utf8)), KafkaHeader(key: "none", value: nil as [UInt8]?),
                KafkaHeader(key: "mw-batch", value: "b:1"),
            ])
        #expect(message.headers.first?.stringValue == "erp.production-confirmation")
    }
}
