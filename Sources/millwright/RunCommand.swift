import ArgumentParser
import Foundation
import Logging
import Ops

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the processors as a consumer-group worker.",
        discussion: """
            Loads master data into the local cache (SQLite under --state-dir) until it has caught up, \
            then runs the release and confirmation processors with exactly-once commits. Start \
            several workers with the same --group to share the partitions. SIGTERM or Ctrl-C \
            finishes the open transaction, leaves the group and exits 0.

            Settings come from --config (YAML), then MILLWRIGHT_* environment variables, then these \
            flags; see Docs/configuration.md.

            Example: millwright run --bootstrap-servers localhost:9092 --state-dir /var/lib/millwright
            """
    )

    @Option(help: "Brokers as host:port[,host:port…].") var bootstrapServers: String?
    @Option(help: "Consumer group prefix (default millwright).") var group: String?
    @Option(help: "State directory (default ./state).") var stateDir: String?
    @Option(help: "YAML configuration file.") var config: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel: String = "info"

    func run() async throws {
        let yaml = try config.map { path in
            do { return try String(contentsOfFile: path, encoding: .utf8) } catch {
                throw CommandError("--config \(path): cannot read it: \(error.localizedDescription)")
            }
        }
        let configuration: MillwrightConfiguration
        do {
            configuration = try MillwrightConfiguration.load(
                yaml: yaml, environment: ProcessInfo.processInfo.environment,
                overrides: .init(bootstrapServers: bootstrapServers, group: group, stateDirectory: stateDir))
        } catch { throw CommandError(error.description) }
        var logger = Logger(label: "millwright")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let worker = try MillwrightWorker(configuration: configuration, logger: logger)
        let signalled = Signals.Flag()
        Task { _ = await Signals.waitForTermination(); signalled.set() }
        try await worker.start()
        logger.notice("running", metadata: [
            "group": "\(configuration.streams.group)", "stateDirectory": "\(configuration.streams.stateDirectory)",
            "allocator": "\(Allocator.description)",
        ])
        while !signalled.isSet {
            if let failure = worker.failure {
                await worker.stop()
                throw CommandError("worker failed: \(failure)")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        logger.notice("stopping")
        await worker.stop()
    }
}
