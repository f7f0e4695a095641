import Foundation
import Kafka
import Logging

/// One record a task's commit writes to its changelog partition (``ChangelogFormat``): a store
/// entry (a nil value: its tombstone), the task's positions, or the commit marker; at its offset.
public struct ChangelogEntry: Sendable {
    public var offset: Int64
    public var key: [UInt8]
    public var value: [UInt8]?

    public init(offset: Int64, key: [UInt8], value: [UInt8]?) {
        self.offset = offset
        self.key = key
        self.value = value
    }
}

/// What reopening a task read: its local state file, then its changelog after the file's offset.
public struct TaskReopening: Sendable {
    /// Entries of the local state file read through (a worker reads the file once at start).
    public var localEntries = 0
    /// The offset the local file was current to (0: none, or an empty file).
    public var localOffset: Int64 = 0
    /// Where the changelog was read from, and to.
    public var changelogFrom: Int64 = 0
    public var changelogEnd: Int64 = 0
    /// Changelog records read, store entries applied, batches applied and read twice.
    public var changelogRecords = 0
    public var appliedChanges = 0
    public var appliedBatches = 0
    public var rereadBatches = 0
    /// The most changelog bytes the restore held at once.
    public var peakHeldBytes = 0
}

/// A task driven by hand with a changelog: each ``commit(batch:)`` gives the records a worker's
/// commit writes to the task's changelog partition, and a task can be opened again as a worker
/// opens one — from its state directory and the changelog after it, or from the changelog alone.
/// What the state-growth benchmark drives (no broker: its changelog outgrows the in-process
/// cluster, Docs/performance.md).
extension StreamTaskHarness {
    /// Whether the task has something to commit (records processed, or outputs of a tick).
    public var hasWork: Bool { task.hasWork }

    /// Entries the task's stores hold in memory (on disk: the changes not in the file yet).
    public var storeEntriesInMemory: Int { task.storeEntries }

    /// A worker's commit of this task (stores on disk only): the processor's flush, then what the
    /// worker's transaction writes — the outputs, and on the changelog the changed entries (by
    /// store and key), the positions and stream time, the commit marker — at the offsets after the
    /// last commit's; the changes are staged in the task's state file at the offset after the
    /// marker, as the worker does once its transaction committed.
    public func commit(batch: String) throws -> (outputs: [OutputRecord], changelog: [ChangelogEntry]) {
        guard let disk = task.storesOnDisk else { throw StreamsError(.invalidState, "commit(batch:) needs a task with its stores on disk") }
        let commit = try task.takeCommit()
        var offset = commits
        var changelog: [ChangelogEntry] = []
        changelog.reserveCapacity(commit.changes.count + 2)
        func append(_ key: [UInt8], _ value: [UInt8]?) {
            changelog.append(ChangelogEntry(offset: offset, key: key, value: value))
            offset += 1
        }
        for change in commit.changes { append(Array(ChangelogFormat.storeKey(store: change.store, key: change.key).utf8), change.value) }
        let streamTime = task.clock.streamTime
        append(Array(ChangelogFormat.positionsKey.utf8), ChangelogFormat.encodePositions(streamTime: streamTime, positions: commit.positions))
        append(Array(ChangelogFormat.commitKey.utf8), Array(batch.utf8))
        commits = offset
        try disk.file.apply(changes: commit.changes, streamTime: streamTime, positions: commit.positions, changelogOffset: offset)
        task.committedToFile()
        return (commit.outputs.records, changelog)
    }

    /// The processor's `initialize` (reading its state back), as before its first record, and its
    /// flush; nothing is committed.
    public func initialize() throws { try task.flushProcessor() }

    /// Writes what the task's state file has staged (a worker does when a task leaves it).
    public func closeStateFile() throws { try task.storesOnDisk?.file.flush() }

    /// Entries of the task's state file (written first) by `<store>/<kind>` — kind: the key up to
    /// its first `:` (`workorder:`, `retired:`…), empty for keys without one (the release ledger's).
    public func storedEntryCounts() throws -> [String: Int] {
        guard let file = task.storesOnDisk?.file else { return [:] }
        try file.flush()
        return try file.entryCounts()
    }

    /// Every key of the task's state file (written first), as `<store>␟<key>` (its changelog key).
    public func storedKeys() throws -> Set<String> {
        guard let file = task.storesOnDisk?.file else { return [] }
        try file.flush()
        var keys: Set<String> = []
        try file.forEachEntry { store, key, _ in keys.insert(ChangelogFormat.storeKey(store: store, key: key)) }
        return keys
    }

    /// A task opened as a worker opens one (StreamLoop+Tasks.swift `openTask`): its state file in
    /// `directory` (moved aside if SQLite cannot read it), read through once; a ``RestorePlan``
    /// from the file's offset and the changelog's watermarks; the changelog after that offset read
    /// by ``ChangelogRestorer`` with each settled batch staged into the file (written every 10,000
    /// entries once a batch settles, every 20,000 within one, and at the end); stream time and
    /// positions restored. With an empty `directory` the task is rebuilt from the changelog alone.
    /// The processor's `initialize` runs at the task's first use (``flush()`` or a record).
    /// - Parameters:
    ///   - changelog: the task's changelog partition (`nil`: an empty one).
    ///   - watermarks: its log start and end offsets.
    public static func reopen(
        processor: any StreamProcessor, partition: Int32, wallClock: Int64, idleTimeout: Int64, routing: KeyRouting? = nil,
        directory: String, cache: StateCache, name: String = "harness", stateFileInterval: Duration = .zero,
        changelog: (any ChangelogReader)?, watermarks: KafkaWatermarks, logger: Logger
    ) throws -> (harness: StreamTaskHarness, reopening: TaskReopening) {
        let task = StreamTask(partition: partition, processor: processor, wallClock: wallClock, idleTimeout: idleTimeout)
        task.routing = routing
        let file = try TaskStateFile.openMovingAsideIfUnreadable(directory: directory, processor: name, partition: partition, interval: stateFileInterval).file
        var local = try file.meta()
        var report = TaskReopening()
        var plan = RestorePlan(localOffset: local.changelogOffset, low: watermarks.low, high: watermarks.high)
        if plan.discardLocal {
            try file.reset()
            local = TaskStateFile.Snapshot()
        }
        report.localOffset = local.changelogOffset
        task.storesOnDisk = (file, cache, cache.newOwner())
        try file.forEachEntry { store, key, value in
            task.taskStore(store).restore(key, value)
            report.localEntries += 1
        }
        if let gap = plan.gap {
            throw StreamsError(.stateLoss, "task \(partition): the changelog starts at \(gap.logStart), the task needs it from \(gap.needed)")
        }
        var streamTime = local.streamTime
        var positions = local.positions
        var committedThrough = local.changelogOffset
        if let changelog {
            let restorer = ChangelogRestorer(client: KafkaClientConfiguration(bootstrapServers: [String]()), logger: logger)
            let session = restorer.open(topic: "\(name).changelog", partition: partition, reader: changelog, watermarks: watermarks)
            defer { session.close() }
            plan = RestorePlan(localOffset: local.changelogOffset, low: watermarks.low, high: watermarks.high)
            // As the worker stages a restore into the file (StreamLoop+Tasks.swift).
            var staged: [ChangelogRestorer.Change] = []
            var written = local.changelogOffset
            func write(through: Int64) throws {
                guard through > written || (through == written && !staged.isEmpty) else { return }
                try file.apply(changes: staged, streamTime: streamTime, positions: positions, changelogOffset: through)
                try file.flush()
                staged = []
                written = through
            }
            var failure: (any Error)?
            let restored = try session.restore(from: plan.start) { change in
                task.taskStore(change.store).restore(change.key, change.value)
                staged.append(change)
                if staged.count >= 20_000 {
                    do { try write(through: written) } catch { failure = failure ?? error }
                }
            } settled: { through, settledTime, settledPositions in
                streamTime = max(streamTime, settledTime)
                positions.merge(settledPositions) { max($0, $1) }
                if staged.count >= 10_000 {
                    do { try write(through: through) } catch { failure = failure ?? error }
                }
            }
            if let failure { throw failure }
            streamTime = max(streamTime, restored.streamTime)
            positions.merge(restored.positions) { max($0, $1) }
            try write(through: restored.committedThrough)
            for (store, key) in restored.uncommittedKeys {
                task.taskStore(store).rewrite(key)
                task.markDirty()
            }
            committedThrough = max(committedThrough, restored.committedThrough)
            report.changelogFrom = plan.start
            report.changelogEnd = watermarks.high
            report.changelogRecords = restored.recordsRead
            report.appliedChanges = restored.appliedChanges
            report.appliedBatches = restored.appliedBatches
            report.rereadBatches = restored.rereadBatches
            report.peakHeldBytes = restored.peakHeldBytes
        }
        task.clock.restore(streamTime: streamTime)
        task.positions = positions
        task.stateFile = file
        return (StreamTaskHarness(task: task, commits: max(committedThrough, watermarks.high)), report)
    }
}
