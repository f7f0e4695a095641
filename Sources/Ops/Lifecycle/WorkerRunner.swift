import Foundation
import Logging
import Manufacturing
import ServiceLifecycle
import Streams
import UnixSignals

/// Runs a ``MillwrightWorker`` with its HTTP server in one `ServiceGroup`, the way `millwright run`
/// and `millwright dev` do: SIGTERM or SIGINT drains gracefully (open transactions finished,
/// groups left, master data stopped, then the HTTP server) within `shutdownTimeout`; a second
/// signal, or the deadline, stops at once (the transactions make that safe: what was not
/// committed is aborted by the broker and processed again by the partitions' next owner).
public struct WorkerRunner: Sendable {
    /// How a run ended.
    public enum Outcome: Sendable, Equatable {
        /// Every part stopped within the deadline.
        case drained
        /// The deadline passed with loop threads still running: the caller should exit now.
        case deadlinePassed
    }

    public let configuration: MillwrightConfiguration
    public let logger: Logger
    /// The process's metrics registry; `nil` serves no `/metrics`.
    public let metrics: MillwrightMetrics?
    /// Called with the HTTP port once the server listens.
    public let onHTTPBound: @Sendable (Int) -> Void

    public init(
        configuration: MillwrightConfiguration, logger: Logger, metrics: MillwrightMetrics?,
        onHTTPBound: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.logger = logger
        self.metrics = metrics
        self.onHTTPBound = onHTTPBound
    }

    /// Runs until a signal (or a failure, which it throws after the graceful shutdown of the
    /// rest). `extraServices` run in the same group, started first and stopped last.
    public func run(_ worker: MillwrightWorker, extraServices: [any Service] = []) async throws -> Outcome {
        var services: [any Service] = extraServices
        var publisher: KafkaOrderRequestPublisher?
        if configuration.http.enabled {
            let feed = configuration.http.console ? ConsoleFeed(client: configuration.streams.client, logger: logger) : nil
            if let feed { services.append(feed) }
            let orderAPI = try orderAPI(worker, publisher: &publisher)
            if let orderAPI { services.append(orderAPI.statuses) }
            let endpoints = OpsEndpoints(
                health: worker, metrics: metrics, livenessTimeout: configuration.http.livenessTimeout,
                masterDataCounts: { try? await worker.masterData.counts() },
                operatorAPI: OperatorAPI(
                    client: configuration.streams.client, group: configuration.streams.group, readToken: configuration.http.readToken,
                    adminToken: configuration.http.adminToken, logger: logger, feed: feed,
                    localProcessors: Set(worker.workers.map(\.definition.name))),
                orderAPI: orderAPI)
            services.append(
                OpsHTTPServer(
                    host: configuration.http.host, port: configuration.http.port, endpoints: endpoints, logger: logger, onBound: onHTTPBound))
        }
        services += worker.services()
        var groupConfiguration = ServiceGroupConfiguration(
            services: services.map {
                .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup)
            },
            gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = configuration.shutdownTimeout
        groupConfiguration.maximumCancellationDuration = .seconds(5)
        let escalation = Task { [logger] in await Self.stopAtOnceOnSecondSignal(logger: logger) }
        defer { escalation.cancel() }
        do {
            try await ServiceGroup(configuration: groupConfiguration).run()
        } catch {
            await publisher?.close()
            throw error
        }
        await publisher?.close()  // after the HTTP server stopped: nothing publishes any more
        if worker.isRunning {
            logger.error(
                "the shutdown deadline passed with transactions still open; stopping at once",
                metadata: [
                    "shutdownTimeout": "\(configuration.shutdownTimeout)"
                ])
            return .deadlinePassed
        }
        return .drained
    }

    /// The order API when `api.tokens` names a caller (else `nil`: its routes are not served), with
    /// the publisher it sends accepted requests on and its status table (a service of the group).
    func orderAPI(_ worker: MillwrightWorker, publisher: inout KafkaOrderRequestPublisher?) throws -> OrderAPIRoutes? {
        guard !configuration.api.tokens.isEmpty else { return nil }
        let created = try KafkaOrderRequestPublisher(client: configuration.streams.client, logger: logger)
        publisher = created
        let intake = OrderIntake(
            masterData: worker.masterData, masterDataReady: { worker.masterData.isCaughtUp }, publisher: created, settings: configuration.api,
            logger: logger)
        return OrderAPIRoutes(
            settings: configuration.api, intake: intake, statuses: OrderStatusTable(client: configuration.streams.client, logger: logger),
            logger: logger)
    }

    /// The first SIGTERM or SIGINT starts the graceful shutdown (the group's); a second one ends
    /// the process at once, with 128 + the signal's number.
    static func stopAtOnceOnSecondSignal(logger: Logger) async {
        var count = 0
        for await signal in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
            count += 1
            guard count >= 2 else { continue }
            logger.critical("a second signal: stopping at once", metadata: ["signal": "\(signal)"])
            exit(signal == .sigint ? 130 : 143)
        }
    }
}
