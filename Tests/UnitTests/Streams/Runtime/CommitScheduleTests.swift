import Testing

@testable import Streams

@Suite("The loop's commit state machine (no I/O): when a transaction is handed over, how long a poll waits, aborted batches and their notes")
struct CommitScheduleTests {
    let start = ContinuousClock.now

    func schedule(interval: Duration = .milliseconds(100), idleWait: Duration = .milliseconds(20), max: Int = 1_000) -> CommitSchedule {
        CommitSchedule(commitInterval: interval, idleWait: idleWait, maxRecords: max, now: start)
    }

    @Test("a full transaction is handed over at once, waiting for the one in flight, and the next poll does not wait")
    func full() {
        var s = schedule(max: 10)
        #expect(s.budget(processedThisTurn: 4) == 6)
        let idle = s.polled(anything: true, at: start)
        let turn = s.turnEnded(processed: 10, idle: idle, now: start.advanced(by: .milliseconds(1)))
        #expect(turn == .init(pollTimeout: .zero, waitForInFlight: true, handOver: true))
        #expect(s.budget(processedThisTurn: 0) == 0)
        let handed = s.handedOver(now: start.advanced(by: .milliseconds(2)))
        #expect(handed.records == 10 && handed.sinceLast == .milliseconds(2))
        #expect(s.budget(processedThisTurn: 0) == 10, "the count starts again")
    }

    @Test("outputs at their budget make the transaction full below the record bound; without records processed they hand nothing over early")
    func outputsFull() {
        var s = schedule(max: 1_000)
        _ = s.polled(anything: true, at: start)
        let turn = s.turnEnded(processed: 3, idle: false, outputsFull: true, now: start.advanced(by: .milliseconds(1)))
        #expect(turn == .init(pollTimeout: .zero, waitForInFlight: true, handOver: true))
        _ = s.handedOver(now: start.advanced(by: .milliseconds(2)))
        let empty = s.turnEnded(processed: 0, idle: false, outputsFull: true, now: start.advanced(by: .milliseconds(3)))
        #expect(!empty.handOver, "outputs from a clock punctuation alone wait for the commit interval")
    }

    @Test("with records processed, the poll waits only the idle wait; once nothing came for it, the transaction is handed over before the commit interval")
    func pausedInput() {
        var s = schedule()
        _ = s.polled(anything: true, at: start)
        let busy = s.turnEnded(processed: 5, idle: false, now: start.advanced(by: .milliseconds(1)))
        #expect(busy == .init(pollTimeout: .milliseconds(20), waitForInFlight: false, handOver: false))
        let early = s.polled(anything: false, at: start.advanced(by: .milliseconds(10)))
        #expect(!early, "10 ms without input is not a pause yet")
        let paused = s.polled(anything: false, at: start.advanced(by: .milliseconds(20)))
        #expect(paused)
        let turn = s.turnEnded(processed: 0, idle: paused, now: start.advanced(by: .milliseconds(21)))
        #expect(turn == .init(pollTimeout: .milliseconds(20), waitForInFlight: true, handOver: true))
    }

    @Test(
        "an idle wait longer than the 50 ms poll is counted across empty polls from the last input: 99 empty polls within 5 s hand nothing over, the one at 5 s does"
    )
    func idleWaitSpansPolls() {
        var s = schedule(interval: .seconds(600), idleWait: .seconds(5))
        _ = s.polled(anything: true, at: start)
        let busy = s.turnEnded(processed: 30, idle: false, now: start)
        #expect(busy.pollTimeout == CommitSchedule.idlePoll, "a poll never waits longer than 50 ms")
        for poll in 1..<100 {
            let now = start.advanced(by: .milliseconds(50 * poll))
            let idle = s.polled(anything: false, at: now)
            let turn = s.turnEnded(processed: 0, idle: idle, now: now)
            #expect(!idle && !turn.handOver, "\(50 * poll) ms without input is not yet the 5 s pause")
        }
        let now = start.advanced(by: .seconds(5))
        let paused = s.polled(anything: false, at: now)
        #expect(paused)
        let turn = s.turnEnded(processed: 0, idle: paused, now: now)
        #expect(turn.handOver)
        // Input in between starts the count again.
        _ = s.handedOver(now: now)
        _ = s.polled(anything: true, at: now.advanced(by: .seconds(1)))
        _ = s.turnEnded(processed: 1, idle: false, now: now.advanced(by: .seconds(1)))
        let notYet = s.polled(anything: false, at: now.advanced(by: .milliseconds(5_999)))
        let again = s.polled(anything: false, at: now.advanced(by: .seconds(6)))
        #expect(!notYet && again)
    }

    @Test("a pause without work hands nothing over; the commit interval hands over what there is, without waiting")
    func interval() {
        var s = schedule()
        let idle = s.polled(anything: false, at: start.advanced(by: .milliseconds(50)))
        #expect(idle, "nothing came since the start")
        let quiet = s.turnEnded(processed: 0, idle: idle, now: start.advanced(by: .milliseconds(50)))
        #expect(quiet == .init(pollTimeout: .milliseconds(50), waitForInFlight: false, handOver: false))
        let due = s.turnEnded(processed: 0, idle: false, now: start.advanced(by: .milliseconds(100)))
        #expect(due == .init(pollTimeout: .milliseconds(50), waitForInFlight: false, handOver: true))
        _ = s.handedOver(now: start.advanced(by: .milliseconds(100)))
        let before = s.turnEnded(processed: 0, idle: false, now: start.advanced(by: .milliseconds(199)))
        #expect(!before.handOver)
        let after = s.turnEnded(processed: 0, idle: false, now: start.advanced(by: .milliseconds(200)))
        #expect(after.handOver)
    }

    @Test("an idle wait no shorter than the commit interval turns idle commits off: a pause is never reported and polls wait 50 ms")
    func idleCommitsOff() {
        var s = schedule(interval: .milliseconds(100), idleWait: .milliseconds(100))
        #expect(!s.idleCommits)
        let paused = s.polled(anything: false, at: start.advanced(by: .seconds(5)))
        #expect(!paused)
        let turn = s.turnEnded(processed: 3, idle: false, now: start.advanced(by: .milliseconds(10)))
        #expect(turn.pollTimeout == .milliseconds(50))
    }

    @Test(
        "batch ids count up per instance and life; an aborted batch is noted for each partition it wrote, and a committed transaction clears the notes it wrote, oldest first"
    )
    func ledger() {
        var ledger = TransactionLedger(instance: "i", life: "a")
        #expect(ledger.nextBatch() == "i:a:1")
        let second = ledger.nextBatch()
        #expect(second == "i:a:2")
        ledger.aborted("i:a:1", partitions: [0, 3])
        ledger.aborted(second, partitions: [3])
        #expect(ledger.aborted == ["i:a:1", "i:a:2"])
        #expect(ledger.notes(for: 0) == ["i:a:1"] && ledger.notes(for: 3) == ["i:a:1", "i:a:2"] && ledger.notes(for: 5).isEmpty)
        ledger.written(1, partition: 3)
        #expect(ledger.notes(for: 3) == ["i:a:2"])
        ledger.written(1, partition: 0)
        ledger.written(0, partition: 3)
        #expect(ledger.notes(for: 0).isEmpty && ledger.notes(for: 3) == ["i:a:2"])
        ledger.written(5, partition: 3)
        #expect(ledger.notes(for: 3).isEmpty)
        #expect(ledger.aborted.count == 2, "restores here keep skipping the aborted batches")
    }

    @Test(
        "a partition that leaves with notes not written drops them: its restores here no longer skip those batches, other partitions keep theirs"
    )
    func forgetPartition() {
        var ledger = TransactionLedger(instance: "i", life: "a")
        let batch = ledger.nextBatch()
        ledger.aborted(batch, partitions: [1, 2])
        #expect(ledger.skipped(in: 1) == [batch] && ledger.skipped(in: 2) == [batch])
        let dropped = ledger.forget(partition: 1)
        #expect(dropped == [batch])
        #expect(ledger.skipped(in: 1).isEmpty && ledger.notes(for: 1).isEmpty, "taken for committed, as every other restore takes it")
        #expect(ledger.skipped(in: 2) == [batch] && ledger.notes(for: 2) == [batch])
        ledger.written(1, partition: 2)
        #expect(ledger.skipped(in: 2).isEmpty, "once written, the note in the changelog does the skipping")
    }

    @Test(
        "batches are settled as a restore settles them: a note before the partition's next marker aborts the batch, one after it changes nothing; a batch skipped on any partition is aborted"
    )
    func settledBatches() {
        let (committed, aborted) = ChangelogRecord.settledBatches([
            [.change, .commit(batch: "a"), .abort(batch: "a"), .change, .commit(batch: "b"), .commit(batch: "c"), .abort(batch: "c")],
            [.change, .commit(batch: "d"), .change, .commit(batch: "e"), .abort(batch: "d"), .change],
            [.commit(batch: "f")],
            [.commit(batch: "f"), .abort(batch: "f")],
        ])
        #expect(committed == ["b", "d", "e"])
        #expect(aborted == ["a", "c", "f"])
    }

    @Test(
        "a restarted instance never reuses a batch id of its earlier lives: an abort note written in one life cannot make a restore skip another life's committed batch"
    )
    func batchIdsUniqueAcrossRestarts() {
        var first = TransactionLedger(instance: "i")
        var second = TransactionLedger(instance: "i")  // the same instance id, read back from the state directory
        let earlier = Set((0..<1_000).map { _ in first.nextBatch() })
        let later = Set((0..<1_000).map { _ in second.nextBatch() })
        #expect(earlier.count == 1_000 && later.count == 1_000)
        #expect(earlier.isDisjoint(with: later))
        #expect(earlier.allSatisfy { $0.hasPrefix("i:") })
    }
}
