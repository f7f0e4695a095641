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
    }

    private struct State {
        var stopping = false
        var running = false
        var failure: KafkaError?
        var statistics = Statistics()
        /// The group member's first assignment came (thread 0), or the loop started (others).
        var joined = false
        /// Tasks being restored now: partition → changelog records read, and to read.
        var restoring: [Int32: TaskRestoreProgress] = [:]
        /// Partitions assigned to this thread whose tasks are not open yet.
        var openingTasks = 0
        /// Who waits for the loop thread to end, by id.
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter: UInt64 = 0
    }

    /// When the loop thread last made progress (polled, or read changelog in a restore):
    /// `DispatchTime` uptime nanoseconds; 0 before it started.
    private let lastProgress = Atomic<UInt64>(0)
    /// The worker's metrics (no-ops unless the process bootstrapped a metrics backend).
    let metrics: StreamMetrics

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
    public init(
        definition: ProcessorDefinition, configuration: StreamsConfiguration, thread: Int = 0, threads: LoopThreads? = nil, logger: Logger
    ) throws(KafkaError) {
        try configuration.validate()
        if let threads, !(0..<threads.count).contains(thread) {
            throw KafkaError(code: .invalidState, reason: "loop thread \(thread) of \(threads.count)")
        }
        self.definition = definition
        self.configuration = configuration
        self.thread = thread
        self.threads = threads
        metrics = StreamMetrics(processor: definition.name, thread: thread)
        var logger = logger
        logger[metadataKey: "processor"] = "\(definition.name)"
        if thread > 0 { logger[metadataKey: "thread"] = "\(thread)" }
        self.logger = logger
    }

    public var statistics: Statistics { state.withLock { $0.statistics } }
    /// The error that stopped the worker, if one did.
    public var failure: KafkaError? { state.withLock { $0.failure } }

    /// Creates the clients and starts the loop thread. Returns once the producer is ready.
    public func start() throws(KafkaError) {
        let box = LoopBox(try Loop(worker: self))
        state.withLock { $0.running = true }
        startNamedThread(threadName) { [self] in
            do throws(KafkaError) {
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
        return state.withLock { s in
            StreamWorkerHealth(
                processor: definition.name, thread: thread, running: s.running, stopping: s.stopping,
                failure: s.failure.map { "\($0)" },
                sinceProgress: last == 0 ? nil : .nanoseconds(Int64(now &- last)),
                joined: s.joined, assignedPartitions: s.statistics.assignedPartitions,
                restoring: s.restoring.values.sorted { $0.partition < $1.partition },
                openingTasks: s.openingTasks + (threads?.mailbox(thread)?.pendingAssignedPartitions ?? 0))
        }
    }

    /// The loop thread made progress (a poll, a batch of changelog read).
    fileprivate func progressed() { lastProgress.store(DispatchTime.now().uptimeNanoseconds, ordering: .relaxed) }

    fileprivate func updateHealth(_ update: (inout Bool, inout [Int32: TaskRestoreProgress]) -> Void) {
        state.withLock { update(&$0.joined, &$0.restoring) }
    }

    /// Partitions assigned whose tasks are still to open (`count`), or one more opened (`nil`).
    fileprivate func opening(_ count: Int?) {
        state.withLock { s in
            if let count { s.openingTasks = count } else { s.openingTasks = max(0, s.openingTasks - 1) }
        }
    }

    fileprivate func record(_ update: (inout Statistics) -> Void) { state.withLock { update(&$0.statistics) } }

    /// The instance id: configured, or kept in the state directory so a restart reuses it.
    /// Loop threads after the first add their number: `<id>-<thread>`, `<processor>-<thread>.instance`.
    fileprivate func instanceID() -> String {
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

    fileprivate var workerLogger: Logger { logger }
}

/// Holds the loop for its thread, so that the clients are destroyed as soon as it ends.
private final class LoopBox: @unchecked Sendable {
    // @unchecked: set before the thread starts, then used and cleared by that thread only.
    var loop: Loop?
    init(_ loop: Loop) { self.loop = loop }
}

/// The loop's state: only the loop thread touches it (the rebalance listener runs on that thread
/// too, inside the poll).
private final class Loop: KafkaRebalanceListener, @unchecked Sendable {
    // @unchecked: every member is used from the worker's loop thread only (the listener is
    // called by librdkafka inside `pollBatch`, on the same thread).
    unowned let worker: StreamWorker
    /// The consumer this thread reads its partitions with: the group member's (thread 0, or a
    /// single loop thread), or one of its own that joins no group (`LoopThreads`).
    let consumer: KafkaConsumer
    /// Requests from the group member's thread, for a loop thread after the first.
    let mailbox: LoopMailbox?
    /// Partitions this (member) thread gave to other loop threads, by thread.
    var shared: [Int32: Int] = [:]
    /// The processor's table topics and its other (event) input topics, worked out once.
    let tableTopics: [String]
    let eventTopics: [String]
    let producer: KafkaProducer
    let logger: Logger
    var tasks: [Int32: StreamTask] = [:]
    /// Where each assigned input partition starts (its committed offset, or 0): the fetch
    /// position until the first record of it is consumed.
    var startOffsets: [KafkaTopicPartition: Int64] = [:]
    /// Fetched records per task, released in event-time order.
    var buffers: [Int32: TaskInputBuffer] = [:]
    /// Event partitions paused because their task's buffer is full.
    var pausedForBackpressure = Set<KafkaTopicPartition>()

    /// Tasks whose table partitions are still catching up (partition → table topic → end offset
    /// at assignment); their event records stay in their buffers until then.
    var tableCatchUp: [Int32: [String: Int64]] = [:]
    var lastCommit = ContinuousClock.now
    /// Where the loop thread's time went since the last hand-over (the `debug` log line "transaction
    /// handed over"): waiting in the poll, waiting for the transaction before to finish.
    var pollTime: Duration = .zero
    var commitWaitTime: Duration = .zero
    /// The transaction being committed on the committer thread, if any.
    var inFlight: PendingCommit?
    /// Batches of this instance that aborted: restores here skip them even before their abort
    /// notes are in the changelog.
    var abortedBatches = Set<String>()
    /// Abort notes to write with the next transaction, per changelog partition.
    var abortNotes: [Int32: [String]] = [:]
    let committer: DispatchQueue
    var batchSequence = 0
    /// Input records processed since the last transaction began.
    var uncommittedRecords = 0
    /// Loop turns so far: where the round of tasks starts.
    var turn = 0
    /// Set when the loop stops on an error: no further commit (the revoke hook's included).
    var poisoned = false
    let instance: String

    init(worker: StreamWorker) throws(KafkaError) {
        self.worker = worker
        let configuration = worker.configuration
        logger = worker.workerLogger
        instance = worker.instanceID()
        committer = DispatchQueue(label: "millwright-\(worker.definition.name)-commit")
        tableTopics = worker.definition.inputTopics.filter(worker.definition.tableTopics.contains)
        eventTopics = worker.definition.inputTopics.filter { !worker.definition.tableTopics.contains($0) }
        let member = worker.threads == nil || worker.thread == 0
        var consumerConfiguration = KafkaConsumerConfiguration(
            client: configuration.client, groupID: member ? "\(configuration.group).\(worker.definition.name)" : nil)
        consumerConfiguration.isolationLevel = .readCommitted
        consumerConfiguration.autoOffsetReset = .earliest
        consumerConfiguration.sessionTimeout = configuration.sessionTimeout
        consumerConfiguration.heartbeatInterval = .milliseconds(min(1000, configuration.sessionTimeout.wholeMilliseconds / 4))
        consumerConfiguration.maxPrefetchedMessages = configuration.maxPrefetchedMessages
        // The group member's statistics give the brokers' state and round-trip times (metrics).
        var statistics: (@Sendable (String) -> Void)?
        if member, let interval = configuration.statisticsInterval {
            consumerConfiguration.client.statisticsInterval = interval
            statistics = { [metrics = worker.metrics] json in
                if let parsed = KafkaStatistics(json: json) { metrics.publish(parsed) }
            }
        }
        consumer = try KafkaConsumer(configuration: consumerConfiguration, logger: logger, statisticsHandler: statistics)
        if let threads = worker.threads {
            if member {
                threads.setMember(consumer)
                mailbox = nil
            } else {
                let mailbox = LoopMailbox()
                threads.register(worker.thread, mailbox)
                self.mailbox = mailbox
            }
        } else {
            mailbox = nil
        }
        var producerConfiguration = KafkaProducerConfiguration(client: configuration.client)
        producerConfiguration.transactionalID = "\(configuration.group).\(worker.definition.name).\(instance)"
        producerConfiguration.linger = .milliseconds(2)
        producer = try KafkaProducer(configuration: producerConfiguration, logger: logger)
    }

    /// Every input topic's partition of these partition numbers (one task each).
    func inputPartitions(_ numbers: [Int32]) -> [KafkaTopicPartition] {
        numbers.flatMap { p in worker.definition.inputTopics.map { KafkaTopicPartition(topic: $0, partition: p) } }
    }

    /// The group member's consumer: for the group's committed offsets, the transactions' group
    /// metadata and the group offset commits.
    func group() throws(KafkaError) -> KafkaConsumer {
        guard mailbox != nil else { return consumer }
        guard let member = worker.threads?.member else {
            throw KafkaError(code: .invalidState, reason: "the group member's loop thread of \(worker.definition.name) has not started")
        }
        return member
    }

    func run() throws(KafkaError) {
        do { try loop() } catch {
            poisoned = true
            throw error
        }
    }

    private func loop() throws(KafkaError) {
        try producer.initTransactions(timeout: .seconds(30))
        producer.prepareTopics([worker.definition.changelogTopic] + worker.definition.outputTopics)
        if mailbox == nil {
            try consumer.subscribe(topics: worker.definition.inputTopics, listener: self)
        } else {
            worker.updateHealth { joined, _ in joined = true }  // the member joined for it
        }
        logger.info("worker started", metadata: ["topics": "\(worker.definition.inputTopics)", "instance": "\(instance)"])
        let interval = worker.configuration.wallClockInterval.wholeMilliseconds
        let idleWait = worker.configuration.idleCommitWait
        let idleCommits = idleWait < worker.configuration.commitInterval
        // After a turn that filled a transaction, records may still wait in the buffers: no wait.
        var pollTimeout: Duration = .milliseconds(50)
        var lastInput = ContinuousClock.now
        var lastPublished: Int64 = 0
        defer { worker.metrics.removeGauges() }
        while !worker.isStopping {
            if let mailbox { serve(mailbox.take()) }
            let polling = ContinuousClock.now
            let events = try consumer.pollBatch(maxMessages: worker.configuration.maxPollRecords, timeout: pollTimeout)
            worker.progressed()
            pollTime += .now - polling
            // Nothing has come for the idle wait: the input has paused, and what was processed
            // need not wait for the commit interval.
            if !events.isEmpty { lastInput = .now }
            let idle = idleCommits && events.isEmpty && ContinuousClock.now - lastInput >= idleWait
            let now = Self.now()
            for event in events {
                guard case .message(let message) = event, tasks[message.partition] != nil else { continue }
                buffers[message.partition, default: TaskInputBuffer()].append(message)
            }
            var processed = 0
            // The transaction's budget goes round the tasks, starting one further each turn: in
            // a burst no task waits until every other one has drained.
            let order = tasks.keys.sorted()
            turn &+= 1
            for index in order.indices {
                let partition = order[(index + turn) % order.count]
                let budget = worker.configuration.maxRecordsPerTransaction - uncommittedRecords - processed
                processed += try drain(tasks[partition]!, partition: partition, now: now, budget: budget)
            }
            try applyBackpressure()
            if processed > 0 { worker.record { $0.processedRecords += processed } }
            if !tableCatchUp.isEmpty { try resumeCaughtUpTasks() }
            for task in tasks.values {
                do { try task.tick(now: now, interval: interval) } catch {
                    throw KafkaError(code: .invalidState, reason: "processor \(worker.definition.name) failed on the clock of task \(task.partition): \(error)")
                }
            }
            if now - lastPublished >= interval {
                lastPublished = now
                publishMetrics()
            }
            uncommittedRecords += processed
            let full = uncommittedRecords >= worker.configuration.maxRecordsPerTransaction
            let pausedWithWork = idle && uncommittedRecords > 0
            // With records processed and not yet handed over, the next poll waits only the idle
            // wait: if nothing comes meanwhile, they are committed then.
            if full {
                pollTimeout = .zero
            } else if uncommittedRecords > 0 && idleCommits {
                pollTimeout = min(idleWait, .milliseconds(50))
            } else {
                pollTimeout = .milliseconds(50)
            }
            try finishCommit(wait: full || pausedWithWork)
            if inFlight == nil && (full || pausedWithWork || ContinuousClock.now - lastCommit >= worker.configuration.commitInterval) {
                try beginCommit()
            }
        }
        try commit()
        logger.info("worker stopping: leaving the group")
    }

    func close() {
        // Requests that came after the last commit (or after an error): nothing to commit, only
        // tasks to drop and the member's thread to release.
        if let mailbox { serve(mailbox.close(), committed: true) }
        try? consumer.close()  // the revoke hook commits what is left (nothing after an error: `poisoned`)
        producer.flushQuietly()
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    // MARK: Commit

    /// Commits everything processed so far and waits for it (revoke, stop): first the
    /// transaction in flight, then one for what was processed meanwhile.
    func commit() throws(KafkaError) {
        try finishCommit(wait: true)
        try beginCommit()
        try finishCommit(wait: true)
    }

    /// Takes every busy task's work (outputs, changed store entries, positions) and hands the
    /// transaction to the committer thread: it begins the transaction, sends per task any abort
    /// notes, the outputs, the changes, the positions and a commit marker, commits, and finishes
    /// (``PendingCommit/run``). The loop goes on processing meanwhile (the sends and the broker's
    /// round trips cost more than processing a hundred milliseconds of input); what it processes
    /// waits in the tasks for the next transaction, and if this one aborts, the rewind throws it
    /// away with the rest.
    func beginCommit() throws(KafkaError) {
        precondition(inFlight == nil, "one transaction at a time")
        // After an error in the loop nothing more is committed: what was processed since the
        // last commit may be incomplete; the partitions' next owner processes it again.
        guard !poisoned else { return }
        let previous = lastCommit
        let records = uncommittedRecords
        lastCommit = .now
        uncommittedRecords = 0
        let busy = tasks.values.filter { $0.hasWork || abortNotes[$0.partition] != nil }
        guard !busy.isEmpty else { return }
        batchSequence += 1
        let pending = PendingCommit(batch: "\(instance):\(batchSequence)", changelog: worker.definition.changelogTopic, metrics: worker.metrics)
        do throws(KafkaError) {
            for task in busy.sorted(by: { $0.partition < $1.partition }) {
                let work: StreamTask.Commit
                do { work = try task.takeCommit() } catch {
                    throw KafkaError(code: .invalidState, reason: "flush of task \(task.partition) failed: \(error)")
                }
                pending.tasks.append(.init(
                    partition: task.partition, file: task.stateFile, outputs: work.outputs, changes: work.changes,
                    streamTime: task.clock.streamTime, positions: work.positions, abortNotes: abortNotes[task.partition] ?? [],
                    consumed: work.consumed, oldestInput: work.oldestInput))
                pending.offsets += work.positions.map { KafkaTopicPartitionOffset(topic: $0.key, partition: task.partition, offset: $0.value) }
            }
            pending.groupConsumer = try group()
            pending.groupMetadata = try pending.groupConsumer?.groupMetadata()
        } catch {
            try abandon(error, pending)
            return
        }
        inFlight = pending
        logger.debug("transaction handed over", metadata: [
            "batch": "\(pending.batch)", "records": "\(records)", "sinceLastMs": "\((lastCommit - previous).wholeMilliseconds)",
            "pollMs": "\(pollTime.wholeMilliseconds)", "commitWaitMs": "\(commitWaitTime.wholeMilliseconds)",
        ])
        pollTime = .zero
        commitWaitTime = .zero
        committer.async { [producer, logger] in
            pending.run(producer: producer, logger: logger)
        }
    }

    /// Takes the outcome of the transaction in flight, if there is one and it is over (or waits
    /// for it): the statistics, the tasks whose local state file failed, or an abort and rewind.
    func finishCommit(wait: Bool) throws(KafkaError) {
        guard let pending = inFlight else { return }
        if wait {
            let waiting = ContinuousClock.now
            pending.done.wait()
            commitWaitTime += .now - waiting
        } else if pending.done.wait(timeout: .now()) == .timedOut {
            return
        }
        inFlight = nil
        if let error = pending.error {
            try abandon(error, pending)
            return
        }
        worker.record { $0.committedTransactions += 1 }
        for task in pending.tasks where !task.abortNotes.isEmpty {
            abortNotes[task.partition]?.removeFirst(task.abortNotes.count)
            if abortNotes[task.partition]?.isEmpty == true { abortNotes[task.partition] = nil }
        }
        for partition in pending.failedStateFiles { tasks[partition]?.stateFile = nil }
    }

    /// A transaction that failed: a fatal error stops the worker; otherwise abort, note the
    /// batch as aborted (for restores here at once, and in the changelog with the next
    /// transaction) and rewind every task to its last committed state.
    private func abandon(_ error: KafkaError, _ pending: PendingCommit) throws(KafkaError) {
        if error.isFatal || !error.transactionRequiresAbort && !error.isRetriable {
            throw error
        }
        logger.warning("transaction aborted; rewinding to the last commit", metadata: ["error": "\(error)", "batch": "\(pending.batch)"])
        try? producer.abortTransaction()
        worker.metrics.aborted()
        abortedBatches.insert(pending.batch)
        for task in pending.tasks { abortNotes[task.partition, default: []].append(pending.batch) }
        worker.record { $0.abortedTransactions += 1 }
        try rewind(Array(tasks.keys))
    }

    // MARK: Tasks

    /// Restores these tasks from their changelog and moves their inputs back to the group's
    /// committed offsets.
    func rewind(_ partitions: [Int32]) throws(KafkaError) {
        for partition in partitions {
            try openTask(partition)
            buffers[partition] = nil
        }
        var seeks: [KafkaTopicPartitionOffset] = []
        let inputs = inputPartitions(partitions)
        for committed in try group().committed(inputs) {
            seeks.append(KafkaTopicPartitionOffset(committed.topicPartition, offset: committed.offset >= 0 ? committed.offset : KafkaOffset.beginning))
        }
        if !seeks.isEmpty { try consumer.seek(seeks) }
    }

    func openTask(_ partition: Int32) throws(KafkaError) {
        let configuration = worker.configuration
        let definition = worker.definition
        let task = StreamTask(
            partition: partition, processor: definition.makeProcessor(partition), wallClock: Self.now(),
            idleTimeout: configuration.idleTimeout.wholeMilliseconds)
        // Local state first (if any), then the changelog after the offset it is current to.
        var file: TaskStateFile?
        var snapshot = TaskStateFile.Snapshot()
        do {
            file = try TaskStateFile(
                directory: configuration.stateDirectory, processor: definition.name, partition: partition, interval: configuration.stateFileInterval)
            snapshot = try file?.load() ?? snapshot
        } catch {
            logger.warning("local task state unusable; restoring from the changelog", metadata: ["partition": "\(partition)", "error": "\(error)"])
            try? file?.reset()
        }
        let restorer = ChangelogRestorer(client: configuration.client, logger: logger)
        let began = ContinuousClock.now
        var restored = try restore(partition, restorer, from: snapshot.changelogOffset)
        if restored.startBeyondEnd {
            logger.warning("local task state is ahead of the changelog (a new cluster?); restoring from the beginning", metadata: ["partition": "\(partition)"])
            try? file?.reset()
            snapshot = TaskStateFile.Snapshot()
            restored = try restore(partition, restorer, from: 0)
        }
        worker.metrics.restored(records: restored.recordsRead, duration: .now - began)
        for entry in snapshot.entries { task.taskStore(entry.store).restore(entry.key, entry.value) }
        for entry in restored.entries { task.taskStore(entry.store).restore(entry.key, entry.value) }
        task.clock.restore(streamTime: max(snapshot.streamTime, restored.streamTime))
        task.positions = snapshot.positions.merging(restored.positions) { max($0, $1) }
        for (store, key) in restored.uncommittedKeys {
            task.taskStore(store).rewrite(key)
            task.markDirty()
        }
        if restored.committedThrough > snapshot.changelogOffset {
            try? file?.apply(
                changes: restored.entries, streamTime: task.clock.streamTime, positions: task.positions,
                changelogOffset: restored.committedThrough)
            try? file?.flush()
        }
        task.stateFile = file
        tasks[partition] = task
        worker.record {
            $0.restoredBatches += restored.appliedBatches
            $0.restoredRecords += restored.recordsRead
        }
        logger.info("task restored", metadata: [
            "partition": "\(partition)", "localEntries": "\(snapshot.entries.count)", "changelogFrom": "\(snapshot.changelogOffset)",
            "changelogRecords": "\(restored.recordsRead)", "batches": "\(restored.appliedBatches)", "skipped": "\(restored.skippedRecords)",
        ])
    }

    /// Restores one task's changelog from `start`, reporting its progress in the worker's health
    /// and, at most every 2 s, in the log.
    private func restore(_ partition: Int32, _ restorer: ChangelogRestorer, from start: Int64) throws(KafkaError) -> ChangelogRestorer.Result {
        let began = ContinuousClock.now
        var lastLog = began
        defer { worker.updateHealth { _, restoring in restoring[partition] = nil } }
        return try restorer.restore(topic: worker.definition.changelogTopic, partition: partition, from: start, aborted: abortedBatches) { read, total in
            worker.progressed()
            worker.updateHealth { _, restoring in restoring[partition] = TaskRestoreProgress(partition: partition, restored: read, toRestore: total) }
            let now = ContinuousClock.now
            guard now - lastLog >= .seconds(2) else { return }
            lastLog = now
            let seconds = Double((now - began).wholeMilliseconds) / 1000
            logger.info("restoring task", metadata: [
                "partition": "\(partition)", "restored": "\(read)", "toRestore": "\(total)",
                "recordsPerSecond": "\(seconds > 0 ? Int(Double(read) / seconds) : 0)",
            ])
        }
    }

    // MARK: Metrics

    /// Consumer lag of every input partition this thread reads (the high watermark librdkafka
    /// last saw − the next offset to process) and the size of its tasks' state.
    func publishMetrics() {
        var lag: [KafkaTopicPartition: Int64] = [:]
        for partition in tasks.keys {
            for tp in inputPartitions([partition]) {
                guard let high = try? consumer.cachedWatermarks(tp).high, high >= 0 else { continue }
                let position = (try? consumer.position([tp]).first?.offset).flatMap { $0 >= 0 ? $0 : nil }
                lag[tp] = max(0, high - (position ?? startOffsets[tp] ?? 0))
            }
        }
        var states: [String: Int] = ["store_entries": 0, "tasks": tasks.count]
        for task in tasks.values {
            states["store_entries", default: 0] += task.storeEntries
            for (name, value) in task.processor.stateSizes() { states[name, default: 0] += value }
        }
        worker.metrics.publish(lag: lag, states: states)
    }

    // MARK: Input order

    /// Processes the task's buffered records in order until it must wait for a topic, or `budget`
    /// records were processed (the rest waits for the next transaction).
    func drain(_ task: StreamTask, partition: Int32, now: Int64, budget: Int) throws(KafkaError) -> Int {
        // Taken out of the dictionary while it drains: changed in place, not copied.
        guard budget > 0, var buffer = buffers.removeValue(forKey: partition) else { return 0 }
        defer { buffers[partition] = buffer }
        guard !buffer.isEmpty else { return 0 }
        // While the task's tables catch up, only table records leave the buffer.
        let flowing = tableCatchUp[partition] == nil ? eventTopics : []
        var processed = 0
        // Whether a topic has nothing more to fetch cannot change before the next poll: asked once.
        var known: [String: Bool] = [:]
        func topicExhausted(_ topic: String) -> Bool {
            if let answer = known[topic] { return answer }
            let answer = exhausted(topic, partition)
            known[topic] = answer
            return answer
        }
        while let message = buffer.next(tables: tableTopics, events: flowing, exhausted: topicExhausted) {
            do {
                try task.process(StreamRecord(message), now: now)
            } catch {
                throw KafkaError(code: .invalidState, reason: "processor \(worker.definition.name) failed on \(message.topic)[\(message.partition)]@\(message.offset): \(error)")
            }
            processed += 1
            if processed == budget { break }
        }
        return processed
    }

    /// True when the partition has nothing more to fetch (its fetch position reached the high
    /// watermark librdkafka last saw) or is paused for a table catch-up of another kind.
    func exhausted(_ topic: String, _ partition: Int32) -> Bool {
        let tp = KafkaTopicPartition(topic: topic, partition: partition)
        if tableCatchUp[partition] != nil { return false }
        guard let high = try? consumer.cachedWatermarks(tp).high, high >= 0 else { return false }
        let position = (try? consumer.position([tp]).first?.offset) ?? -1
        return max(position, startOffsets[tp] ?? 0) >= high
    }

    /// Pauses event partitions whose task holds many unprocessed records; resumes them when
    /// drained. Bounds memory when one topic runs far ahead of another.
    func applyBackpressure() throws(KafkaError) {
        var pause: [KafkaTopicPartition] = []
        var resume: [KafkaTopicPartition] = []
        for (partition, buffer) in buffers {
            for topic in eventTopics {
                let tp = KafkaTopicPartition(topic: topic, partition: partition)
                let count = buffer.count(topic)
                if count > worker.configuration.maxBufferedRecordsPerPartition && !pausedForBackpressure.contains(tp) {
                    pause.append(tp)
                    pausedForBackpressure.insert(tp)
                } else if count < worker.configuration.maxBufferedRecordsPerPartition / 5 && pausedForBackpressure.contains(tp) {
                    resume.append(tp)
                    pausedForBackpressure.remove(tp)
                }
            }
        }
        if !pause.isEmpty {
            logger.debug("input paused: its task holds too many records", metadata: ["partitions": "\(pause.map { "\($0.topic)[\($0.partition)]" })"])
            try consumer.pause(pause)
        }
        if !resume.isEmpty {
            logger.debug("input resumed", metadata: ["partitions": "\(resume.map { "\($0.topic)[\($0.partition)]" })"])
            try consumer.resume(resume)
        }
    }

    // MARK: Tables first

    /// Holds a new task's event records in its buffer until its table partitions have been read
    /// to the end they had at assignment: a released work order is known before the shop-floor
    /// events for it. (Holding, not pausing: chosen when librdkafka 2.0.2 took about half a second
    /// to fetch again after a resume, before resumes woke the fetchers; holding needs no round at
    /// all, and the buffer's backpressure still bounds what is held.)
    func holdEventsUntilTablesCaughtUp(_ partition: Int32) throws(KafkaError) {
        let tables = tableTopics
        guard !tables.isEmpty else { return }
        var targets: [String: Int64] = [:]
        for topic in tables {
            let tp = KafkaTopicPartition(topic: topic, partition: partition)
            let end = try consumer.watermarks(tp, timeout: .seconds(10)).high
            if end > startOffsets[tp] ?? 0 { targets[topic] = end }
        }
        guard !targets.isEmpty else { return }
        tableCatchUp[partition] = targets
    }

    func resumeCaughtUpTasks() throws(KafkaError) {
        for (partition, targets) in tableCatchUp {
            let positions = try consumer.position(targets.keys.map { KafkaTopicPartition(topic: $0, partition: partition) })
            let caughtUp = positions.allSatisfy { max($0.offset, startOffsets[$0.topicPartition] ?? 0) >= (targets[$0.topic] ?? 0) }
            guard caughtUp else { continue }
            tableCatchUp[partition] = nil
            logger.debug("table caught up; events flow", metadata: ["partition": "\(partition)"])
        }
    }

    // MARK: KafkaRebalanceListener (on the loop thread, inside pollBatch)

    func partitionsAssigned(_ partitions: [KafkaTopicPartition], consumer: KafkaConsumer) {
        worker.metrics.rebalance("assigned")
        var numbers = Set(partitions.map(\.partition)).subtracting(tasks.keys).subtracting(shared.keys).sorted()
        numbers = shareOut(numbers, consumer: consumer)
        // Joined, with tasks to open: not ready until they are (the other threads' shares wait
        // in their mailboxes, which their health counts).
        worker.opening(numbers.count)
        worker.updateHealth { joined, _ in joined = true }
        take(numbers, consumer: consumer)
    }

    /// Opens tasks for these partitions: the group's committed offsets are where their inputs
    /// start; each task is restored, and its events wait for its table partitions.
    func take(_ numbers: [Int32], consumer: KafkaConsumer) {
        worker.opening(numbers.count)
        defer { worker.opening(0) }
        do {
            let inputs = inputPartitions(numbers)
            if !inputs.isEmpty {
                for committed in try consumer.committed(inputs) { startOffsets[committed.topicPartition] = max(0, committed.offset) }
            }
            for partition in numbers {
                try openTask(partition)
                try holdEventsUntilTablesCaughtUp(partition)
                worker.opening(nil)
            }
        } catch {
            logger.error("restore failed; the worker stops", metadata: ["error": "\(error)"])
            worker.stopAfterFailure(error)
        }
        worker.record { $0.assignedPartitions = self.tasks.keys.sorted() }
    }

    /// The group member's share-out (several loop threads): gives each new partition to the loop
    /// thread holding the fewest, posts the others' shares to them, and stops reading those here.
    /// Returns this thread's share.
    func shareOut(_ numbers: [Int32], consumer: KafkaConsumer) -> [Int32] {
        guard let threads = worker.threads, mailbox == nil, !numbers.isEmpty else { return numbers }
        let open = threads.openThreads
        guard !open.isEmpty else { return numbers }
        var load: [Int: Int] = [0: tasks.count]
        for thread in open { load[thread] = 0 }
        for (_, thread) in shared where load[thread] != nil { load[thread]! += 1 }
        var mine: [Int32] = []
        var theirs: [Int: [Int32]] = [:]
        for partition in numbers {
            let thread = load.min { $0.value < $1.value || $0.value == $1.value && $0.key < $1.key }!.key
            load[thread]! += 1
            if thread == 0 { mine.append(partition) } else { theirs[thread, default: []].append(partition) }
        }
        for (thread, partitions) in theirs.sorted(by: { $0.key < $1.key }) {
            let inputs = inputPartitions(partitions)
            if let mailbox = threads.mailbox(thread), mailbox.post(.assign(partitions)) {
                for partition in partitions { shared[partition] = thread }
                // Read by that thread's own consumer, not this one.
                do { try consumer.pause(inputs) } catch {
                    logger.warning("could not stop reading partitions given to another loop thread", metadata: ["error": "\(error)"])
                }
            } else {
                mine += partitions  // that thread stopped meanwhile
            }
        }
        return mine.sorted()
    }

    /// The group member's side of a revoke or a loss (several loop threads): asks the threads
    /// holding these partitions to commit (revoke) or drop (lost) them, and waits until they did.
    /// Returns the waits to finish after this thread's own part.
    func reclaim(_ partitions: [KafkaTopicPartition], lost: Bool) -> [DispatchSemaphore] {
        guard let threads = worker.threads, mailbox == nil else { return [] }
        var byThread: [Int: [Int32]] = [:]
        for partition in Set(partitions.map(\.partition)) {
            if let thread = shared.removeValue(forKey: partition) { byThread[thread, default: []].append(partition) }
        }
        var waits: [DispatchSemaphore] = []
        for (thread, numbers) in byThread {
            let done = DispatchSemaphore(value: 0)
            let request: LoopMailbox.Request = lost ? .lost(numbers.sorted(), done) : .revoke(numbers.sorted(), done)
            if let mailbox = threads.mailbox(thread), mailbox.post(request) { waits.append(done) }
        }
        return waits
    }

    func awaitReclaimed(_ waits: [DispatchSemaphore]) {
        for done in waits where done.wait(timeout: .now() + .seconds(120)) == .timedOut {
            logger.error("a loop thread did not give back its partitions within 120 s")
        }
    }

    func partitionsRevoked(_ partitions: [KafkaTopicPartition], consumer: KafkaConsumer) {
        worker.metrics.rebalance("revoked")
        let waits = reclaim(partitions, lost: false)
        // Still the owner: commit everything before the partitions go.
        do { try commit() } catch {
            logger.error("commit before revoke failed", metadata: ["error": "\(error)"])
        }
        drop(Set(partitions.map(\.partition)))
        awaitReclaimed(waits)
    }

    func drop(_ partitions: Set<Int32>) {
        for partition in partitions {
            // What committed and is staged goes to the file before the task leaves: a restart on
            // this state directory then reads no changelog. (The callers commit or abandon the
            // transaction in flight first, except a thread stopping after an error: the file's
            // lock keeps its committer's staging apart.)
            if let file = tasks[partition]?.stateFile {
                do { try file.flush() } catch { forgetLocalState(file, partition: partition, error: error, logger: logger) }
            }
            tasks[partition] = nil
            tableCatchUp[partition] = nil
            buffers[partition] = nil
        }
        pausedForBackpressure = pausedForBackpressure.filter { tp in tasks[tp.partition] != nil }
        worker.record { $0.assignedPartitions = self.tasks.keys.sorted() }
    }

    func partitionsLost(_ partitions: [KafkaTopicPartition], consumer: KafkaConsumer) {
        worker.metrics.rebalance("lost")
        let waits = reclaim(partitions, lost: true)
        abandonUncommitted()
        drop(Set(partitions.map(\.partition)))
        awaitReclaimed(waits)
    }

    /// Another member may own the partitions already: drops the uncommitted work (after the
    /// transaction in flight is over: the producer does one thing at a time).
    func abandonUncommitted() {
        if let pending = inFlight {
            pending.done.wait()
            inFlight = nil
        }
        try? producer.abortTransaction()
    }

    // MARK: Requests from the group member's loop thread (loop threads after the first)

    /// Carries out the member's requests. `committed`: the loop has stopped after its last commit
    /// (a revoke then only drops).
    func serve(_ requests: [LoopMailbox.Request], committed: Bool = false) {
        for request in requests {
            switch request {
            case .assign(let numbers):
                guard !committed else { continue }
                do {
                    take(numbers, consumer: try group())
                    let inputs = inputPartitions(numbers)
                    // Concrete offsets (0 where the group has none): a logical one (beginning)
                    // costs librdkafka an offset lookup first, and 2.0.2's broker thread then
                    // fetched only ~0.5 s later. Below the log's start, `auto.offset.reset`
                    // (earliest) applies.
                    try consumer.incrementalAssign(inputs.map { KafkaTopicPartitionOffset($0, offset: startOffsets[$0] ?? 0) })
                } catch {
                    logger.error("could not read the partitions given by the group member's loop thread; the worker stops", metadata: ["error": "\(error)"])
                    worker.stopAfterFailure(error)
                }
            case .revoke(let numbers, let done):
                if !committed {
                    do { try commit() } catch {
                        logger.error("commit before revoke failed", metadata: ["error": "\(error)"])
                    }
                }
                release(numbers)
                done.signal()
            case .lost(let numbers, let done):
                if !committed { abandonUncommitted() }
                release(numbers)
                done.signal()
            }
        }
    }

    /// Drops these partitions' tasks and stops reading them (a loop thread after the first).
    private func release(_ numbers: [Int32]) {
        drop(Set(numbers))
        let inputs = inputPartitions(numbers)
        do { try consumer.incrementalUnassign(inputs) } catch {
            logger.warning("could not stop reading released partitions", metadata: ["error": "\(error)"])
        }
    }
}

/// One transaction handed to the committer thread: it begins the transaction, sends every task's
/// records, commits, writes each task's local state file once its marker's offset is known, then
/// commits the group offsets, and signals `done`. The loop thread reads the outcome only after
/// `done`, and does not use the producer until then.
private final class PendingCommit: @unchecked Sendable {
    // @unchecked: filled by the loop thread before the hand-off, then used by the committer
    // thread alone until it signals `done`, after which only the loop thread reads it.
    struct TaskWork {
        var partition: Int32
        var file: TaskStateFile?
        var outputs: [OutputRecord]
        var changes: [(store: String, key: String, value: [UInt8]?)]
        var streamTime: Int64
        var positions: [String: Int64]
        /// Batches that aborted after their marker reached the broker: noted in this transaction.
        var abortNotes: [String]
        /// Input records processed per topic, and the oldest one's timestamp (for the metrics).
        var consumed: [String: Int]
        var oldestInput: Int64?
    }

    let batch: String
    let changelog: String
    var tasks: [TaskWork] = []
    var offsets: [KafkaTopicPartitionOffset] = []
    var groupMetadata: KafkaConsumerGroupMetadata?
    /// The group member's consumer: the group offsets are committed through it.
    var groupConsumer: KafkaConsumer?
    let done = DispatchSemaphore(value: 0)
    var error: KafkaError?
    var failedStateFiles: [Int32] = []

    let metrics: StreamMetrics

    init(batch: String, changelog: String, metrics: StreamMetrics) {
        self.batch = batch
        self.changelog = changelog
        self.metrics = metrics
    }

    /// Counts the committed transaction in the metrics (committer thread, before `done`), and
    /// logs the outputs whose tally asks for it, with the ids of the input they are about.
    private func count(duration: Duration, logger: Logger) {
        var commit = StreamMetrics.Committed(duration: duration, committedAt: Int64(Date().timeIntervalSince1970 * 1000))
        for task in tasks {
            commit.consumed.merge(task.consumed, uniquingKeysWith: +)
            if let oldest = task.oldestInput { commit.oldestInputs.append(oldest) }
            for output in task.outputs {
                commit.produced[output.topic, default: 0] += 1
                guard let tally = output.tally else { continue }
                commit.tallies.append(tally)
                if let message = tally.logMessage { log(message, output, tally, logger) }
            }
        }
        metrics.committed(commit)
    }

    private func log(_ message: String, _ output: OutputRecord, _ tally: OutputTally, _ logger: Logger) {
        func header(_ name: String) -> String? { output.headers.last { $0.key == name }?.stringValue }
        var metadata: Logger.Metadata = [
            LogMetadataKey.topic: "\(output.topic)", LogMetadataKey.key: "\(output.key.map { String(decoding: $0, as: UTF8.self) } ?? "-")",
            // An output names its input in `causation-id`; a dead letter keeps the input's own headers.
            LogMetadataKey.correlationId: "\(header("correlation-id") ?? "-")",
            LogMetadataKey.eventId: "\(header("causation-id") ?? header("event-id") ?? "-")",
        ]
        for label in tally.labels { metadata[label.name] = "\(label.value)" }
        if let error = header(DeadLetter.HeaderName.error) { metadata[LogMetadataKey.error] = "\(error)" }
        logger.notice("\(message)", metadata: metadata)
    }

    func run(producer: KafkaProducer, logger: Logger) {
        defer {
            // The records are freed here, not on the loop thread when it drops the commit.
            for index in tasks.indices {
                tasks[index].outputs = []
                tasks[index].changes = []
            }
            done.signal()
        }
        let began = ContinuousClock.now
        var sent = began, offsetsSent = began, committed = began, written = began
        var markers: [KafkaDeliveryTicket] = []
        do throws(KafkaError) {
            try producer.beginTransaction()
            let header = KafkaHeader(key: ChangelogFormat.batchHeader, value: batch)
            // Each task's changelog records, in order: abort notes, changes, positions, the
            // commit marker (the marker last: it is what a restore looks for). Made one at a time
            // as they are sent.
            func changelogCount(_ task: TaskWork) -> Int { task.abortNotes.count + task.changes.count + 2 }
            func changelogRecord(_ task: TaskWork, _ index: Int) -> KafkaProducerMessage {
                let (key, value): ([UInt8], [UInt8]?)
                let change = index - task.abortNotes.count
                if change < 0 {
                    (key, value) = (Array(ChangelogFormat.abortKey.utf8), Array(task.abortNotes[index].utf8))
                } else if change < task.changes.count {
                    let entry = task.changes[change]
                    (key, value) = (Array(ChangelogFormat.storeKey(store: entry.store, key: entry.key).utf8), entry.value)
                } else if change == task.changes.count {
                    (key, value) = (Array(ChangelogFormat.positionsKey.utf8), ChangelogFormat.encodePositions(streamTime: task.streamTime, positions: task.positions))
                } else {
                    (key, value) = (Array(ChangelogFormat.commitKey.utf8), Array(batch.utf8))
                }
                return KafkaProducerMessage(topic: changelog, partition: task.partition, key: key, value: value, headers: [header])
            }
            // The batch id on outputs too: on a broker that does not hide aborted transactions,
            // a reader can keep only the batches the changelog shows committed.
            func send(_ output: OutputRecord) throws(KafkaError) {
                try producer.send(KafkaProducerMessage(output, extra: header))
            }
            // The order of the sends registers the transaction's partitions with the coordinator
            // in as few AddPartitionsToTxn rounds as it can: librdkafka 2.0.2 registers what was
            // added within 1 ms of the first record, waits for the answer before the next round,
            // and its main thread spins through each of those milliseconds. So first every task's
            // first changelog record and first output to each topic (a task's outputs are mostly
            // co-partitioned with it), then the other outputs, then the rest of the changelog.
            // Each task's records to a topic keep their order; across tasks or topics a
            // transaction has none.
            for task in tasks { try producer.send(changelogRecord(task, 0)) }
            var leading: [Set<Int>] = []
            for task in tasks {
                var topics: Set<String> = []
                var indices: Set<Int> = []
                for (index, output) in task.outputs.enumerated() where topics.insert(output.topic).inserted {
                    try send(output)
                    indices.insert(index)
                }
                leading.append(indices)
            }
            for (task, first) in zip(tasks, leading) {
                for (index, output) in task.outputs.enumerated() where !first.contains(index) { try send(output) }
            }
            for task in tasks {
                let count = changelogCount(task)
                for index in 1..<(count - 1) { try producer.send(changelogRecord(task, index)) }
                markers.append(try producer.sendTracked(changelogRecord(task, count - 1)))
            }
            sent = .now
            if let groupMetadata { try producer.sendOffsetsToTransaction(offsets, groupMetadata: groupMetadata) }
            offsetsSent = .now
            try producer.commitTransaction()
            committed = .now
        } catch {
            self.error = error
            return
        }
        count(duration: committed - began, logger: logger)
        // The local copy of what just committed, current to the offset after the marker.
        for (task, marker) in zip(tasks, markers) {
            guard let file = task.file else { continue }
            do {
                let report = try marker.wait(timeout: .seconds(30))
                try file.apply(changes: task.changes, streamTime: task.streamTime, positions: task.positions, changelogOffset: report.offset + 1)
            } catch {
                forgetLocalState(file, partition: task.partition, error: error, logger: logger)
                failedStateFiles.append(task.partition)
            }
        }
        written = .now
        // Group offsets right after the transaction (the mock cluster does not store offsets sent
        // to a transaction): they are where a restarted task starts, so they are committed
        // synchronously, leaving only milliseconds in which a crash means re-reading a batch
        // (which the processors' idempotence absorbs).
        do { try groupConsumer?.commit(offsets) } catch {
            logger.warning("group offset commit failed; the next commit carries them", metadata: ["error": "\(error)"])
        }
        logger.debug("transaction committed", metadata: [
            "batch": "\(batch)", "outputs": "\(tasks.reduce(0) { $0 + $1.outputs.count })", "changes": "\(tasks.reduce(0) { $0 + $1.changes.count })",
            "sendMs": "\((sent - began).wholeMilliseconds)", "sendOffsetsMs": "\((offsetsSent - sent).wholeMilliseconds)", "commitMs": "\((committed - offsetsSent).wholeMilliseconds)",
            "stateFilesMs": "\((written - committed).wholeMilliseconds)", "offsetsMs": "\((ContinuousClock.now - written).wholeMilliseconds)",
        ])
    }
}

/// A task's local state file that could not be written is emptied: the changelog stays the truth,
/// and the next restore of the partition reads it from the start.
private func forgetLocalState(_ file: TaskStateFile, partition: Int32, error: any Error, logger: Logger) {
    logger.warning("local task state not written; the next restore reads the changelog", metadata: ["partition": "\(partition)", "error": "\(error)"])
    try? file.reset()
}

extension StreamWorker {
    fileprivate func stopAfterFailure(_ error: KafkaError) {
        state.withLock { s in
            s.failure = error
            s.stopping = true
        }
    }
}

extension KafkaProducer {
    /// Flushes for up to 10 s, ignoring failures (blocking; for the loop thread as it ends —
    /// the client is destroyed with the loop).
    fileprivate func flushQuietly() {
        try? flush(timeout: .seconds(10))
    }
}
