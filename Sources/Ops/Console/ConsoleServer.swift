import Kafka
import Logging
import ServiceLifecycle
import UnixSignals

/// `millwright console`: the console and the operator API without processors, so that it is not a
/// member of any group. It is where a replay is executed from while every worker is stopped (a
/// worker refuses to reset its own groups), and it can run beside the workers for good (a small
/// deployment of its own). SIGTERM or SIGINT stops it.
public struct ConsoleServer: Sendable {
    public var client: KafkaClientConfiguration
    /// The workers' consumer group prefix.
    public var group: String
    public var host: String
    public var port: Int
    public var readToken: String?
    public var adminToken: String?
    public var logger: Logger

    public init(client: KafkaClientConfiguration, group: String, host: String, port: Int, readToken: String?, adminToken: String?, logger: Logger) {
        self.client = client
        self.group = group
        self.host = host
        self.port = port
        self.readToken = readToken
        self.adminToken = adminToken
        self.logger = logger
    }

    /// Serves until a signal.
    public func run(onBound: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let feed = ConsoleFeed(client: client, logger: logger)
        let api = OperatorAPI(client: client, group: group, readToken: readToken, adminToken: adminToken, logger: logger, feed: feed)
        let endpoints = OpsEndpoints(health: NoProcessors(), metrics: nil, livenessTimeout: .seconds(60), operatorAPI: api)
        let server = OpsHTTPServer(host: host, port: port, endpoints: endpoints, logger: logger, onBound: onBound)
        let services: [any Service] = [feed, server]
        let configuration = ServiceGroupConfiguration(
            services: services.map {
                ServiceGroupConfiguration.ServiceConfiguration(
                    service: $0, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup)
            },
            gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger)
        try await ServiceGroup(configuration: configuration).run()
    }

    /// The health of a server without processors nor master data: live and ready while it serves.
    struct NoProcessors: HealthSource {
        func healthSnapshot() -> HealthSnapshot {
            HealthSnapshot(masterData: .init(started: true, caughtUp: true, failure: nil, progress: []), workers: [])
        }
    }
}
