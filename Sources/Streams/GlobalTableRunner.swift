import Foundation
import Kafka
import Logging
import Synchronization

/// What a ``GlobalTableLoader`` runs: finds the partitions, then on a thread of its own reads the
/// stored positions and the high watermarks, assigns every partition and polls and applies until
/// stopped. Kept apart from the public handle so a handle dropped without `stop()` still stops it.
///
/// - Important: Thread-safe. Only the polling thread polls the consumer and calls the sink; every
///   other method only touches the state under its lock.
final class GlobalTableRunner: Sendable {
    typealias Waiter = CheckedContinuation<Result<Void, GlobalTableError>, Never>
    /// Lists the cluster's topics with their partitions (the admin client's `listTopics`).
    typealias Discover = @Sendable (_ timeout: Duration) async throws(KafkaError) -> [KafkaTopicMetadata]

    let configuration: GlobalTableConfiguration
    let topics: [String]
    let sink: any GlobalTableSink
    let logger: Logger
    let consumer: KafkaConsumer
    /// Dropped when the loader finishes, so the admin client behind it closes its connections.
    let discover: Mutex<Discover?>
    let state = Mutex(GlobalTableStateMachine<Waiter>())
    let stopFlag = Atomic<Bool>(false)
    let inbox = Mutex(PartitionInbox())
    let refresher = Mutex<Task<Void, Never>?>(nil)
    let applied = Atomic<Int>(0)

    init(
        configuration: GlobalTableConfiguration, topics: [String], sink: any GlobalTableSink, logger: Logger,
        discover: @escaping Discover
    ) throws(GlobalTableError) {
        self.configuration = configuration
        self.topics = topics
        self.sink = sink
        self.logger = logger
        self.discover = Mutex(discover)
        do {
            consumer = try KafkaConsumer(configuration: configuration.consumerConfiguration, logger: logger)
        } catch {
            throw GlobalTableError(code: .configuration, reason: "cannot create the consumer for \(topics.joined(separator: ", "))", underlying: error)
        }
    }

    var isCaughtUp: Bool { state.withLock { $0.isCaughtUp } }
    var failure: GlobalTableError? { state.withLock { $0.failure } }
    var lagDescription: String { state.withLock { $0.lagDescription } }
    var progress: [GlobalTableProgress] { state.withLock { $0.progress } }
    var appliedRecordCount: Int { applied.load(ordering: .relaxed) }

    // MARK: Start and stop

    func start() async throws(GlobalTableError) {
        try state.withLock { (machine) throws(GlobalTableError) in try machine.start() }
        let partitions: [TopicPartition]
        do {
            partitions = try await findPartitions()
        } catch {
            await finishBeforeThread(error)
            throw error
        }
        let startup: Result<Void, GlobalTableError> = await withCheckedContinuation { continuation in
            startNamedThread("mw-global-table") { [self] in run(partitions, startup: continuation) }
        }
        try startup.get()
        startRefresher()
    }

    func stop() async {
        let action = state.withLock { $0.requestStop() }
        stopFlag.store(true, ordering: .releasing)
        cancelRefresher()
        if case .finishedBeforeStart(let resumptions) = action {
            releaseDiscovery()
            resumptions.forEach(resume)
            await closeConsumer()
        }
        // Not cancellable: a stop from a cancelled task (a service shutting down) still waits.
        try? await wait(.finish, timeout: nil, cancellable: false)
    }

    /// Tells the thread to stop without waiting (the public handle's `deinit`).
    func requestStopWithoutWaiting() {
        let action = state.withLock { $0.requestStop() }
        stopFlag.store(true, ordering: .releasing)
        cancelRefresher()
        if case .finishedBeforeStart(let resumptions) = action {
            releaseDiscovery()
            resumptions.forEach(resume)
        }
    }

    func finishBeforeThread(_ error: GlobalTableError) async {
        releaseDiscovery()
        let resumptions = state.withLock { $0.finished(error.code == .stopped ? nil : error) }
        resumptions.forEach(resume)
        await closeConsumer()
    }

    func releaseDiscovery() {
        let released = discover.withLock { discover in
            defer { discover = nil }
            return discover
        }
        // If that was the last reference to the admin client, it is destroyed here: it stops its
        // poll thread and closes its connections, which blocks briefly, so not on this thread.
        DispatchQueue.global().async { withExtendedLifetime(released) {} }
    }

    func closeConsumer() async {
        do {
            try await consumer.close()
        } catch {
            logger.warning("closing the global-table consumer failed", metadata: [LogMetadataKey.error: "\(error)"])
        }
    }

    // MARK: Waiting

    func wait(
        _ kind: GlobalTableStateMachine<Waiter>.WaitKind, timeout: Duration?, cancellable: Bool = true
    ) async throws(GlobalTableError) {
        let id = state.withLock { $0.issueWaiterID() }
        let timer = timeout.map { timeout in
            Task { [self] in
                do { try await Task.sleep(for: timeout) } catch { return }
                expire(id) { GlobalTableError(code: .timedOut, reason: "not caught up within \(timeout): \($0)") }
            }
        }
        defer { timer?.cancel() }
        let result: Result<Void, GlobalTableError> = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: Waiter) in
                if let now = state.withLock({ $0.wait(kind, id: id, continuation) }) {
                    continuation.resume(returning: now)
                }
            }
        } onCancel: {
            if cancellable {
                expire(id) { _ in GlobalTableError(code: .cancelled, reason: "the waiting task was cancelled") }
            }
        }
        try result.get()
    }

    func expire(_ id: UInt64, _ error: (_ lag: String) -> GlobalTableError) {
        let expired: (Waiter, GlobalTableError)? = state.withLock { machine in
            let failure = error(machine.lagDescription)
            return machine.expire(id, with: failure).map { ($0, failure) }
        }
        if let (waiter, failure) = expired { waiter.resume(returning: .failure(failure)) }
    }

    func resume(_ resumption: GlobalTableStateMachine<Waiter>.Resumption) {
        for waiter in resumption.waiters { waiter.resume(returning: resumption.result) }
    }
}
