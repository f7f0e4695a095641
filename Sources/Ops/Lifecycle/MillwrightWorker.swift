import Foundation
import Kafka
import Logging
import Manufacturing
import ServiceLifecycle
import Streams
import Synchronization

/// One Millwright worker: the master-data cache and the processors, each run by
/// `streamThreads` loop threads; the first thread of each processor is its consumer-group member
/// and shares the partitions out to the others (`LoopThreads`).
///
/// Start order: the master-data cache catches up first (nothing judges an order against master
/// data before that), then the release and confirmation workers join their groups.
///
/// As services (``services()``), for a `ServiceGroup`: the master-data loader, then one service
/// per processor that starts once master data has caught up; graceful shutdown stops the
/// processors first (finishing their transactions and leaving their groups), then the loader.
///
/// - Important: Thread-safe; `start` and `stop` (or the services) are used once each.
public final class MillwrightWorker: HealthSource, Sendable {
    public let configuration: MillwrightConfiguration
    public let masterData: MasterDataCache
    public let workers: [StreamWorker]
    private let logger: Logger
    private let masterDataStarted = Atomic<Bool>(false)
    /// Why master data has not started loading yet, while ``MasterDataService`` tries again.
    private let masterDataStartProblem = Mutex<String?>(nil)
    private let shuttingDown = Atomic<Bool>(false)
    private let caughtUp = MasterDataCaughtUp()

    /// - Parameter topicCreation: how missing output topics the catalog knows (a new plant's
    ///   release topic) are created before the first record goes to them; default: Kafka's admin
    ///   API on the configured cluster.
    public init(configuration: MillwrightConfiguration, logger: Logger, topicCreation: (any TopicCreation)? = nil) throws {
        var configuration = configuration
        if configuration.streams.topicPreparer == nil {
            configuration.streams.topicPreparer = CatalogTopicPreparer(
                catalog: try TopicCatalog.embedded(), creation: topicCreation ?? AdminTopicCreation(client: configuration.streams.client, logger: logger),
                logger: logger)
        }
        self.configuration = configuration
        self.logger = logger
        try FileManager.default.createDirectory(atPath: configuration.streams.stateDirectory, withIntermediateDirectories: true)
        masterData = try MasterDataCache(stateDirectory: configuration.streams.stateDirectory, logger: logger)
        let settings = configuration.processing
        let cache = masterData
        var workers: [StreamWorker] = []
        let count = configuration.streams.streamThreads
        // One budget for the whole process: every task of both processors shares it.
        let stateCache = StateCache(capacityBytes: configuration.streams.stateCacheBytes)
        for definition in [Self.release(masterData: cache, settings: settings), Self.confirmation(settings: settings)] {
            // Several loop threads share one group member (LoopThreads); thread 0 starts first.
            let threads = count > 1 ? LoopThreads(count: count) : nil
            for thread in 0..<count {
                workers.append(
                    try StreamWorker(
                        definition: definition, configuration: configuration.streams, thread: thread, threads: threads, stateCache: stateCache,
                        logger: logger))
            }
        }
        self.workers = workers
    }

    /// `erp.order-approved.v1` → releases, quarantines, status.
    public static func release(masterData: any MasterDataLookup, settings: ProcessingSettings = ProcessingSettings()) -> ProcessorDefinition {
        ProcessorDefinition(
            name: "release", inputTopics: [Topics.orderApproved],
            outputTopics: [Topics.workOrders, Topics.erpOrderStatus, Topics.crmOrderStatus, Topics.quarantine, DeadLetter.topic]
        ) { _ in ReleaseProcessor(masterData: masterData, settings: settings) }
    }

    /// MES events and the work-order table → postings, status, quarantines. Repartitioned: an MES
    /// event on another partition than its work order's (another partitioner, another key, no
    /// key) goes through `millwright.<group>.confirmation.repartition.v1` to the task holding it.
    public static func confirmation(settings: ProcessingSettings) -> ProcessorDefinition {
        ProcessorDefinition(
            name: "confirmation", inputTopics: [Topics.workOrders, Topics.operationCompleted, Topics.scrapReported],
            tableTopics: [Topics.workOrders],
            outputTopics: [
                Topics.productionConfirmation, Topics.erpOrderStatus, Topics.crmOrderStatus, Topics.quarantine, DeadLetter.topic, Topics.workOrders,
            ],
            repartitions: true
        ) { _ in
            ConfirmationProcessor(settings: settings)
        }
    }

    /// Loads master data until caught up (up to `catchUpTimeout`), then starts the processors.
    public func start(catchUpTimeout: Duration = .seconds(120)) async throws {
        try await masterData.start(configuration: GlobalTableConfiguration(client: configuration.streams.client))
        masterDataStarted.store(true, ordering: .relaxed)
        logger.info("loading master data")
        try await masterData.waitUntilCaughtUp(timeout: catchUpTimeout)
        logger.info("master data caught up; starting the processors")
        for worker in workers { try worker.start() }
    }

    /// The first failure of any part, if one failed.
    public var failure: String? {
        if let failure = masterData.failure { return "master data: \(failure)" }
        for worker in workers { if let failure = worker.failure { return "\(worker.definition.name): \(failure)" } }
        return nil
    }

    /// Finishes open transactions, leaves the groups, stops loading master data.
    public func stop() async {
        shuttingDown.store(true, ordering: .relaxed)
        for worker in workers { worker.requestStop() }
        for worker in workers { await worker.waitUntilFinished() }
        await masterData.stop()
    }

    // MARK: Health

    public func healthSnapshot() -> HealthSnapshot {
        HealthSnapshot(
            masterData: .init(
                started: masterDataStarted.load(ordering: .relaxed), caughtUp: masterData.isCaughtUp,
                failure: masterData.failure.map { "\($0)" }, progress: masterData.progress,
                retrying: masterDataStartProblem.withLock { $0 }),
            workers: workers.map(\.health), shuttingDown: shuttingDown.load(ordering: .relaxed))
    }

    /// True while a loop thread is still running (after a stop: it has not ended yet).
    public var isRunning: Bool { workers.contains { $0.health.running } }

    // MARK: Services

    /// The worker as services for one `ServiceGroup`, in start order (the group stops them in
    /// reverse): the master-data loader, then each processor's loop threads.
    public func services() -> [any Service] {
        var services: [any Service] = [MasterDataService(worker: self)]
        for name in Set(workers.map(\.definition.name)).sorted(by: { $0 > $1 }) {
            services.append(ProcessorService(worker: self, threads: workers.filter { $0.definition.name == name }))
        }
        return services
    }

    /// Loads master data: caught up, it lets the processors start; on shutdown it stops loading.
    struct MasterDataService: Service {
        let worker: MillwrightWorker

        func run() async throws {
            defer {
                // Processors still waiting to start (shutdown or failure during the load) start nothing.
                worker.shuttingDown.store(true, ordering: .relaxed)
                worker.caughtUp.signal()
            }
            guard try await startLoading() else { return }  // shut down before the cluster answered
            worker.masterDataStarted.store(true, ordering: .relaxed)
            worker.logger.info("loading master data")
            do {
                try await cancelWhenGracefulShutdown {
                    // No deadline: readiness reports the progress; a failure ends the wait.
                    while true {
                        do {
                            try await worker.masterData.waitUntilCaughtUp(timeout: .seconds(3_600))
                            break
                        } catch let error as GlobalTableError where error.code == .timedOut {
                            continue
                        }
                    }
                }
                worker.logger.info("master data caught up; starting the processors")
                worker.caughtUp.signal()
                // Runs until the group shuts down (the processors have stopped by then).
                try? await gracefulShutdown()
            } catch {
                // A shutdown during the load ends the wait; anything else is a failure.
                guard worker.masterData.failure == nil && (Task.isCancelled || Task.isShuttingDownGracefully) else {
                    await worker.masterData.stop()
                    throw error
                }
            }
            worker.shuttingDown.store(true, ordering: .relaxed)
            await worker.masterData.stop()
            if let failure = worker.masterData.failure { throw failure }
        }

        /// Starts loading master data, trying again while the cluster cannot be reached or a
        /// master-data topic is missing (brokers still starting, a network outage, topics not
        /// applied yet): the worker stays up, not ready, and says why every time. False when a
        /// shutdown came first.
        func startLoading() async throws -> Bool {
            var delay = Duration.seconds(1)
            while true {
                do {
                    try await cancelWhenGracefulShutdown {
                        try await worker.masterData.start(configuration: GlobalTableConfiguration(client: worker.configuration.streams.client))
                    }
                    worker.masterDataStartProblem.withLock { $0 = nil }
                    return true
                } catch let error as GlobalTableError where error.code == .kafka || error.code == .unknownTopic {
                    worker.masterDataStartProblem.withLock { $0 = "\(error)" }
                    worker.logger.warning(
                        "cannot start loading master data; trying again (check the bootstrap servers, the brokers, and that the mdm.* topics exist)",
                        metadata: [
                            "error": "\(error)", "retryIn": "\(delay)",
                            "bootstrapServers": "\(worker.configuration.streams.client.bootstrapServers.joined(separator: ","))",
                        ])
                    let wait = delay
                    do {
                        try await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
                    } catch {
                        return false
                    }
                    delay = min(delay * 2, .seconds(30))
                } catch {
                    if Task.isCancelled || Task.isShuttingDownGracefully { return false }
                    throw error
                }
            }
        }
    }

    /// One processor's loop threads: started once master data has caught up, stopped gracefully
    /// (open transactions finished, group left) on shutdown. A loop thread that fails ends the
    /// service with its error, which stops the group.
    struct ProcessorService: Service {
        let worker: MillwrightWorker
        let threads: [StreamWorker]

        func run() async throws {
            // A shutdown while master data is still loading (or cannot start) ends the wait.
            try? await cancelWhenGracefulShutdown { await worker.caughtUp.wait() }
            guard !worker.shuttingDown.load(ordering: .relaxed), !Task.isCancelled, !Task.isShuttingDownGracefully else { return }
            for thread in threads { try thread.start() }
            await withGracefulShutdownHandler {
                // A thread that fails stops its siblings: the others would go on without it (the
                // member's partitions unread, or no member at all) and this service never end.
                await withTaskGroup(of: Void.self) { group in
                    for thread in threads {
                        group.addTask {
                            await thread.waitUntilFinished()
                            if thread.failure != nil { for other in threads { other.requestStop() } }
                        }
                    }
                }
            } onGracefulShutdown: {
                worker.shuttingDown.store(true, ordering: .relaxed)
                worker.logger.notice(
                    "stopping: finishing the open transaction and leaving the group", metadata: ["processor": "\(threads.first?.definition.name ?? "")"])
                for thread in threads { thread.requestStop() }
            }
            if let failure = threads.lazy.compactMap(\.failure).first {
                for thread in threads { thread.requestStop() }
                throw failure
            }
        }
    }
}

/// Opens once master data has caught up (or shutdown began); processors wait on it.
final class MasterDataCaughtUp: Sendable {
    private struct State {
        var open = false
        var nextID = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    func signal() {
        let waiters = state.withLock { s in
            s.open = true
            defer { s.waiters = [:] }
            return s.waiters.values
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once open, or when the waiting task is cancelled.
    func wait() async {
        let id = state.withLock { s in
            s.nextID += 1
            return s.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s in
                    if s.open || Task.isCancelled { return true }
                    s.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}
