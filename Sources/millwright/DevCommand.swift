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
        abstract: "The embedded default: a cluster in this process, a worker, a seeded sample, and what came out.",
        discussion: """
            Starts the in-process Kafka cluster, creates the catalog's topics, loads a sample plant's \
            master data, runs a worker, feeds sample orders and shop-floor events (some of which must \
            be quarantined or dead-lettered) and prints what came out per topic. Then it stays up, \
            printing the bootstrap servers and the worker's HTTP endpoints (/healthz, /readyz, \
            /metrics on 127.0.0.1:8080 by default), until Ctrl-C — point kcat, curl or another \
            worker at it.
            """
    )

    @Option(help: "The topic catalog folder.") var catalog: String = "topics"
    @Option(help: "Seconds to wait for outputs before printing them.") var settle: Int = 20
    @Flag(help: "Exit after printing instead of staying up.") var once = false
    @OptionGroup var http: HTTPOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = try logging.bootstrap(label: "millwright.dev", defaultLevel: "warning")
        let catalogURL = URL(fileURLWithPath: catalog)
        let topics = try TopicCatalog.load(from: catalogURL)
        let cluster = try EmbeddedCluster.start(catalog: topics, brokers: 3, plants: ["P100"], logger: logger).cluster
        say("in-process cluster: \(cluster.bootstrapServers) (\(topics.topics.count) topics)")

        let sample = SampleData(catalog: catalogURL)
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: [cluster.bootstrapServers]), logger: logger)
        let masterData = try sample.masterData()
        _ = try await producer.send(batch: masterData.map(KafkaProducerMessage.init))
        say("master data: \(masterData.count) records (plants, items, BOMs, routings of plant P100 and friends)")

        let state = FileManager.default.temporaryDirectory.appendingPathComponent("millwright-dev-\(UUID().uuidString.prefix(8))").path
        var configuration: MillwrightConfiguration
        do {
            configuration = try MillwrightConfiguration.load(
                yaml: "processing:\n  parkingTimeout: 15s\n  idleTimeout: 5s\n", environment: [:],
                overrides: http.overrides(.init(bootstrapServers: cluster.bootstrapServers, group: "millwright-dev", stateDirectory: state)),
                httpHost: "127.0.0.1")
        } catch { throw CommandError(error.description) }
        configuration.streams.sessionTimeout = .seconds(10)
        // The console's admin token: MILLWRIGHT_ADMIN_TOKEN, or one made for this run (printed
        // below as part of the console's address; never logged).
        let adminToken =
            ProcessInfo.processInfo.environment["MILLWRIGHT_ADMIN_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
            ?? UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        configuration.http.adminToken = adminToken
        configuration.registerSecrets()
        let metrics = configuration.http.enabled ? MillwrightMetrics.bootstrap() : nil
        let worker = try MillwrightWorker(configuration: configuration, logger: logger)
        let port = Mutex<Int?>(nil)
        let ended = Atomic<Bool>(false)
        let runner = Task { [configuration] in
            defer { ended.store(true, ordering: .relaxed) }
            return try await WorkerRunner(configuration: configuration, logger: logger, metrics: metrics) { bound in port.withLock { $0 = bound } }
                .run(worker)
        }
        let deadline = ContinuousClock.now.advanced(by: .seconds(120))
        while !Probes.readiness(worker.healthSnapshot()).healthy {
            if ContinuousClock.now > deadline || worker.failure != nil { break }
            if ended.load(ordering: .relaxed) { break }  // it failed (a port in use…): its error is thrown below
            try await Task.sleep(for: .milliseconds(100))
        }
        if ended.load(ordering: .relaxed) {
            do { _ = try await runner.value } catch { throw CommandError("worker failed: \(error)") }
        }
        if let failure = worker.failure {
            _ = try? await runner.value
            throw CommandError("worker failed: \(failure)")
        }
        say("worker running (state in \(state)); master data caught up; allocator \(Allocator.description)")

        let orders = try sample.orders()
        _ = try await producer.send(batch: orders.map(KafkaProducerMessage.init))
        try await Task.sleep(for: .seconds(3))  // let the releases reach the work-order table
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let shopFloor = sample.shopFloor(now: now)
        _ = try await producer.send(batch: shopFloor.main.map(KafkaProducerMessage.init))
        try await Task.sleep(for: .seconds(3))
        _ = try await producer.send(batch: shopFloor.closing.map(KafkaProducerMessage.init))
        say("fed \(orders.count) orders and \(shopFloor.main.count + shopFloor.closing.count) shop-floor events; waiting \(settle) s for the outputs")
        try await Task.sleep(for: .seconds(settle))

        try await printOutputs(cluster, logger: logger)
        if let failure = worker.failure { say("worker failure: \(failure)") }
        if let bound = port.withLock({ $0 }) {
            let base = "http://\(configuration.http.host == "0.0.0.0" ? "127.0.0.1" : configuration.http.host):\(bound)"
            say("\nThe worker's endpoints: \(base)/healthz  \(base)/readyz  \(base)/metrics")
            say("The console (admin token in the address's fragment, which the browser keeps to itself): \(base)/console/P100#token=\(adminToken)")
        }
        if once {
            kill(getpid(), SIGTERM)  // the same graceful stop as Ctrl-C
        } else {
            say("\nStill running. Bootstrap servers (for kcat -b, or `millwright run --bootstrap-servers`):")
            FileHandle.standardOutput.write(Data((cluster.bootstrapServers + "\n").utf8))
            say("Ctrl-C to stop.")
        }
        let outcome = try await runner.value
        await producer.close()
        withExtendedLifetime(cluster) {}
        if outcome == .deadlinePassed { Foundation.exit(1) }
    }

    func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

    func printOutputs(_ cluster: InProcessKafkaCluster, logger: Logger) async throws {
        let client = KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers)
        say("\nWhat came out:")
        for (topic, lines) in try await EmbeddedCluster.outputs(EmbeddedCluster.sampleOutputs, client: client, logger: logger) {
            say("\n\(topic): \(lines.count)")
            for line in lines { say("  " + line) }
        }
    }
}
