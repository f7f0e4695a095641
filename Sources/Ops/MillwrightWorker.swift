import Foundation
import Kafka
import Logging
import Manufacturing
import Streams

/// One Millwright worker: the master-data cache and the processors, each run by
/// `streamThreads` loop threads; the first thread of each processor is its consumer-group member
/// and shares the partitions out to the others (`LoopThreads`).
///
/// Start order: the master-data cache catches up first (nothing judges an order against master
/// data before that), then the release and confirmation workers join their groups.
///
/// - Important: Thread-safe; `start` and `stop` are called once each.
public final class MillwrightWorker: Sendable {
    public let configuration: MillwrightConfiguration
    public let masterData: MasterDataCache
    public let workers: [StreamWorker]
    private let logger: Logger

    public init(configuration: MillwrightConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        try FileManager.default.createDirectory(atPath: configuration.streams.stateDirectory, withIntermediateDirectories: true)
        masterData = try MasterDataCache(stateDirectory: configuration.streams.stateDirectory, logger: logger)
        let settings = configuration.processing
        let cache = masterData
        var workers: [StreamWorker] = []
        let count = configuration.streams.streamThreads
        for definition in [Self.release(masterData: cache), Self.confirmation(settings: settings)] {
            // Several loop threads share one group member (LoopThreads); thread 0 starts first.
            let threads = count > 1 ? LoopThreads(count: count) : nil
            for thread in 0..<count {
                workers.append(try StreamWorker(definition: definition, configuration: configuration.streams, thread: thread, threads: threads, logger: logger))
            }
        }
        self.workers = workers
    }

    /// `erp.order-approved.v1` → releases, quarantines, status.
    public static func release(masterData: any MasterDataLookup) -> ProcessorDefinition {
        ProcessorDefinition(
            name: "release", inputTopics: [Topics.orderApproved],
            outputTopics: [Topics.workOrders, Topics.erpOrderStatus, Topics.crmOrderStatus, Topics.quarantine, DeadLetter.topic]
        ) { _ in ReleaseProcessor(masterData: masterData) }
    }

    /// MES events and the work-order table → postings, status, quarantines.
    public static func confirmation(settings: ProcessingSettings) -> ProcessorDefinition {
        ProcessorDefinition(
            name: "confirmation", inputTopics: [Topics.workOrders, Topics.operationCompleted, Topics.scrapReported],
            tableTopics: [Topics.workOrders],
            outputTopics: [Topics.productionConfirmation, Topics.erpOrderStatus, Topics.crmOrderStatus, Topics.quarantine, DeadLetter.topic]
        ) { _ in
            ConfirmationProcessor(settings: settings)
        }
    }

    /// Loads master data until caught up (up to `catchUpTimeout`), then starts the processors.
    public func start(catchUpTimeout: Duration = .seconds(120)) async throws {
        try await masterData.start(configuration: GlobalTableConfiguration(client: configuration.streams.client))
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
        for worker in workers { await worker.stop() }
        await masterData.stop()
    }
}
