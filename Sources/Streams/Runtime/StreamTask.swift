import Foundation
import Kafka

/// A store whose changes since the last commit are collected for the changelog.
///
/// Two ways to hold its entries: all in memory (``init(name:)``, the task has no usable local
/// state file), or on disk (``init(name:file:cache:)``): the task's ``TaskStateFile`` holds what
/// committed, a worker-wide ``StateCache`` bounded in bytes keeps the entries read lately, and
/// the store itself only what changed since its last commit and what commits in flight took
/// (until the file has them: ``committed()``). Reads look there in that order.
final class TaskStore: KeyValueStore {
    let name: String
    private let memory: InMemoryKeyValueStore?
    private let file: TaskStateFile?
    private let cache: StateCache?
    private let owner: UInt64
    /// Key → new value, or nil for a delete, since the last commit.
    private(set) var changes: [String: [UInt8]?] = [:]
    /// Changes taken by commits the file has not confirmed yet, oldest first (on disk only).
    private var inFlight: [[String: [UInt8]?]] = []
    /// A read of the file failed: the task must be restored again (see ``failure``).
    private(set) var failure: (any Error)?

    init(name: String) {
        self.name = name
        memory = InMemoryKeyValueStore()
        file = nil
        cache = nil
        owner = 0
    }

    /// A store kept in `file`, read through `cache` as `owner` (the file's cache id).
    init(name: String, file: TaskStateFile, cache: StateCache, owner: UInt64) {
        self.name = name
        memory = nil
        self.file = file
        self.cache = cache
        self.owner = owner
    }

    var isOnDisk: Bool { file != nil }

    func get(_ key: String) -> [UInt8]? {
        guard let file, let cache else { return memory?.get(key) }
        if let changed = changes[key] { return changed }
        for batch in inFlight.reversed() { if let changed = batch[key] { return changed } }
        if let cached = cache.value(owner: owner, store: name, key: key) { return cached }
        do {
            let value = try file.value(store: name, key: key)
            cache.set(owner: owner, store: name, key: key, value: value)
            return value
        } catch {
            // Reported by the task before its next commit, which then does not happen.
            failure = failure ?? error
            return nil
        }
    }

    func put(_ key: String, _ value: [UInt8]) {
        memory?.put(key, value)
        changes[key] = .some(value)
    }

    func delete(_ key: String) {
        memory?.delete(key)
        changes[key] = .some(nil)
    }

    func entries(prefix: String) -> [(key: String, value: [UInt8])] {
        guard let file else { return memory?.entries(prefix: prefix) ?? [] }
        var entries: [String: [UInt8]]
        do { entries = try file.entries(store: name, prefix: prefix) } catch {
            failure = failure ?? error
            return []
        }
        for batch in inFlight + [changes] {
            for (key, value) in batch where key.hasPrefix(prefix) { entries[key] = value }
        }
        return entries.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// Entries held in memory: all of them, or on disk the changes not in the file yet.
    var count: Int { memory?.count ?? (changes.count + inFlight.reduce(0) { $0 + $1.count }) }

    /// Applies a restored entry (not a change). On disk, the restore writes the file itself.
    func restore(_ key: String, _ value: [UInt8]?) {
        guard let memory else { return }
        if let value { memory.put(key, value) } else { memory.delete(key) }
    }

    /// Logs the key's current value again at the next commit (a correction after an aborted write).
    func rewrite(_ key: String) {
        changes[key] = .some(get(key))
    }

    func takeChanges() -> [String: [UInt8]?] {
        defer { changes = [:] }
        if file != nil { inFlight.append(changes) }  // one per commit, empty or not: ``committed()`` takes one
        return changes
    }

    /// The oldest commit in flight is in the file now: its entries leave the store for the cache.
    func committed() {
        guard let cache, !inFlight.isEmpty else { return }
        for (key, value) in inFlight.removeFirst() { cache.set(owner: owner, store: name, key: key, value: value) }
    }
}

/// One task: partition p of a processor's co-partitioned inputs, its processor, stores, clock
/// and the outputs and positions not committed yet.
final class StreamTask: ProcessorContext {
    let partition: Int32
    let processor: any StreamProcessor
    var clock: TaskClock
    private(set) var wallClock: Int64
    private var stores: [String: TaskStore] = [:]
    /// Outputs since the last commit, packed.
    private(set) var outputs = OutputBatch()
    /// Bytes of the packed outputs: what the transaction's output budget counts.
    var outputBytes: Int { outputs.byteCount }
    /// Next offset to read per input topic, as processed (not yet committed).
    var positions: [String: Int64] = [:]
    private var pendingEventTime: Int64?
    private(set) var dirty = false
    /// The task's state on local disk, if it could be opened.
    var stateFile: TaskStateFile?
    /// When set, the task's stores live in this file, read through the worker's cache (as this
    /// owner); otherwise in memory. Set before the first store is made (``taskStore(_:)``).
    var storesOnDisk: (file: TaskStateFile, cache: StateCache, owner: UInt64)?
    /// Where records go that belong to another task, when the processor is repartitioned.
    var routing: KeyRouting?
    /// A `repartition` call without routing, to fail the record with.
    private var misrouted: String?
    private var lastWallClockTick: Int64
    private var punctuations = PunctuationSchedule()
    private var initialized = false
    var processedRecords = 0
    /// Input records processed per topic since the last ``takeCommit()``, for the metrics.
    private var consumed: [String: Int] = [:]
    /// The oldest Kafka timestamp among them (ms), for the input-to-commit latency.
    private var oldestInput = Int64.max

    init(partition: Int32, processor: any StreamProcessor, wallClock: Int64, idleTimeout: Int64) {
        self.partition = partition
        self.processor = processor
        self.wallClock = wallClock
        clock = TaskClock(startedAt: wallClock, idleTimeout: idleTimeout)
        lastWallClockTick = wallClock
    }

    // MARK: ProcessorContext

    var streamTime: Int64 { max(clock.streamTime, pendingEventTime ?? .min) }
    func forward(_ record: OutputRecord) { outputs.append(record) }
    func store(_ name: String) -> any KeyValueStore { taskStore(name) }
    func observeEventTime(_ milliseconds: Int64) { pendingEventTime = max(pendingEventTime ?? .min, milliseconds) }
    func owner(ofKey key: String) -> Int32? { routing?.owner(ofKey: key) }
    func repartition(_ record: StreamRecord, key: String) {
        guard let routing else {
            misrouted = "\(record.topic)[\(record.partition)]@\(record.offset)"
            return
        }
        forward(routing.forward(record, key: key))
    }
    func schedule(_ type: PunctuationType, every interval: Int64, _ punctuator: @escaping Punctuation.Punctuator) -> Punctuation {
        punctuations.schedule(type, every: interval, wallClock: wallClock, punctuator)
    }

    func taskStore(_ name: String) -> TaskStore {
        if let store = stores[name] { return store }
        let store = storesOnDisk.map { TaskStore(name: name, file: $0.file, cache: $0.cache, owner: $0.owner) } ?? TaskStore(name: name)
        stores[name] = store
        return store
    }

    // MARK: Driving

    /// The processor's ``StreamProcessor/initialize(context:)``, once, before it gets anything
    /// else (the task's stores are restored by then: a task is used only once opened).
    private func initializeOnce() throws {
        guard !initialized else { return }
        initialized = true
        try processor.initialize(context: self)
    }

    /// Calls the punctuations of `type` due at `time`, in the order they were scheduled. By
    /// index: a punctuator may schedule another (called from the next time on).
    private func punctuate(_ type: PunctuationType, at time: Int64) throws {
        var index = 0
        let count = punctuations.punctuations.count  // one scheduled meanwhile waits for the next time
        while index < min(count, punctuations.punctuations.count) {
            let punctuation = punctuations.punctuations[index]
            index += 1
            if PunctuationSchedule.claim(punctuation, type, at: time) { try punctuation.punctuator(time, self) }
        }
    }

    func process(_ record: StreamRecord, now: Int64) throws {
        wallClock = now
        try initializeOnce()
        pendingEventTime = nil
        try processor.process(record, context: self)
        if let misrouted {
            self.misrouted = nil
            throw StreamsError(
                .invalidState, "the processor repartitioned \(misrouted), but it is not a repartitioned processor (ProcessorDefinition.repartitions)")
        }
        positions[record.topic] = record.offset + 1
        processedRecords += 1
        consumed[record.topic, default: 0] += 1
        if let timestamp = record.timestamp, timestamp < oldestInput { oldestInput = timestamp }
        dirty = true
        if let eventTime = pendingEventTime, let advanced = clock.observe(eventTime: eventTime, wallClock: now) {
            pendingEventTime = nil
            try punctuate(.streamTime, at: advanced)
        }
        pendingEventTime = nil
    }

    /// Wall-clock punctuations and the idle advance (with its stream-time punctuations), at most
    /// every `interval` ms.
    func tick(now: Int64, interval: Int64) throws {
        wallClock = now
        guard now - lastWallClockTick >= interval else { return }
        lastWallClockTick = now
        try initializeOnce()
        try punctuate(.wallClock, at: now)
        if let advanced = clock.idleAdvance(wallClock: now) {
            try punctuate(.streamTime, at: advanced)
        }
        if !outputs.isEmpty { dirty = true }
    }

    /// What one commit takes from a task.
    struct Commit {
        var outputs: OutputBatch
        var changes: [(store: String, key: String, value: [UInt8]?)]
        var positions: [String: Int64]
        /// Input records processed per topic since the last commit.
        var consumed: [String: Int]
        /// The oldest Kafka timestamp among them (ms since the epoch), if any had one.
        var oldestInput: Int64?
    }

    /// Everything to commit: outputs, store changes, positions. Resets the task to clean.
    func takeCommit() throws -> Commit {
        try initializeOnce()
        try processor.flush(context: self)
        // A store on disk that could not be read gave the processor nothing: nothing it did since
        // may be committed.
        if let (name, error) = stores.lazy.compactMap({ store in store.value.failure.map { (store.key, $0) } }).first {
            throw StreamsError(.invalidState, "task \(partition): store \(name) could not be read from the local state file: \(error)")
        }
        var changes: [(String, String, [UInt8]?)] = []
        for (name, store) in stores.sorted(by: { $0.key < $1.key }) {
            for (key, value) in store.takeChanges().sorted(by: { $0.key < $1.key }) { changes.append((name, key, value)) }
        }
        let result = Commit(
            outputs: outputs, changes: changes, positions: positions, consumed: consumed,
            oldestInput: oldestInput == .max ? nil : oldestInput)
        // The next transaction's outputs take about what this one's did: room for them at once.
        outputs = OutputBatch(capacity: result.outputs.byteCount)
        consumed = [:]
        oldestInput = .max
        dirty = false
        return result
    }

    /// The commit that took this task's changes is in its state file: stores on disk let them go.
    func committedToFile() {
        for store in stores.values { store.committed() }
    }

    /// The names of the stores the processor used.
    var storeNames: [String] { stores.keys.sorted() }

    /// Entries held by the task's stores (in memory), for the metrics.
    var storeEntries: Int { stores.values.reduce(0) { $0 + $1.count } }

    var hasWork: Bool { dirty || !outputs.isEmpty }

    /// Marks the task as having something to commit (corrections after a restore).
    func markDirty() { dirty = true }
}

// MARK: Driven by hand

extension StreamTask {
    /// Runs the processor's flush (its buffered state into its stores), keeping the outputs.
    func flushProcessor() throws {
        try initializeOnce()
        try processor.flush(context: self)
    }

    /// The outputs forwarded so far, removed from the task.
    func takeOutputs() -> OutputBatch {
        defer { outputs = OutputBatch() }
        return outputs
    }
}

/// One real task — the runtime's `StreamTask`, its clock and its stores — driven by hand: what
/// `ProcessorTestDriver` (TestSupport) runs processors on, so that a processor test exercises the
/// same event-time, idle-advance and store code as a worker. No Kafka, no threads: the caller
/// owns the clock.
public final class StreamTaskHarness {
    let task: StreamTask
    /// Commits "written" to the state file of stores on disk (its changelog offset); with a
    /// changelog (``commit()``), the offset after its last commit marker.
    var commits: Int64 = 0

    /// A task made elsewhere (a reopened or restored one, StreamTaskHarness+Changelog.swift).
    init(task: StreamTask, commits: Int64) {
        self.task = task
        self.commits = commits
    }

    /// - Parameter stores: entries to start from, by store (a restart from another harness's
    ///   ``storeContents``), applied as a restore is.
    ///   - routing: the repartition topic and key partitions, for a repartitioned processor.
    public init(
        processor: any StreamProcessor, partition: Int32, wallClock: Int64, idleTimeout: Int64, stores: [String: [(key: String, value: [UInt8])]] = [:],
        routing: KeyRouting? = nil
    ) {
        task = StreamTask(partition: partition, processor: processor, wallClock: wallClock, idleTimeout: idleTimeout)
        task.routing = routing
        for (name, entries) in stores {
            let store = task.taskStore(name)
            for entry in entries { store.restore(entry.key, entry.value) }
        }
    }

    /// A task whose stores live in a task state file under `directory`, read through `cache`, as a
    /// worker keeps them; every ``flush()`` commits to the file. `stores` are written to it first.
    /// - Parameters:
    ///   - name: the processor's folder in `directory` (a worker's is the processor's name).
    ///   - stateFileInterval: the file is written at most this often (the worker's
    ///     `stateFileInterval`); zero writes every commit.
    public init(
        processor: any StreamProcessor, partition: Int32, wallClock: Int64, idleTimeout: Int64, stores: [String: [(key: String, value: [UInt8])]] = [:],
        routing: KeyRouting? = nil, directory: String, cache: StateCache, name: String = "harness", stateFileInterval: Duration = .zero
    ) throws {
        task = StreamTask(partition: partition, processor: processor, wallClock: wallClock, idleTimeout: idleTimeout)
        task.routing = routing
        let file = try TaskStateFile(directory: directory, processor: name, partition: partition, interval: stateFileInterval)
        try file.reset()
        task.storesOnDisk = (file, cache, cache.newOwner())
        var changes: [(store: String, key: String, value: [UInt8]?)] = []
        for (name, entries) in stores { for entry in entries { changes.append((name, entry.key, entry.value)) } }
        commits += 1
        try file.apply(changes: changes, streamTime: .min, positions: [:], changelogOffset: commits)
    }

    public var partition: Int32 { task.partition }
    public var streamTime: Int64 { task.clock.streamTime }
    public var wallClock: Int64 { task.wallClock }
    /// Next offset per input topic, as processed.
    public var positions: [String: Int64] { task.positions }

    /// Processes one record at wall-clock time `now`, as the loop does.
    public func process(_ record: StreamRecord, now: Int64) throws { try task.process(record, now: now) }

    /// The wall-clock tick and the idle advance at `now` (every call ticks).
    public func tick(now: Int64) throws { try task.tick(now: now, interval: 0) }

    /// The processor's flush (what the runtime does before each commit); with stores on disk, the
    /// commit to the state file too (outputs stay to be taken).
    public func flush() throws {
        try task.flushProcessor()
        guard let disk = task.storesOnDisk else { return }
        for name in task.storeNames {
            if let error = task.taskStore(name).failure { throw error }
        }
        var changes: [(store: String, key: String, value: [UInt8]?)] = []
        for name in task.storeNames {
            for (key, value) in task.taskStore(name).takeChanges() { changes.append((name, key, value)) }
        }
        commits += 1
        try disk.file.apply(changes: changes, streamTime: task.clock.streamTime, positions: task.positions, changelogOffset: commits)
        task.committedToFile()
    }

    /// Outputs forwarded so far, removed.
    public func takeOutputs() -> [OutputRecord] { task.outputs.isEmpty ? [] : task.takeOutputs().records }

    /// Outputs forwarded so far, removed, as they are packed (``OutputBatch/records`` reads them).
    public func takeOutputBatch() -> OutputBatch { task.takeOutputs() }

    /// A store of the task, live.
    public func store(_ name: String) -> any KeyValueStore { task.taskStore(name) }

    /// Every store's entries now, by store: what a restart restores.
    public var storeContents: [String: [(key: String, value: [UInt8])]] {
        var contents: [String: [(key: String, value: [UInt8])]] = [:]
        for name in task.storeNames { contents[name] = task.taskStore(name).entries(prefix: "") }
        return contents
    }
}
