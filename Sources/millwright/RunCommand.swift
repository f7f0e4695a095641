import ArgumentParser
import Foundation
import Kafka
import Logging
import Ops
import Streams

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the processors as a consumer-group worker.",
        discussion: """
            Loads master data into the local cache (SQLite under --state-dir) until it has caught up, \
            then runs the release and confirmation processors with exactly-once commits. Start \
            several workers with the same --group to share the partitions (each with its own \
            --http-port when they share a host). SIGTERM or Ctrl-C finishes the open transactions, \
            leaves the groups and exits 0 within --shutdown-timeout; a second signal stops at once.

            HTTP (default 0.0.0.0:8080): /healthz (liveness), /readyz (readiness, with progress), \
            /metrics (Prometheus). See Docs/observability.md.

            Settings come from --config (YAML), then MILLWRIGHT_* environment variables, then these \
            flags; see Docs/configuration.md.

            Example: millwright run --bootstrap-servers localhost:9092 --state-dir /var/lib/millwright
            """
    )

    @Option(help: "Brokers as host:port[,host:port…].") var bootstrapServers: String?
    @Option(help: "Consumer group prefix (default millwright).") var group: String?
    @Option(help: "State directory (default ./state).") var stateDir: String?
    @Option(help: "YAML configuration file.") var config: String?
    @OptionGroup var http: HTTPOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = try logging.bootstrap(label: "millwright")
        let yaml = try config.map { path in
            do { return try String(contentsOfFile: path, encoding: .utf8) } catch {
                throw CommandError("--config \(path): cannot read it: \(error.localizedDescription)")
            }
        }
        let configuration: MillwrightConfiguration
        do {
            configuration = try MillwrightConfiguration.load(
                yaml: yaml, environment: ProcessInfo.processInfo.environment,
                overrides: http.overrides(.init(bootstrapServers: bootstrapServers, group: group, stateDirectory: stateDir)))
        } catch { throw CommandError(error.description) }
        configuration.registerSecrets()
        let metrics = configuration.http.enabled ? MillwrightMetrics.bootstrap() : nil
        let worker = try MillwrightWorker(configuration: configuration, logger: logger)
        logger.notice(
            "starting",
            metadata: [
                "group": "\(configuration.streams.group)", "stateDirectory": "\(configuration.streams.stateDirectory)",
                "allocator": "\(Allocator.description)",
                "http": "\(configuration.http.enabled ? "\(configuration.http.host):\(configuration.http.port)" : "off")",
            ])
        let outcome: WorkerRunner.Outcome
        do {
            outcome = try await WorkerRunner(configuration: configuration, logger: logger, metrics: metrics).run(worker)
        } catch {
            throw CommandError("worker failed: \(error)")
        }
        if outcome == .deadlinePassed { Foundation.exit(1) }
        logger.notice("stopped")
    }
}

/// The HTTP server's options (`run`, `dev`).
struct HTTPOptions: ParsableArguments {
    @Option(help: "Port of the HTTP server (/healthz, /readyz, /metrics); 0 picks a free one. Default 8080.")
    var httpPort: Int?
    @Option(help: "Address the HTTP server binds. Default 0.0.0.0 (run), 127.0.0.1 (dev).")
    var httpHost: String?
    @Flag(help: "No HTTP server (and no metrics).") var noHttp = false
    @Option(help: "How long a graceful stop may take (default 30s).") var shutdownTimeout: String?

    func overrides(_ base: MillwrightConfiguration.Overrides) -> MillwrightConfiguration.Overrides {
        var overrides = base
        overrides.httpPort = httpPort
        overrides.httpHost = httpHost
        overrides.httpEnabled = noHttp ? false : nil
        overrides.shutdownTimeout = shutdownTimeout
        return overrides
    }
}

/// Logging options: format and levels, bootstrapped once.
struct LoggingOptions: ParsableArguments {
    @Option(
        help:
            "Log level, or levels per module: info, or info,kafka=debug,streams=trace (modules: kafka, streams, manufacturing, ops, millwright). Default info; MILLWRIGHT_LOG_LEVEL."
    )
    var logLevel: String?
    @Option(help: "text or json (JSON lines for log shippers). Default text; MILLWRIGHT_LOG_FORMAT.")
    var logFormat: String?

    /// Bootstraps swift-log and returns the command's logger.
    func bootstrap(label: String, defaultLevel: String = "info") throws -> Logger {
        let environment = ProcessInfo.processInfo.environment
        let formatText = logFormat ?? environment["MILLWRIGHT_LOG_FORMAT"] ?? "text"
        guard let format = MillwrightLogHandler.Format(rawValue: formatText.lowercased()) else {
            throw ValidationError("--log-format: '\(formatText)' is not text or json")
        }
        let levels: LogLevels
        do { levels = try LogLevels.parse(logLevel ?? environment["MILLWRIGHT_LOG_LEVEL"] ?? defaultLevel) } catch {
            throw ValidationError(error.description)
        }
        LogSetup.bootstrap(format: format, levels: levels)
        return Logger(label: label)
    }
}

extension MillwrightConfiguration {
    /// Every secret value of the configuration (librdkafka passwords, keys, tokens) is cut out of
    /// every log line from here on.
    func registerSecrets() {
        for (name, value) in streams.client.additionalProperties where SecretProperties.isSecret(name) { Secrets.register(value) }
        if let sasl = streams.client.security.sasl { Secrets.register(sasl.password) }
        if let password = streams.client.security.tls?.keyPassword { Secrets.register(password) }
        for token in [http.readToken, http.adminToken].compactMap({ $0 }) { Secrets.register(token) }
        for token in api.tokens { Secrets.register(token.token) }
    }
}
