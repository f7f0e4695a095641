import Foundation
import Kafka
import Logging
import Synchronization

/// Runs one processor as a consumer-group member: its tasks (one per input partition number),
/// the exactly-once loop, restores on assignment and commits before a partition leaves. With
/// several loop threads (`LoopThreads`) the first is the member and shares its partitions out;
/// the others run the same loop on the partitions it gives them.
///
/// The loop, on a thread of its own: poll a batch → process each record in its task → on the
/// commit interval (or as soon as the input pauses: nothing came for `idleCommitWait`), hand
/// every task's outputs, changed store entries and positions to the committer thread and go on
/// processing. The committer puts them, with a commit marker per changelog partition, in one
/// Kafka transaction → commits it → commits the group offsets (for lag, tooling and replay). One transaction is in flight at a time. An abortable error aborts
/// and rewinds the tasks to their last committed state (what was processed meanwhile included);
/// a fatal one (fenced) stops the worker.
///
/// Where it starts reading: the group's committed offsets (so an operator's offset reset means
/// a replay). Re-reading input is safe because the processors' state transitions are idempotent
/// (event ids seen, postings and releases ledgers), and the state is exactly the committed one.
///
/// - Important: Thread-safe. `start` and `stop` may be called from any task.
public final class StreamWorker: Sendable {
    public let definition: ProcessorDefinition
    public let configuration: StreamsConfiguration
    /// Where this worker's task state is logged: the group's own changelog
    /// (``ProcessorDefinition/changelogTopic(group:)``).
    public let changelogTopic: String
    /// Where a repartitioned processor forwards records to the task owning their key
    /// (``ProcessorDefinition/repartitionTopic(group:)``); also one of ``definition``'s inputs.
    public let repartitionTopic: String?
    private let logger: Logger
    private let state = Mutex<State>(State())

    /// What the worker has done, for status and tests.
    public struct Statistics: Sendable, Hashable {
        public var processedRecords = 0
        public var committedTransactions = 0
        public var abortedTransactions = 0
        public var assignedPartitions: [Int32] = []
        public var restoredBatches = 0
        /// Changelog records read by restores (the delta only, when local state was there).
        public var restoredRecords = 0
        /// Task restores that found changelog history missing and rebuilt from what was left.
        public var stateLosses = 0
    }

    private struct State {
        var stopping = false
        var running = false
        var failure: StreamsError?
        var statistics = Statistics()
        /// The group member's first assignment came (thread 0), or the loop started (others).
        var joined = false
        /// Tasks being restored now: partition → changelog records read, and to read.
        var restoring: [Int32: TaskRestoreProgress] = [:]
        /// Partitions assigned to this thread whose tasks are not open yet.
        var openingTasks = 0
        /// Tasks that found their changelog's history cut short, latest per partition.
        var stateLosses: [Int32: TaskStateLoss] = [:]
        /// Who waits for the loop thread to end, by id.
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter: UInt64 = 0
    }

    /// When the loop thread last made progress (polled, or read changelog in a restore):
    /// `DispatchTime` uptime nanoseconds; 0 before it started.
    private let lastProgress = Atomic<UInt64>(0)
    /// The worker's metrics (no-ops unless the process bootstrapped a metrics backend).
    let metrics: StreamMetrics
    /// The in-memory part of the tasks' stores (which live in their state files), bounded in bytes.
    let stateCache: StateCache

    /// Which of the processor's `streamThreads` loop threads this worker is (0 for the first).
    public let thread: Int
    /// The processor's loop threads in this process, when there are several (`LoopThreads`): the
    /// first is the group member and shares out the partitions; nil for a single loop thread.
    public let threads: LoopThreads?

    /// `-<thread>` for loop threads after the first (thread name, instance id and its file).
    private var threadSuffix: String { thread == 0 ? "" : "-\(thread)" }

    /// The loop thread's name, as `top -H` and `ps -L` show it: `mw-<processor>[-<thread>]`, the
    /// processor's name shortened to fit Linux's 15 bytes (a longer name is refused, and the
    /// thread would keep its creator's).
    public var threadName: String { "mw-" + String(decoding: definition.name.utf8.prefix(12 - threadSuffix.utf8.count), as: UTF8.self) + threadSuffix }

    /// - Parameters:
    ///   - thread: which of the processor's loop threads in this process it is; each has its own
    ///     instance id (so its own transactional id). Default 0.
    ///   - threads: shared by all the processor's loop threads in this process when there are
    ///     several; thread 0 must be started first (its consumer is the group member).
    ///   - stateCache: shared by the process's workers (`stateCacheBytes` for all of them); by
    ///     default one of `configuration.stateCacheBytes` for this worker alone.
    public init(
        definition: ProcessorDefinition, configuration: StreamsConfiguration, thread: Int = 0, threads: LoopThreads? = nil,
        stateCache: StateCache? = nil, logger: Logger
    ) throws(StreamsError) {
        try configuration.validate()
        if let threads, !(0..<threads.count).contains(thread) {
            throw StreamsError(.invalidState, "loop thread \(thread) of \(threads.count)")
        }
        // A repartitioned processor reads its repartition topic as one more input (an event topic).
        var definition = definition
        repartitionTopic = definition.repartitionTopic(group: configuration.group)
        if let repartitionTopic { definition.inputTopics.append(repartitionTopic) }
        self.definition = definition
        self.configuration = configuration
        changelogTopic = definition.changelogTopic(group: configuration.group)
        if changelogTopic.utf8.count > 249 {
            throw StreamsError(.configuration, "changelog topic \(changelogTopic): longer than Kafka's 249 characters (shorten the group)")
        }
        self.thread = thread
        self.threads = threads
        metrics = StreamMetrics(processor: definition.name, thread: thread)
        self.stateCache = stateCache ?? StateCache(capacityBytes: configuration.stateCacheBytes)
        var logger = logger
        logger[metadataKey: "processor"] = "\(definition.name)"
        if thread > 0 { logger[metadataKey: "thread"] = "\(thread)" }
        self.logger = logger
    }

    public var statistics: Statistics { state.withLock { $0.statistics } }
    /// The error that stopped the worker, if one did.
    public var failure: StreamsError? { state.withLock { $0.failure } }

    /// Creates the clients and starts the loop thread. Returns once the producer is ready.
    public func start() throws(StreamsError) {
        let box = LoopBox(try StreamLoop(worker: self))
        state.withLock { $0.running = true }
        startNamedThread(threadName) { [self] in
            do throws(StreamsError) {
                try box.loop?.run()
            } catch {
                logger.error("worker stopped on an error", metadata: ["error": "\(error)"])
                state.withLock { $0.failure = error }
            }
            box.loop?.close()
            box.loop = nil  // destroys the clients now, not when the thread object goes
            let waiters = state.withLock { s in
                s.running = false
                defer { s.waiters = [:] }
                return s.waiters.values
            }
            for waiter in waiters { waiter.resume() }
        }
    }

    /// Finishes the open transaction, leaves the group and stops. Waits for the loop thread.
    public func stop() async {
        requestStop()
        await waitUntilFinished()
    }

    /// Asks the loop thread to finish its open transaction, leave the group and end; does not wait.
    public func requestStop() {
        state.withLock { $0.stopping = true }
    }

    /// Returns when the loop thread has ended (after a stop, or on a failure: see ``failure``), or
    /// at once if it is not running. Returns early, without the thread having ended, when the
    /// waiting task is cancelled.
    public func waitUntilFinished() async {
        let id = state.withLock { s in
            s.nextWaiter += 1
            return s.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { s in
                    if !s.running || Task.isCancelled { return true }
                    s.waiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

    var isStopping: Bool { state.withLock { $0.stopping } }

    /// What health and readiness checks need to know of the worker; cheap to read.
    public var health: StreamWorkerHealth {
        let last = lastProgress.load(ordering: .relaxed)
        let now = DispatchTime.now().uptimeNanoseconds
        let downSince = clusterDownSince.withLock { $0 }?()
        return state.withLock { s in
            StreamWorkerHealth(
                processor: definition.name, thread: thread, running: s.running, stopping: s.stopping,
                failure: s.failure.map { "\($0)" },
                sinceProgress: last == 0 ? nil : .nanoseconds(Int64(now &- last)),
                joined: s.joined, assignedPartitions: s.statistics.assignedPartitions,
                restoring: s.restoring.values.sorted { $0.partition < $1.partition },
                openingTasks: s.openingTasks + (threads?.mailbox(thread)?.pendingAssignedPartitions ?? 0),
                stateLosses: s.stateLosses.values.sorted { $0.partition < $1.partition },
                clusterUnreachableFor: s.running ? downSince.map { .now - $0 } : nil)
        }
    }

    /// How the health report learns whether the loop's consumer reaches the cluster: since when
    /// every broker has been down, or nil (set by the loop when it makes its consumer).
    private let clusterDownSince = Mutex<(@Sendable () -> ContinuousClock.Instant?)?>(nil)

    func watchCluster(_ probe: @escaping @Sendable () -> ContinuousClock.Instant?) { clusterDownSince.withLock { $0 = probe } }

    /// The loop thread made progress (a poll, a batch of changelog read).
    func progressed() { lastProgress.store(DispatchTime.now().uptimeNanoseconds, ordering: .relaxed) }

    func updateHealth(_ update: (inout Bool, inout [Int32: TaskRestoreProgress]) -> Void) {
        state.withLock { update(&$0.joined, &$0.restoring) }
    }

    /// Partitions assigned whose tasks are still to open (`count`), or one more opened (`nil`).
    func opening(_ count: Int?) {
        state.withLock { s in
            if let count { s.openingTasks = count } else { s.openingTasks = max(0, s.openingTasks - 1) }
        }
    }

    func record(_ update: (inout Statistics) -> Void) { state.withLock { update(&$0.statistics) } }

    /// A task found its changelog's history cut short (for the health and readiness report).
    func stateLost(_ loss: TaskStateLoss) { state.withLock { $0.stateLosses[loss.partition] = loss } }

    /// The instance id: configured, or kept in the state directory so a restart reuses it.
    /// StreamLoop threads after the first add their number: `<id>-<thread>`, `<processor>-<thread>.instance`.
    func instanceID() -> String {
        if let id = configuration.instanceID { return id + threadSuffix }
        let directory = URL(fileURLWithPath: configuration.stateDirectory)
        let file = directory.appendingPathComponent("\(definition.name)\(threadSuffix).instance")
        if let id = try? String(contentsOf: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), !id.isEmpty {
            return id
        }
        let id = UUID().uuidString.lowercased()
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try? id.write(to: file, atomically: true, encoding: .utf8)
        return id
    }

    var workerLogger: Logger { logger }
}

/// Holds the loop for its thread, so that the clients are destroyed as soon as it ends.
private final class LoopBox: @unchecked Sendable {
    // @unchecked: set before the thread starts, then used and cleared by that thread only.
    var loop: StreamLoop?
    init(_ loop: StreamLoop) { self.loop = loop }
}

extension StreamWorker {
    func stopAfterFailure(_ error: StreamsError) {
        state.withLock { s in
            s.failure = error
            s.stopping = true
        }
    }
}
