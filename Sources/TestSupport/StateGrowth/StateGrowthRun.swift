import Foundation
import Logging
import Manufacturing
import Streams

/// Drives a ``StateGrowthWorkload`` through the release and confirmation processors of one worker
/// — a task per partition of each, their stores on disk in task state files read through one
/// ``StateCache``, as a worker opens them — without a broker: each input goes to its task by key
/// (murmur2, as the producer partitions), the released work orders go on to the confirmation
/// tasks as the work-order table would bring them (and the retirements' tombstones too), every
/// `commitEvery` inputs each task with work is ticked and committed, and its changelog records go
/// to a ``CompactedChangelog``. The simulated wall clock is the input's arrival time.
public final class StateGrowthRun {
    public struct Options: Sendable {
        public var workload: StateGrowthWorkload
        /// Where the tasks' state files go (`release/`, `confirmation/`) and the changelog file.
        public var directory: String
        public var partitions: Int32 = 12
        /// Inputs between two commits (a worker commits every 100 ms: ~10,000 events at its rate).
        public var commitEvery = 10_000
        public var stateCacheBytes = 32 << 20
        public var stateFileInterval: Duration = .seconds(1)
        public var settings = ProcessingSettings()
        /// A ``Checkpoint`` every this many days of event time, and at the end.
        public var checkpointDays = 10

        public init(workload: StateGrowthWorkload, directory: String) {
            self.workload = workload
            self.directory = directory
        }
    }

    /// The state at a point of the run: task stores (their files), the compacted changelogs.
    public struct Checkpoint: Sendable {
        /// Days of event time since the start, and inputs processed.
        public var day: Double
        /// The simulated wall clock then (ms).
        public var time: Int64
        public var inputs: Int
        /// Work orders approved so far.
        public var approved: Int
        /// Entries of the tasks' state files by `<store>/<kind>` (kind: the key up to its ':').
        public var entries: [String: Int]
        /// Per partition: compacted changelog records and key + value bytes, and bytes appended
        /// before compaction; release and confirmation.
        public var releaseLog: [CompactedChangelog.Size]
        public var confirmationLog: [CompactedChangelog.Size]
        public var releaseAppended: [Int]
        public var confirmationAppended: [Int]
        public var cacheBytes: Int
        public var cacheEntries: Int
        /// The processors' in-memory state (their `stateSizes()`, summed over the tasks), by
        /// `<processor>/<name>`: schedules, resident work orders, open windows.
        public var processorSizes: [String: Int]

        /// Work orders in the confirmation stores (released, not retired).
        public var liveWorkOrders: Int { entries["confirmations/workorder:", default: 0] }
        public var retirementRecords: Int { entries["confirmations/retired:", default: 0] }
        public var ledgerRetirementRecords: Int { entries["releases/retired:", default: 0] }
        /// Every entry of every store.
        public var totalEntries: Int { entries.values.reduce(0, +) }
    }

    /// Timings every `sampleEvery` inputs (for the throughput of the first and last tenth).
    public struct Sample: Sendable {
        public var inputs: Int
        /// Wall seconds since the start (checkpoints excluded), and of them in the tasks
        /// (process, tick, commit) and in the changelog (the compacted log's SQLite).
        public var seconds: Double
        public var taskSeconds: Double
        public var changelogSeconds: Double
        public var day: Double
    }

    public let options: Options
    public let cache: StateCache
    public private(set) var release: [StreamTaskHarness] = []
    public private(set) var confirmation: [StreamTaskHarness] = []
    private var releaseProcessors: [ReleaseProcessor] = []
    private var confirmationProcessors: [ConfirmationProcessor] = []
    public let changelog: CompactedChangelog
    public private(set) var checkpoints: [Checkpoint] = []
    public private(set) var samples: [Sample] = []
    /// Outputs by topic (work orders to the table included), quarantines by reason.
    public private(set) var outputs: [String: Int] = [:]
    public private(set) var inputs = 0
    public private(set) var lateInputs = 0
    private var offsets: [String: [Int64]] = [:]
    private var batches = 0
    private var taskSeconds = 0.0
    private var changelogSeconds = 0.0
    private var checkpointSeconds = 0.0

    public init(_ options: Options) throws {
        self.options = options
        try FileManager.default.createDirectory(atPath: options.directory, withIntermediateDirectories: true)
        cache = StateCache(capacityBytes: options.stateCacheBytes)
        changelog = try CompactedChangelog(path: options.directory + "/changelog.sqlite")
        let masterData = try Examples.masterData()
        let start = options.workload.start
        for p in 0..<options.partitions {
            releaseProcessors.append(ReleaseProcessor(masterData: masterData, settings: options.settings))
            confirmationProcessors.append(ConfirmationProcessor(settings: options.settings))
            release.append(
                try StreamTaskHarness(
                    processor: releaseProcessors[Int(p)], partition: p, wallClock: start,
                    idleTimeout: options.settings.idleTimeout, directory: Self.stateDirectory(options.directory), cache: cache, name: "release",
                    stateFileInterval: options.stateFileInterval))
            confirmation.append(
                try StreamTaskHarness(
                    processor: confirmationProcessors[Int(p)], partition: p, wallClock: start,
                    idleTimeout: options.settings.idleTimeout, directory: Self.stateDirectory(options.directory), cache: cache, name: "confirmation",
                    stateFileInterval: options.stateFileInterval))
        }
    }

    public static func stateDirectory(_ directory: String) -> String { directory + "/state" }

    /// The changelog's name for a task.
    public static func logName(_ processor: String, _ partition: Int32) -> String { "\(processor)-\(partition)" }

    /// Runs the whole workload. `sampled` is called with each sample, `checkpointed` with each
    /// checkpoint (both on this thread).
    public func run(sampleEvery: Int = 10_000, sampled: (Sample) -> Void = { _ in }, checkpointed: (Checkpoint) -> Void = { _ in }) throws {
        let workload = options.workload
        let began = ContinuousClock.now
        var nextCheckpoint = workload.start + Int64(options.checkpointDays) * ProcessingSettings.day
        var sinceCommit = 0
        var now = workload.start
        func sample() {
            let elapsed = seconds(ContinuousClock.now - began) - checkpointSeconds
            let day = Double(now - workload.start) / Double(ProcessingSettings.day)
            let sample = Sample(inputs: inputs, seconds: elapsed, taskSeconds: taskSeconds, changelogSeconds: changelogSeconds, day: day)
            samples.append(sample)
            sampled(sample)
        }
        var iterator = workload.makeIterator()
        while let input = iterator.next() {
            if input.arrival >= nextCheckpoint {
                try commitAll(now: now)
                sinceCommit = 0
                try checkpoint(now: now, checkpointed)
                nextCheckpoint += Int64(options.checkpointDays) * ProcessingSettings.day
            }
            now = input.arrival
            let t = ContinuousClock.now
            try deliver(input.record, now: now)
            taskSeconds += seconds(ContinuousClock.now - t)
            inputs += 1
            if input.isLate { lateInputs += 1 }
            sinceCommit += 1
            if sinceCommit >= options.commitEvery {
                try commitAll(now: now)
                sinceCommit = 0
            }
            if inputs % sampleEvery == 0 { sample() }
        }
        try commitAll(now: now)
        sample()
        try checkpoint(now: now, checkpointed)
    }

    /// Processes one record on its task and passes on what it forwards to the work-order table.
    private func deliver(_ record: OutputRecord, now: Int64) throws {
        let tasks: [StreamTaskHarness]
        switch record.topic {
        case Topics.orderApproved: tasks = release
        case Topics.workOrders, Topics.operationCompleted, Topics.scrapReported: tasks = confirmation
        default: return
        }
        let partition = KeyPartitioner.partition(forKey: record.key ?? [], partitions: options.partitions)
        var topicOffsets = offsets[record.topic] ?? [Int64](repeating: 0, count: Int(options.partitions))
        let offset = topicOffsets[Int(partition)]
        topicOffsets[Int(partition)] += 1
        offsets[record.topic] = topicOffsets
        let task = tasks[Int(partition)]
        try task.process(
            StreamRecord(
                topic: record.topic, partition: partition, offset: offset, key: record.key, value: record.value, headers: record.headers,
                timestamp: record.timestamp ?? now),
            now: now)
        try route(task.takeOutputs(), now: now)
    }

    private func route(_ records: [OutputRecord], now: Int64) throws {
        for output in records {
            outputs[output.topic, default: 0] += 1
            if output.topic == Topics.quarantine, let value = output.value, let reason = Self.reason(value) {
                outputs["quarantine:\(reason)", default: 0] += 1
            }
            if output.topic == Topics.workOrders { try deliver(output, now: now) }
        }
    }

    static func reason(_ value: [UInt8]) -> String? {
        guard case .success(let quarantine) = EventDecoder.decode(value, as: Quarantine.self) else { return nil }
        return quarantine.data.reason.rawValue
    }

    /// A worker's commit: every task ticked at `now` (wall-clock punctuations, idle advance), and
    /// each with work committed; its changelog records appended.
    private func commitAll(now: Int64) throws {
        let t = ContinuousClock.now
        var commits: [(task: String, records: [ChangelogEntry])] = []
        batches += 1
        for (name, tasks) in [("release", release), ("confirmation", confirmation)] {
            for task in tasks {
                try task.tick(now: now)
                guard task.hasWork else { continue }
                let (outputs, records) = try task.commit(batch: "growth-\(batches)")
                commits.append((Self.logName(name, task.partition), records))
                try route(outputs, now: now)
            }
        }
        let t2 = ContinuousClock.now
        taskSeconds += seconds(t2 - t)
        try changelog.append(commits)
        changelogSeconds += seconds(ContinuousClock.now - t2)
    }

    private func checkpoint(now: Int64, _ checkpointed: (Checkpoint) -> Void) throws {
        let t = ContinuousClock.now
        defer { checkpointSeconds += seconds(ContinuousClock.now - t) }
        var entries: [String: Int] = [:]
        for task in release + confirmation {
            for (kind, count) in try task.storedEntryCounts() { entries[kind, default: 0] += count }
        }
        let sizes = try changelog.sizes()
        let partitions = 0..<options.partitions
        let workload = options.workload
        let checkpoint = Checkpoint(
            day: Double(now - workload.start) / Double(ProcessingSettings.day), time: now, inputs: inputs,
            approved: workload.approved(from: workload.start, to: now + 1), entries: entries,
            releaseLog: partitions.map { sizes[Self.logName("release", $0)] ?? .init() },
            confirmationLog: partitions.map { sizes[Self.logName("confirmation", $0)] ?? .init() },
            releaseAppended: partitions.map { changelog.appendedBytes[Self.logName("release", $0), default: 0] },
            confirmationAppended: partitions.map { changelog.appendedBytes[Self.logName("confirmation", $0), default: 0] },
            cacheBytes: cache.usedBytes, cacheEntries: cache.count, processorSizes: processorSizes())
        checkpoints.append(checkpoint)
        checkpointed(checkpoint)
    }

    private func processorSizes() -> [String: Int] {
        var sizes: [String: Int] = [:]
        for processor in releaseProcessors { for (name, value) in processor.stateSizes() { sizes["release/\(name)", default: 0] += value } }
        for processor in confirmationProcessors { for (name, value) in processor.stateSizes() { sizes["confirmation/\(name)", default: 0] += value } }
        return sizes
    }

    /// Every task's state file written (a worker's clean stop: its tasks leave), the tasks dropped.
    public func stop() throws {
        for task in release + confirmation { try task.closeStateFile() }
        release = []
        confirmation = []
        releaseProcessors = []
        confirmationProcessors = []
    }

    /// One worker start: every task of both processors opened as a worker opens it, from its state
    /// files in `directory` (none there: from the compacted changelog alone), and initialized (the
    /// processors read their schedules from the stores), with a new cache of the same size.
    /// - Returns: each task, and what its opening read.
    public func reopen(directory: String) throws -> [(name: String, harness: StreamTaskHarness, reopening: TaskReopening)] {
        try changelog.prepareForReading()
        let masterData = try Examples.masterData()
        let cache = StateCache(capacityBytes: options.stateCacheBytes)
        let logger = Logger(label: "state-growth")
        var opened: [(String, StreamTaskHarness, TaskReopening)] = []
        for p in 0..<options.partitions {
            for name in ["release", "confirmation"] {
                let processor: any StreamProcessor =
                    name == "release"
                    ? ReleaseProcessor(masterData: masterData, settings: options.settings) : ConfirmationProcessor(settings: options.settings)
                let log = Self.logName(name, p)
                let (harness, reopening) = try StreamTaskHarness.reopen(
                    processor: processor, partition: p, wallClock: options.workload.start, idleTimeout: options.settings.idleTimeout,
                    directory: directory, cache: cache, name: name, stateFileInterval: options.stateFileInterval,
                    changelog: changelog.reader(task: log), watermarks: changelog.watermarks(task: log), logger: logger)
                try harness.initialize()  // the processor's initialize, as at its first record
                opened.append((log, harness, reopening))
            }
        }
        return opened
    }
}

/// A duration in seconds.
func seconds(_ duration: Duration) -> Double {
    let (whole, attoseconds) = duration.components
    return Double(whole) + Double(attoseconds) / 1e18
}
