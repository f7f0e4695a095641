import Streams
import Testing

@Suite("Dead letters: the error header is capped")
struct DeadLetterErrorCapTests {
    @Test("dlq-error is at most 1 KB of UTF-8, cut at a character and marked with …; a short error is kept as it is")
    func capped() {
        let input = StreamRecord(topic: "erp.order-approved.v1", partition: 3, offset: 9, key: nil, value: Array("x".utf8), headers: [], timestamp: nil)
        let long = "data.itemId: must be at most 64 characters, found " + String(repeating: "é", count: 2_000)
        let letter = DeadLetter.record(for: input, reason: "INVALID_FIELD", error: long)
        let header = letter.headers.first { $0.key == DeadLetter.HeaderName.error }?.stringValue ?? ""
        #expect(header.utf8.count <= DeadLetter.maxErrorBytes)
        #expect(header.utf8.count > DeadLetter.maxErrorBytes - 8, "cut near the limit, not far below it")
        #expect(header.hasPrefix("data.itemId: must be at most 64 characters") && header.hasSuffix("…"))
        #expect(String(validating: Array(header.utf8), as: UTF8.self) != nil, "valid UTF-8: cut between characters")
        #expect(letter.value == input.value, "the original bytes unchanged")
        let short = DeadLetter.record(for: input, reason: "MALFORMED_JSON", error: "not JSON: unexpected end of input at byte 1")
        #expect(short.headers.first { $0.key == DeadLetter.HeaderName.error }?.stringValue == "not JSON: unexpected end of input at byte 1")
    }
}
