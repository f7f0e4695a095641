import Kafka
import Testing

@testable import Streams

@Suite("A task's input buffer")
struct TaskInputBufferTests {
    static func message(_ topic: String, _ offset: Int64, at timestamp: Int64) -> KafkaConsumerMessage {
        KafkaConsumerMessage(topic: topic, partition: 0, offset: offset, key: nil, value: [], timestamp: KafkaTimestamp(milliseconds: timestamp))
    }

    static func drain(_ buffer: inout TaskInputBuffer, exhausted: Set<String> = []) -> [String] {
        var out: [String] = []
        while let m = buffer.next(tables: ["table"], events: ["a", "b"], exhausted: { exhausted.contains($0) }) {
            out.append("\(m.topic)@\(m.offset)")
        }
        return out
    }

    @Test("table records leave first whatever their timestamps, then events by earliest timestamp across topics")
    func order() {
        var buffer = TaskInputBuffer()
        for m in [
            Self.message("a", 0, at: 10), Self.message("a", 1, at: 30), Self.message("b", 0, at: 20), Self.message("table", 0, at: 99),
            Self.message("b", 1, at: 40),
        ] {
            buffer.append(m)
        }
        #expect(buffer.count("a") == 2 && buffer.count("b") == 2 && buffer.count("table") == 1)
        // b@1 waits: topic a has nothing buffered and more to fetch.
        #expect(Self.drain(&buffer) == ["table@0", "a@0", "b@0", "a@1"])
        #expect(buffer.count("b") == 1 && !buffer.isEmpty)
        #expect(Self.drain(&buffer, exhausted: ["a"]) == ["b@1"], "a topic with nothing more to fetch is not waited for")
        #expect(buffer.isEmpty)
        buffer.append(Self.message("a", 2, at: 50))
        buffer.append(Self.message("b", 2, at: 45))
        #expect(Self.drain(&buffer) == ["b@2"], "queues drained to empty take records again; a@2 waits for b")
        #expect(Self.drain(&buffer, exhausted: ["b"]) == ["a@2"])
    }
}
