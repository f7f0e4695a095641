import Streams
import Testing

/// Records each punctuation call as `type@time`, and cancels the stream-time one on a value.
private final class PunctuatingProcessor: StreamProcessor {
    var calls: [String] = []
    let streamInterval: Int64
    let wallInterval: Int64
    var streamPunctuation: Punctuation?
    var initializations = 0

    init(streamInterval: Int64, wallInterval: Int64) {
        self.streamInterval = streamInterval
        self.wallInterval = wallInterval
    }

    func initialize(context: any ProcessorContext) throws {
        initializations += 1
        calls.append("init stores=\(context.store("s").get("k").map { String(decoding: $0, as: UTF8.self) } ?? "-")")
        streamPunctuation = context.schedule(.streamTime, every: streamInterval) { [unowned self] time, context in
            calls.append("stream@\(time)")
            context.forward(OutputRecord(topic: "out", key: "p", value: Array("\(time)".utf8)))
        }
        context.schedule(.wallClock, every: wallInterval) { [unowned self] time, _ in calls.append("wall@\(time)") }
    }

    func process(_ record: StreamRecord, context: any ProcessorContext) throws {
        if let time = record.keyString.flatMap({ Int64($0) }) { context.observeEventTime(time) }
        if record.value == Array("cancel".utf8) { streamPunctuation?.cancel() }
    }
}

@Suite("Punctuation on the real task: stream time and wall clock, as Kafka Streams' punctuate")
struct PunctuationTests {
    static func record(_ offset: Int64, eventTime: Int64, value: String = "v") -> StreamRecord {
        StreamRecord(topic: "in", partition: 0, offset: offset, key: Array("\(eventTime)".utf8), value: Array(value.utf8))
    }

    @Test(
        "initialize runs once, after the restore and before the first record; a stream-time punctuation runs on the first advance, then at each epoch-aligned multiple of its interval, once per advance"
    )
    func streamTime() throws {
        let processor = PunctuatingProcessor(streamInterval: 100, wallInterval: 1_000_000)
        let harness = StreamTaskHarness(
            processor: processor, partition: 0, wallClock: 0, idleTimeout: 1_000_000_000, stores: ["s": [("k", Array("restored".utf8))]])
        try harness.process(Self.record(0, eventTime: 1_050), now: 1)
        try harness.process(Self.record(1, eventTime: 1_099), now: 2)  // 1100 not reached
        try harness.process(Self.record(2, eventTime: 1_100), now: 3)
        try harness.process(Self.record(3, eventTime: 1_050), now: 4)  // back in time: no advance
        try harness.process(Self.record(4, eventTime: 1_450), now: 5)  // crosses 1200, 1300, 1400: once
        try harness.process(Self.record(5, eventTime: 1_499), now: 6)
        #expect(processor.initializations == 1)
        #expect(processor.calls == ["init stores=restored", "stream@1050", "stream@1100", "stream@1450"])
        #expect(
            harness.takeOutputs().compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } } == ["1050", "1100", "1450"],
            "a punctuation's outputs go out with the task's")
    }

    @Test(
        "a wall-clock punctuation runs once its interval has passed since it was scheduled, then every interval; missed intervals are skipped, not run in a burst"
    )
    func wallClock() throws {
        let processor = PunctuatingProcessor(streamInterval: 1, wallInterval: 1_000)
        let harness = StreamTaskHarness(processor: processor, partition: 0, wallClock: 0, idleTimeout: 1_000_000_000)
        try harness.tick(now: 500)  // initializes: scheduled at 500, due at 1500
        try harness.tick(now: 1_499)
        try harness.tick(now: 1_500)
        try harness.tick(now: 2_000)
        try harness.tick(now: 2_500)
        try harness.tick(now: 9_700)  // 3500…9500 missed: one call
        try harness.tick(now: 10_499)
        try harness.tick(now: 10_500)
        #expect(processor.calls.filter { $0.hasPrefix("wall") } == ["wall@1500", "wall@2500", "wall@9700", "wall@10500"])
    }

    @Test("the idle advance moves stream time and runs stream-time punctuations; a cancelled punctuation never runs again")
    func idleAdvanceAndCancel() throws {
        let processor = PunctuatingProcessor(streamInterval: 1, wallInterval: 1_000_000)
        let harness = StreamTaskHarness(processor: processor, partition: 0, wallClock: 0, idleTimeout: 10_000)
        try harness.process(Self.record(0, eventTime: 100), now: 0)
        try harness.tick(now: 10_000)  // idle for 10 s: stream time → 10000
        #expect(processor.calls.suffix(2) == ["stream@100", "stream@10000"])
        try harness.process(Self.record(1, eventTime: 20_000, value: "cancel"), now: 10_001)
        try harness.process(Self.record(2, eventTime: 30_000), now: 10_002)
        try harness.tick(now: 50_000)
        #expect(!processor.calls.contains { $0 == "stream@20000" || $0 == "stream@30000" || $0 == "stream@50000" })
    }
}
