import ArgumentParser
import Foundation
import Kafka
import Logging
import Manufacturing
import Ops
import Streams
import Synchronization

struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "The embedded default: a cluster in this process, a worker, the plant simulator, and a live summary.",
        discussion: """
            Starts the in-process Kafka cluster with the catalog's topics, runs a worker, and plays \
            three plants' ERP and MES against them (`millwright simulate`: master data, orders, \
            shop-floor events, some of which must be quarantined or dead-lettered). A one-screen \
            summary is redrawn every second: records sent, inputs and outputs committed per \
            second, releases per plant, postings, quarantines by reason, dead letters, lag; under \
            it the console's address (with its admin token), /metrics and the bootstrap servers \
            (for kcat, curl or another `millwright run`). Ctrl-C stops it cleanly.
            """
    )

    @OptionGroup var catalog: CatalogOptions
    @Option(help: "Simulated seconds per wall-clock second.") var speed: Double = 60
    @Option(help: "Records the simulator sends a second, on average.") var rate: Double = 50
    @Option(help: "The simulator's seed.") var seed: UInt64 = 42
    @Option(help: "Stop after this many seconds (default: until Ctrl-C).") var duration: Int?
    @OptionGroup var http: HTTPOptions
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if let duration, duration < 1 { throw ValidationError("--duration: at least 1 second (got \(duration))") }
        do { try simulatorOptions.validate() } catch { throw ValidationError(error.description) }
    }

    var simulatorOptions: PlantSimulator.Options {
        var options = PlantSimulator.Options()
        options.speed = speed
        options.rate = rate
        options.seed = seed
        return options
    }

    func run() async throws {
        let logger = try logging.bootstrap(label: "millwright.dev", defaultLevel: "warning")
        let topics = try catalog.load()
        let plants = PlantSimulation.plants.map(\.plantCode)
        let group = "millwright-dev"
        let cluster = try EmbeddedCluster.start(catalog: topics, brokers: 3, plants: plants, groups: [group], logger: logger).cluster
        say("in-process cluster: \(cluster.bootstrapServers) (\(topics.topics.count) topics, catalog \(topics.files.origin))")

        let state = FileManager.default.temporaryDirectory.appendingPathComponent("millwright-dev-\(UUID().uuidString.prefix(8))").path
        var configuration: MillwrightConfiguration
        do {
            configuration = try MillwrightConfiguration.load(
                yaml: "processing:\n  parkingTimeout: 15s\n  idleTimeout: 5s\n",
                // The order API's settings only (tokens, rate limit): the rest is this command's.
                environment: ProcessInfo.processInfo.environment.filter { $0.key.hasPrefix("MILLWRIGHT_API_") },
                overrides: http.overrides(.init(bootstrapServers: cluster.bootstrapServers, group: group, stateDirectory: state)),
                httpHost: "127.0.0.1")
        } catch { throw CommandError(error.description) }
        configuration.streams.sessionTimeout = .seconds(10)
        // The console's admin token: MILLWRIGHT_ADMIN_TOKEN, or one made for this run (shown
        // below as part of the console's address; never logged).
        let adminToken =
            ProcessInfo.processInfo.environment["MILLWRIGHT_ADMIN_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
            ?? UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        configuration.http.adminToken = adminToken
        // The order API's caller: MILLWRIGHT_API_TOKEN_<NAME>, or one made for this run with every
        // scope (shown below; never logged).
        if configuration.api.tokens.isEmpty {
            let token = "dev-" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
            configuration.api.tokens = [.init(name: "dev", token: token, scopes: Set(OrderAPISettings.Scope.allCases))]
        }
        configuration.registerSecrets()
        // Always: the summary reads the worker's own series, with or without the HTTP server.
        let metrics = MillwrightMetrics.bootstrap()
        let worker = try MillwrightWorker(configuration: configuration, logger: logger, topicCreation: InProcessTopicCreation(cluster: cluster))
        let port = Mutex<Int?>(nil)
        let ended = Atomic<Bool>(false)
        let runner = Task { [configuration] in
            defer { ended.store(true, ordering: .relaxed) }
            return try await WorkerRunner(configuration: configuration, logger: logger, metrics: metrics) { bound in port.withLock { $0 = bound } }
                .run(worker)
        }
        let deadline = ContinuousClock.now.advanced(by: .seconds(120))
        while !Probes.readiness(worker.healthSnapshot()).healthy {
            if ContinuousClock.now > deadline || worker.failure != nil || ended.load(ordering: .relaxed) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        if ended.load(ordering: .relaxed) {
            do { _ = try await runner.value } catch { throw CommandError("worker failed: \(error)") }
        }
        if let failure = worker.failure {
            _ = try? await runner.value
            throw CommandError("worker failed: \(failure)")
        }
        say("worker running (state in \(state)); allocator \(Allocator.description)")

        let simulator = PlantSimulator(client: KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers), options: simulatorOptions, logger: logger)
        let simulation = Task { try await simulator.run() }
        var footer: [String] = []
        if let bound = port.withLock({ $0 }) {
            let base = "http://\(configuration.http.host == "0.0.0.0" ? "127.0.0.1" : configuration.http.host):\(bound)"
            footer.append("console:  \(base)/console/P100#token=\(adminToken)   (P200: /console/P200)")
            footer.append("metrics:  \(base)/metrics   probes: \(base)/healthz \(base)/readyz")
            if let dev = configuration.api.tokens.first(where: { $0.name == "dev" }) {
                footer.append("order API: \(base)/api/v1/order-requests, /api/v1/orders/<id>/status   token (every scope): \(dev.token)")
            }
        }
        footer.append("bootstrap servers (kcat -b, millwright run --bootstrap-servers): \(cluster.bootstrapServers)")
        footer.append(duration.map { "stops after \($0) s; Ctrl-C stops now" } ?? "Ctrl-C to stop")

        let terminal = isatty(STDOUT_FILENO) == 1
        var summary = DevSummary()
        var last = ContinuousClock.now
        let began = last
        var printed = ContinuousClock.now - .seconds(60)
        while !ended.load(ordering: .relaxed) {
            try? await Task.sleep(for: .seconds(1))
            let now = ContinuousClock.now
            let text = String(decoding: metrics.scrape(health: nil, livenessTimeout: .seconds(30), masterData: nil), as: UTF8.self)
            summary.update(DevSummary.Snapshot(metrics: text, sent: simulator.sent.total), interval: Self.seconds(now - last))
            last = now
            let title =
                "Millwright dev — \(PlantSimulation.plants.count) plants simulated at \(Int(speed))× (seed \(seed)), up \(Int((now - began).components.seconds)) s"
            if terminal {
                say("\u{1B}[H\u{1B}[2J" + summary.render(title: title, footer: footer), newline: false)
            } else if now - printed >= .seconds(10) {
                // Not a terminal (a log, a pipe): the screen every 10 s, without redrawing.
                say(summary.render(title: title, footer: footer), newline: false)
                printed = now
            }
            if let duration, now - began >= .seconds(duration) {
                if !terminal { say(summary.render(title: title + " (end)", footer: []), newline: false) }
                kill(getpid(), SIGTERM)  // the same graceful stop as Ctrl-C
                break
            }
        }
        simulation.cancel()
        _ = try? await simulation.value
        if let failure = worker.failure { say("worker failure: \(failure)") }
        let outcome = try await runner.value
        // Exits with the cluster still up: clients already closed but not yet freed (their
        // handles go with their last reference) would otherwise log a `Connection refused` per
        // broker as the cluster went away — errors on a clean stop.
        withExtendedLifetime(cluster) { Foundation.exit(outcome == .deadlinePassed ? 1 : 0) }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    func say(_ text: String, newline: Bool = true) { FileHandle.standardOutput.write(Data((newline ? text + "\n" : text).utf8)) }
}
