import ArgumentParser
import BenchmarkSupport
import Foundation
import Kafka
import Logging
import Manufacturing
import Ops
import OrderAPI
import ServiceLifecycle
import Streams
import Synchronization

/// The order API under load on loopback: a worker's HTTP server with the order API (master data
/// in the SQLite cache, loaded from the in-process cluster; accepted requests published to it,
/// each delivery awaited), driven by `wrk` (Debian's package) — first `GET /healthz` as the
/// baseline of the same server and machine, then `POST /api/v1/order-requests` with a new
/// Idempotency-Key and orderId per request, so every one is validated and published.
@main
struct OrderAPIBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "OrderAPIBenchmark", abstract: "Order submissions per second and latency with wrk on loopback, against GET /healthz.")

    @Option(help: "Seconds of each wrk run.") var duration: Int = 10
    @Option(help: "wrk connections.") var connections: Int = 32
    @Option(help: "wrk threads.") var threads: Int = 1
    @Option(help: "Brokers of the in-process cluster.") var brokers: Int = 3
    @Flag(help: "Accept without publishing (to see what the publish costs).") var noPublish = false
    @Flag(help: "Time the steps of a submission one by one in a loop instead.") var steps = false

    func run() async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let cluster = try InProcessKafkaCluster(brokers: brokers, logger: logger)
        for topic in MasterDataTopic.all { try cluster.createTopic(topic, partitions: 3, replicationFactor: brokers) }
        for topic in [Topics.orderRequest, Topics.crmOrderStatus, Topics.erpOrderStatus] {
            try cluster.createTopic(topic, partitions: 12, replicationFactor: brokers)
        }
        let client = KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers)
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client), logger: logger)
        _ = try await producer.send(batch: try SampleData().masterData().map { KafkaProducerMessage($0) })
        await producer.close()

        let directory = NSTemporaryDirectory() + "order-api-bench-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let masterData = try MasterDataCache(stateDirectory: directory, logger: logger)
        try await masterData.start(configuration: GlobalTableConfiguration(client: client))
        try await masterData.waitUntilCaughtUp(timeout: .seconds(60))
        defer { Task { await masterData.stop() } }

        if steps {
            try await Self.timeSteps(masterData: masterData)
            return
        }
        let token = "bench-" + UUID().uuidString.lowercased()
        var settings = OrderAPISettings()
        settings.tokens = [.init(name: "bench", token: token, scopes: Set(OrderAPISettings.Scope.allCases))]
        settings.rateLimit = 1_000_000
        settings.rateBurst = 1_000_000
        let publisher = try KafkaOrderRequestPublisher(client: client, logger: logger)
        let intake = OrderIntake(
            masterData: masterData, masterDataReady: { masterData.isCaughtUp }, publisher: noPublish ? Discard() : publisher, settings: settings,
            logger: logger)
        // The status of the catalog's example order, for the lookup run.
        let statuses = OrderStatusTable(client: nil, logger: logger)
        let status = CatalogFiles.embedded.contents("examples/crm.order-status.v1/valid-01-in-production-at-risk.json")
        try statuses.apply([StreamRecord(topic: Topics.crmOrderStatus, partition: 0, offset: 0, key: nil, value: status)], positions: [:])
        let routes = OrderAPIRoutes(settings: settings, intake: intake, statuses: statuses, logger: logger)
        let port = Mutex<Int?>(nil)
        let server = OpsHTTPServer(
            host: "127.0.0.1", port: 0, endpoints: OpsEndpoints(health: Ready(), metrics: nil, livenessTimeout: .seconds(60), orderAPI: routes),
            logger: logger
        ) { bound in port.withLock { $0 = bound } }
        let serving = Task { try await server.run() }
        while port.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(50)) }
        let base = "http://127.0.0.1:\(port.withLock { $0 }!)"
        print("in-process cluster: \(brokers) brokers; wrk -t\(threads) -c\(connections) -d\(duration)s on loopback, 2 cores shared with it")

        let baseline = try wrk(["\(base)/healthz"])
        let script = NSTemporaryDirectory() + "order-api-bench-\(UUID().uuidString.prefix(8)).lua"
        try Self.script(token: token).write(toFile: script, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: script) }
        let lookups = try wrk(["-H", "Authorization: Bearer \(token)", "\(base)/api/v1/orders/4500012345/status"])
        let submissions = try wrk(["-s", script, "\(base)/api/v1/order-requests"])
        let published = try await Self.messages(on: Topics.orderRequest, client: client, logger: logger)

        print("")
        print("| run | requests/s | p50 | p99 | requests | non-2xx | messages on crm.order-request.v1 | server CPU µs/request | wrk CPU µs/request |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        print(baseline.row("GET /healthz (baseline)", published: "—"))
        print(lookups.row("GET /api/v1/orders/{orderId}/status", published: "—"))
        print(submissions.row("POST /api/v1/order-requests\(noPublish ? " (not published)" : "")", published: "\(published)"))
        print("peak RSS \(BenchmarkSupport.peakRSSMegabytes().map { "\($0) MB" } ?? "?") (cluster, server and cache in one process)")
        serving.cancel()
        await publisher.close()
        if submissions.non2xx > 0 || lookups.non2xx > 0 || (published < submissions.requests && !noPublish) {
            throw BenchmarkError("\(submissions.non2xx) answers were not 201, or fewer messages (\(published)) than requests (\(submissions.requests))")
        }
    }

    /// wrk's figures of one run.
    struct Figures {
        var rate = 0.0
        var p50 = ""
        var p99 = ""
        var requests = 0
        var non2xx = 0
        /// CPU time of this process (server, cluster, cache) and of wrk per request, in µs (wrk's
        /// self-reported user and system time of the run).
        var serverMicros = 0.0
        var wrkMicros = 0.0

        func row(_ name: String, published: String) -> String {
            "| \(name) | \(Int(rate)) | \(p50) | \(p99) | \(requests) | \(non2xx) | \(published) | \(Int(serverMicros)) | \(Int(wrkMicros)) |"
        }
    }

    func wrk(_ arguments: [String]) throws -> Figures {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["wrk", "-t\(threads)", "-c\(connections)", "-d\(duration)s", "--latency"] + arguments
        let output = Pipe()
        process.standardOutput = output
        let cpuBefore = BenchmarkSupport.cpuSeconds() ?? 0
        let childrenBefore = Self.childrenCPUSeconds()
        do { try process.run() } catch { throw BenchmarkError("wrk did not start (apt-get install wrk): \(error)") }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let serverCPU = (BenchmarkSupport.cpuSeconds() ?? 0) - cpuBefore
        let wrkCPU = Self.childrenCPUSeconds() - childrenBefore
        guard process.terminationStatus == 0 else { throw BenchmarkError("wrk failed:\n\(text)") }
        var figures = Figures()
        for line in text.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            if line.hasPrefix("Requests/sec:"), let value = words.last.flatMap({ Double($0) }) { figures.rate = value }
            if line.hasPrefix("50%"), let value = words.last { figures.p50 = String(value) }
            if line.hasPrefix("99%"), let value = words.last { figures.p99 = String(value) }
            if line.contains("requests in"), let value = words.first.flatMap({ Int($0) }) { figures.requests = value }
            if line.hasPrefix("Non-2xx or 3xx responses:"), let value = words.last.flatMap({ Int($0) }) { figures.non2xx = value }
        }
        if figures.requests > 0 {
            figures.serverMicros = serverCPU / Double(figures.requests) * 1e6
            figures.wrkMicros = wrkCPU / Double(figures.requests) * 1e6
        }
        return figures
    }

    /// CPU seconds of the child processes that ended and were waited for (wrk).
    static func childrenCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_CHILDREN.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    /// A new Idempotency-Key and orderId per request (per wrk thread and counter).
    static func script(token: String) -> String {
        """
        local thread_id = 0
        local counter = 0
        local threads = {}
        function setup(thread)
          thread:set("id", #threads + 1)
          table.insert(threads, thread)
        end
        function init(args)
          thread_id = id
        end
        request = function()
          counter = counter + 1
          local key = string.format("bench-%d-%d", thread_id, counter)
          local body = string.format('{"orderId":"B%d-%d","orderLine":10,"customerId":"C-10077","customerName":"Hofmann Antriebstechnik GmbH","itemId":"GB-200","quantity":12,"uom":"BOX","plant":"P100","bomRevision":"B","dueDate":"2026-12-11T15:00:00.000Z","priority":"NORMAL"}', thread_id, counter)
          return wrk.format("POST", nil, {["Authorization"] = "Bearer \(token)", ["Content-Type"] = "application/json", ["Idempotency-Key"] = key}, body)
        end
        """
    }

    /// Records on the topic: the sum of its partitions' high watermarks (it starts empty).
    static func messages(on topic: String, client: KafkaClientConfiguration, logger: Logger) async throws -> Int {
        let admin = try KafkaAdminClient(configuration: client, logger: logger)
        var total = 0
        for partition in 0..<Int32(12) {
            total += Int(try await admin.watermarks(KafkaTopicPartition(topic: topic, partition: partition)).high)
        }
        return total
    }
}

/// A health that is always ready: the server's probes are the baseline's route.
struct Ready: HealthSource {
    func healthSnapshot() -> HealthSnapshot {
        HealthSnapshot(masterData: .init(started: true, caughtUp: true, failure: nil, progress: []), workers: [])
    }
}

/// Publishes nothing (`--no-publish`).
struct Discard: OrderRequestPublisher {
    func publish(_ record: OutputRecord) async throws {}
}

extension OrderAPIBenchmark {
    /// Each step of a submission on its own, in a loop on one thread: µs per request.
    static func timeSteps(masterData: some MasterDataLookup) async throws {
        let body = Array(
            #"{"orderId":"B1-1","orderLine":10,"customerId":"C-10077","customerName":"Hofmann Antriebstechnik GmbH","itemId":"GB-200","quantity":12,"uom":"BOX","plant":"P100","bomRevision":"B","dueDate":"2026-12-11T15:00:00.000Z","priority":"NORMAL"}"#
                .utf8)
        let n = 20_000
        func time(_ name: String, _ step: () throws -> Void) rethrows {
            let start = ContinuousClock.now
            for _ in 0..<n { try step() }
            let elapsed = ContinuousClock.now - start
            print("\(name): \(String(format: "%.1f", elapsed.seconds * 1e6 / Double(n))) µs")
        }
        guard case .valid(let request) = OrderRequest.validate(body: body) else { throw BenchmarkError("the body is not valid") }
        time("validate the body (parse, every rule) and write it normalised") {
            guard case .valid(let r) = OrderRequest.validate(body: body) else { return }
            _ = JSONWriter.bytes(r.json)
        }
        let normalised = Data(JSONWriter.bytes(request.json))
        try time("Foundation JSONDecoder into the generated type") { _ = try JSONDecoder().decode(Components.Schemas.OrderRequest.self, from: normalised) }
        let accepted = Components.Schemas.OrderRequestAccepted(
            correlationId: "req-1", orderId: "B1-1", status: .accepted,
            request: try JSONDecoder().decode(Components.Schemas.OrderRequest.self, from: normalised))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try time("Foundation JSONEncoder of the 201 body") { _ = try encoder.encode(accepted) }
        time("master-data checks (five lookups)") { _ = OrderRequestCheck.problems(request, against: masterData) }
        time("the event: envelope, UUID, bytes") {
            let id = UUID().uuidString.lowercased()
            let envelope = Envelope(
                eventId: id, correlationId: "req-\(id)", occurredAt: Timestamp(milliseconds: 0), source: EventSource(system: "CRM"), data: request)
            _ = envelope.outputRecord(topic: Topics.orderRequest, key: request.orderId, causationId: id)
        }
    }
}
