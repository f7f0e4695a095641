import Testing

@testable import Streams

@Suite("Global table outbox schedule (no I/O)")
struct GlobalTableOutboxTests {
    typealias Outbox = GlobalTableOutbox<Int>

    static func outbox(batch: Int = 3) -> Outbox {
        Outbox(batchSize: batch, minimumBackoff: .seconds(1), maximumBackoff: .seconds(4)) { now, delay in now + Int(delay.components.seconds) }
    }

    @Test("looks at start and after each applied batch, one batch in flight at a time, and again after every batch handed out until the sink has none")
    func looksWhenSomethingMayWait() {
        var outbox = Self.outbox()
        #expect(outbox.next(now: 0) == .fetch(limit: 3), "at start: outputs of an earlier run may wait")
        outbox.fetched([1, 2, 3])
        #expect(outbox.next(now: 0) == .wait, "one batch in flight at a time")
        outbox.applied()
        #expect(outbox.next(now: 0) == .wait, "a batch applied meanwhile waits for the reports")
        outbox.reported(delivered: [1, 2], failed: [], now: 0)
        #expect(outbox.next(now: 0) == .wait)
        outbox.reported(delivered: [3], failed: [], now: 0)
        #expect(outbox.next(now: 0) == .fetch(limit: 3), "something was handed out: more may wait")
        outbox.fetched([4])
        outbox.reported(delivered: [4], failed: [], now: 0)
        #expect(outbox.next(now: 0) == .fetch(limit: 3), "a short batch too (the sink may hand out fewer by size)")
        outbox.fetched([])
        #expect(outbox.next(now: 0) == .wait, "the sink had none left; nothing applied since")
        outbox.applied()
        #expect(outbox.next(now: 0) == .fetch(limit: 3))
        outbox.fetched([])
        #expect(outbox.next(now: 0) == .wait, "an empty look ends the looking until the next batch")
    }

    @Test("a batch with a failed delivery makes the next look wait for a backoff that doubles up to the maximum; a clean batch resets it")
    func failuresBackOff() {
        var outbox = Self.outbox()
        outbox.fetched([1, 2])
        outbox.reported(delivered: [1], failed: [], now: 10)
        outbox.reported(delivered: [], failed: [2], now: 10)
        #expect(outbox.consecutiveFailures == 1)
        #expect(outbox.retryAt == 11)
        #expect(outbox.next(now: 10) == .wait, "not before the backoff")
        #expect(outbox.next(now: 11) == .fetch(limit: 3), "the failed output is still in the sink: look again")
        outbox.fetched([2])
        outbox.reported(delivered: [], failed: [2], now: 11)
        #expect(outbox.retryAt == 13, "doubled")
        outbox.fetched([2])
        outbox.reported(delivered: [], failed: [2], now: 13)
        #expect(outbox.retryAt == 17)
        outbox.fetched([2])
        outbox.reported(delivered: [], failed: [2], now: 17)
        #expect(outbox.retryAt == 21, "at most the maximum")
        #expect(outbox.consecutiveFailures == 4)
        outbox.fetched([2])
        outbox.reported(delivered: [2], failed: [], now: 21)
        #expect(outbox.consecutiveFailures == 0 && outbox.retryAt == nil)
        outbox.applied()
        outbox.fetched([5])
        outbox.reported(delivered: [], failed: [5], now: 30)
        #expect(outbox.retryAt == 31, "the backoff starts again from the minimum")
    }

    @Test("one failure in a batch backs off once, when the whole batch is reported")
    func oneBackoffPerBatch() {
        var outbox = Self.outbox()
        outbox.fetched([1, 2, 3])
        outbox.reported(delivered: [], failed: [1], now: 0)
        #expect(outbox.retryAt == nil, "still waiting for the others")
        outbox.reported(delivered: [], failed: [2], now: 0)
        outbox.reported(delivered: [3], failed: [], now: 0)
        #expect(outbox.retryAt == 1 && outbox.consecutiveFailures == 1)
    }
}
