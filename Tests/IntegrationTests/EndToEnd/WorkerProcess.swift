import Foundation
import Kafka
import Manufacturing
import Ops
import Streams
import TestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A `millwright run` child process.
final class WorkerProcess {
    let process = Process()
    let log: URL

    static var executable: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("millwright")
    }

    convenience init(
        bootstrap: String, group: String, stateDirectory: String, name: String, extraArguments: [String] = [], environment extra: [String: String] = [:]
    ) throws {
        // Port 0: each worker gets a free port (several run at once); `httpPort` reads it from the log.
        try self.init(
            arguments: ["run", "--bootstrap-servers", bootstrap, "--group", group, "--state-dir", stateDirectory, "--http-port", "0"]
                + (extraArguments.contains("--log-level") ? [] : ["--log-level", "info"]) + extraArguments,
            directory: stateDirectory, name: name, environment: extra)
    }

    /// `millwright console` (the console and operator API without processors) on a free port.
    static func console(bootstrap: String, group: String, directory: String, environment: [String: String]) throws -> WorkerProcess {
        try WorkerProcess(
            arguments: ["console", "--bootstrap-servers", bootstrap, "--group", group, "--http-port", "0", "--log-level", "info"],
            directory: directory, name: "console", environment: environment)
    }

    /// `millwright <arguments>`, its output in `<directory>/<name>.log`.
    init(arguments: [String], directory: String, name: String, environment extra: [String: String]) throws {
        log = URL(fileURLWithPath: directory).appendingPathComponent("\(name).log")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)  // FileHandle below fails if it could not
        let handle = try FileHandle(forWritingTo: log)
        process.executableURL = Self.executable
        process.arguments = arguments
        // Started in its own folder, not the repository's: the binary carries its topic catalog.
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        // The worker refuses unknown MILLWRIGHT_* settings: pass on none of the test runner's.
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MILLWRIGHT_") }
        environment["MILLWRIGHT_IDLE_TIMEOUT"] = "3s"
        environment["MILLWRIGHT_SESSION_TIMEOUT"] = "6s"
        environment["MILLWRIGHT_PARKING_TIMEOUT"] = "10m"
        environment.merge(extra) { $1 }
        process.environment = environment
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    func kill() {
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM, then waits for the exit; a process still running after `timeout` is recorded as
    /// an issue (with its log) and killed, so that a shutdown that hangs fails the test instead
    /// of stalling the run.
    func terminate(timeout: Duration = .seconds(90)) {
        guard process.isRunning else { return }
        process.terminate()  // SIGTERM: finish the transaction, leave the group
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while process.isRunning && ContinuousClock.now < deadline { usleep(50_000) }
        if process.isRunning {
            Issue.record("\(process.arguments?.first ?? "") did not stop within \(timeout) of SIGTERM:\n\(output.suffix(3000))")
            kill()
        }
        process.waitUntilExit()
    }

    var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// The HTTP port the worker logged ("HTTP server listening … port=N"), once it has.
    var httpPort: Int? {
        for line in output.split(separator: "\n") where line.contains("HTTP server listening") {
            if let range = line.range(of: "port=") {
                return Int(line[range.upperBound...].prefix { $0.isNumber })
            }
        }
        return nil
    }

    /// GET `path` on the worker's HTTP server: status and body.
    func get(_ path: String, token: String? = nil) async throws -> (status: Int, body: String) {
        guard let port = httpPort else { throw WorkerProcessError("the worker has not logged its HTTP port:\n\(output.suffix(2000))") }
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }
}

struct WorkerProcessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The in-process cluster with the catalog's topics, and readers of what came out.
struct EndToEnd {
    let cluster: InProcessKafkaCluster
    /// The test's own group: its changelogs are created with the catalog's topics (a `millwright
    /// run` child cannot create them on this cluster, which would make them on first use with 4
    /// partitions).
    let group = TestKafka.uniqueName("e2e")
    let root = FileManager.default.temporaryDirectory.appendingPathComponent(TestKafka.uniqueName("e2e")).path
    static let catalog = Repository.topics

    init() throws {
        cluster = try TestKafka.cluster()
        let topics = try TopicCatalog.load(from: Self.catalog)
        for spec in topics.concreteTopics(groups: [group], plants: ["P100"]) {
            try cluster.createTopic(spec.name, partitions: spec.partitions, replicationFactor: spec.replicationFactor)
        }
    }

    /// The group's changelog of a processor (`release`, `confirmation`).
    func changelog(_ processor: String) -> String { ProcessorDefinition.changelogTopic(group: group, processor: processor) }

    var bootstrap: String { cluster.bootstrapServers }

    func worker(_ name: String, environment: [String: String] = [:]) throws -> WorkerProcess {
        try WorkerProcess(bootstrap: bootstrap, group: group, stateDirectory: "\(root)/\(name)", name: name, environment: environment)
    }

    func send(_ records: [OutputRecord]) async throws {
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger("feed"))
        for chunk in stride(from: 0, to: records.count, by: 500) {
            _ = try await producer.send(batch: records[chunk..<min(chunk + 500, records.count)].map(KafkaProducerMessage.init))
        }
        await producer.close()
    }

    /// Sends each record to the partition paired with it.
    func sendPartitioned(_ records: [(record: OutputRecord, partition: Int32)]) async throws {
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger("feed"))
        for chunk in stride(from: 0, to: records.count, by: 5_000) {
            _ = try await producer.send(
                batch: records[chunk..<min(chunk + 5_000, records.count)].map { entry in
                    var message = KafkaProducerMessage(entry.record)
                    message.partition = entry.partition
                    return message
                })
        }
        await producer.close()
    }

    /// Every record of these topics, read from the beginning.
    func read(_ topics: [String], partitions: Int32 = 12, settle: Duration = .seconds(2)) async throws -> [KafkaConsumerMessage] {
        var configuration = TestKafka.consumerConfiguration(cluster, group: nil)
        configuration.enablePartitionEOF = true
        let consumer = try KafkaConsumer(configuration: configuration, logger: TestKafka.logger("read"))
        var assignment: [KafkaTopicPartitionOffset] = []
        for topic in topics {
            let count = topic.hasPrefix("ops.") ? 3 : partitions
            for p in 0..<count { assignment.append(KafkaTopicPartitionOffset(topic: topic, partition: p, offset: KafkaOffset.beginning)) }
        }
        try consumer.assign(assignment)
        var messages: [KafkaConsumerMessage] = []
        var ended = Set<KafkaTopicPartition>()
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while ended.count < assignment.count && ContinuousClock.now < deadline {
            for event in try await consumer.pollBatch(timeout: .milliseconds(100)) {
                switch event {
                case .message(let m): messages.append(m)
                case .partitionEOF(let p): ended.insert(p.topicPartition)
                }
            }
        }
        try await consumer.close()
        return messages
    }

    /// Batch ids whose commit marker is in a changelog and that no abort note names: what a
    /// read_committed reader sees on a real broker (librdkafka 2.0.2's mock shows aborted
    /// transactions too; Docs/architecture.md).
    func committedBatches() async throws -> Set<String> {
        let log = try await read([changelog("release"), changelog("confirmation")])
        let aborted = Set(log.filter { $0.keyString == "\u{1F}abort" }.compactMap(\.valueString))
        return Set(log.filter { $0.keyString == "\u{1F}commit" }.compactMap(\.valueString)).subtracting(aborted)
    }

    /// Outputs of committed transactions only.
    func committed(_ messages: [KafkaConsumerMessage], batches: Set<String>) -> [KafkaConsumerMessage] {
        messages.filter { m in m.headers.last("mw-batch")?.stringValue.map(batches.contains) ?? true }
    }

    /// Polls `check` every 500 ms until it holds or `timeout` passes.
    func eventually(timeout: Duration = .seconds(60), _ check: () async throws -> Bool) async throws -> Bool {
        try await Self.poll(timeout: timeout, check)
    }

    /// Polls `check` every 500 ms until it holds or `timeout` passes.
    static func poll(timeout: Duration = .seconds(60), _ check: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if try await check() { return true }
            try await Task.sleep(for: .milliseconds(500))
        }
        return false
    }
}
