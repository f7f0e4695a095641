import Streams
import Testing

@Suite("A task's outputs, packed")
struct OutputBatchTests {
    @Test("outputs read back from the batch as forwarded, each tally with its own output")
    func roundTripWithTallies() {
        let tally = OutputTally(name: "millwright_postings_total", labels: [.init("kind", "WINDOW"), .init("plant", "P1")], eventTime: 5)
        var quarantine = OutputRecord(topic: "q", key: "wo-2", value: Array("held".utf8), headers: [.init(key: "reason", value: "OVER")], timestamp: 9)
        quarantine.partition = 4
        let outputs = [
            OutputRecord(
                topic: "postings", key: "wo-1", value: Array("p1".utf8), headers: [.init(key: "event-id", value: "e-1"), .init(key: "none", value: nil)]
            )
            .tallied(tally),
            OutputRecord(topic: "status", key: nil, value: nil),
            quarantine.tallied(OutputTally(name: "millwright_quarantined_total", labels: [.init("reason", "OVER")], logMessage: "held back")),
            OutputRecord(topic: "postings", key: "wo-3", value: []),
        ]
        let batch = OutputBatch(outputs)
        #expect(batch.count == 4 && !batch.isEmpty && batch.byteCount > 0)
        let read = batch.records
        #expect(read.map(\.topic) == ["postings", "status", "q", "postings"])
        #expect(read.map(\.key) == outputs.map(\.key) && read.map(\.value) == outputs.map(\.value))
        #expect(read.map(\.headers) == outputs.map(\.headers), "header order, and no value apart from empty")
        #expect(read.map(\.timestamp) == [nil, nil, 9, nil] && read.map(\.partition) == [nil, nil, 4, nil])
        #expect(read.map(\.tally) == outputs.map(\.tally), "each tally on the output it came with")
        #expect(batch.tallies.count == 2)
        let logged = batch.record(at: batch.tallies[1].position)
        #expect(logged.topic == "q" && logged.key == Array("wo-2".utf8) && logged.headers == quarantine.headers)
        #expect(OutputBatch().records.isEmpty && OutputBatch().byteCount == 0)
    }
}
