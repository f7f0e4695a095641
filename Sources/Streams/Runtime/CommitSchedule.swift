import Foundation

/// The commit state machine of a loop thread, without I/O: when a transaction is handed to the
/// committer, how long the next poll may wait, and which batches aborted. The loop feeds it what
/// each turn did; tests feed it instants of their choosing.
///
/// ```
///            poll ──▶ process (≤ budget) ──▶ turnEnded
///              ▲                                │
///              │          full: wait for the one in flight, poll without waiting
///              │          paused with work: wait for it, hand over
///              │          commit interval passed: hand over if none in flight
///              └────────── otherwise: take its outcome if it is over
/// ```
///
/// A transaction is handed over when none is in flight and the records processed since the last
/// hand-over reach `maxRecords` or their outputs the output budget (full), or the input paused — nothing came for `idleWait`, when
/// that is shorter than the commit interval — with records processed, or `commitInterval` passed.
struct CommitSchedule: Sendable {
    let commitInterval: Duration
    /// Hand over once nothing came for this long (only when shorter than `commitInterval`).
    let idleWait: Duration
    let maxRecords: Int
    /// Input records processed since the last hand-over.
    private(set) var uncommitted = 0
    private(set) var lastHandOver: ContinuousClock.Instant
    private(set) var lastInput: ContinuousClock.Instant

    /// The poll's wait while nothing is processed and not handed over.
    static let idlePoll: Duration = .milliseconds(50)

    init(commitInterval: Duration, idleWait: Duration, maxRecords: Int, now: ContinuousClock.Instant) {
        self.commitInterval = commitInterval
        self.idleWait = idleWait
        self.maxRecords = maxRecords
        lastHandOver = now
        lastInput = now
    }

    /// Whether a pause of the input hands a transaction over before the commit interval.
    var idleCommits: Bool { idleWait < commitInterval }

    /// What the rest of this turn may still process: the transaction's budget less what the
    /// turn processed so far.
    func budget(processedThisTurn: Int) -> Int { maxRecords - uncommitted - processedThisTurn }

    /// After the poll: notes input, and answers whether the input has paused (nothing came for
    /// the idle wait).
    mutating func polled(anything: Bool, at now: ContinuousClock.Instant) -> Bool {
        if anything { lastInput = now }
        return idleCommits && !anything && now - lastInput >= idleWait
    }

    /// What the loop does at the end of a turn.
    struct Turn: Sendable, Equatable {
        /// How long the next poll may wait.
        var pollTimeout: Duration
        /// Wait for the transaction in flight; otherwise only take its outcome if it is over.
        var waitForInFlight: Bool
        /// Hand a transaction over, if none is in flight (after taking the outcome).
        var handOver: Bool
    }

    /// The end of a turn that processed `processed` records; `idle` is what ``polled(anything:at:)``
    /// answered; `outputsFull` when the outputs since the last hand-over reached their budget
    /// (`maxOutputBytesPerTransaction`): full, whatever the record count.
    mutating func turnEnded(processed: Int, idle: Bool, outputsFull: Bool = false, now: ContinuousClock.Instant) -> Turn {
        uncommitted += processed
        let full = uncommitted >= maxRecords || (outputsFull && uncommitted > 0)
        let pausedWithWork = idle && uncommitted > 0
        // After a full turn records may still wait in the buffers: no wait. With records
        // processed and not yet handed over, the next poll waits only the idle wait: if nothing
        // comes meanwhile, they are committed then.
        let pollTimeout: Duration
        if full {
            pollTimeout = .zero
        } else if uncommitted > 0 && idleCommits {
            pollTimeout = min(idleWait, Self.idlePoll)
        } else {
            pollTimeout = Self.idlePoll
        }
        return Turn(
            pollTimeout: pollTimeout, waitForInFlight: full || pausedWithWork,
            handOver: full || pausedWithWork || now - lastHandOver >= commitInterval)
    }

    /// A transaction was handed over (or there was nothing to hand over): the count and the
    /// interval start again. Returns what it held: records, and the time since the last one.
    mutating func handedOver(now: ContinuousClock.Instant) -> (records: Int, sinceLast: Duration) {
        defer {
            uncommitted = 0
            lastHandOver = now
        }
        return (uncommitted, now - lastHandOver)
    }
}

/// The transactions of one loop thread: their batch ids, and the batches that aborted. A
/// restore here skips an aborted batch at once; the next transactions write an abort note for it
/// to each changelog partition it touched, so that a restore anywhere skips it. Once the loop
/// failed (``poisoned``), nothing more is committed.
struct TransactionLedger: Sendable {
    /// This worker thread's instance id (kept in the state directory across restarts: the
    /// transactional id's base). Batch ids are `<instance>:<life>:<n>`.
    let instance: String
    /// This start of the loop: the count restarts with every start, so without it a batch of one
    /// life could carry the id of another life's — and an abort note for one would make every
    /// restore skip the other, committed one (state lost, its input not processed again).
    let life: String
    private(set) var sequence = 0
    /// Batches of this instance that aborted.
    private(set) var aborted = Set<String>()
    /// Abort notes still to write, per changelog partition, oldest first.
    private(set) var notes: [Int32: [String]] = [:]
    /// Set when the loop stopped on an error: what was processed since the last commit may be
    /// incomplete, and the partitions' next owner processes it again.
    var poisoned = false

    init(instance: String, life: String = String(UUID().uuidString.prefix(8)).lowercased()) {
        self.instance = instance
        self.life = life
    }

    /// The next transaction's batch id: unique across the instance's restarts.
    mutating func nextBatch() -> String {
        sequence += 1
        return "\(instance):\(life):\(sequence)"
    }

    /// The batch aborted: every changelog partition it wrote gets a note.
    mutating func aborted(_ batch: String, partitions: [Int32]) {
        aborted.insert(batch)
        for partition in partitions { notes[partition, default: []].append(batch) }
    }

    /// The notes a transaction writes to `partition`.
    func notes(for partition: Int32) -> [String] { notes[partition] ?? [] }

    /// The batches a restore of `partition` here skips before reading the changelog: those whose
    /// note for it is not written yet (a written one is in the changelog, before this writer's
    /// next marker, where every restore sees it).
    func skipped(in partition: Int32) -> Set<String> { Set(notes(for: partition)) }

    /// The partition left this thread with notes not written: they are dropped, not written
    /// later. Once another writer's marker follows an aborted batch on a partition, every
    /// restore has settled that batch as committed (``ChangelogRestorer``), and a note after it
    /// would only make readers that honour notes anywhere disagree with them. (Whole batches
    /// are visible with their markers: the committer sends the markers after every other
    /// record was delivered.) Returns the dropped notes.
    @discardableResult
    mutating func forget(partition: Int32) -> [String] {
        notes.removeValue(forKey: partition) ?? []
    }

    /// A committed transaction wrote the first `count` notes of `partition`.
    mutating func written(_ count: Int, partition: Int32) {
        guard count > 0, var pending = notes[partition] else { return }
        pending.removeFirst(min(count, pending.count))
        notes[partition] = pending.isEmpty ? nil : pending
    }
}
