import ArgumentParser
import BenchmarkSupport
import CKafkaBench
import Foundation
import Kafka
import Logging
import Manufacturing
import Ops
import Streams
import Synchronization
import TestSupport

#if canImport(CoreFoundation)
    import CoreFoundation  // timespec: which module declares it depends on the graph (OpenAPIRuntime brings this one)
#endif

/// The confirmation path end to end with exactly-once on: one `millwright run` worker (a child
/// process) on the in-process cluster, input pre-loaded; its throughput against the Kafka layer's
/// raw consume rate of the same input in the same run; then latency from input append to
/// committed posting at a steady rate; and the worker's peak RSS.
@main
struct StreamsBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "StreamsBenchmark")

    @Option(
        help:
            "The input's shape: classic (2,000 work orders, 80,000 events in order) or output-heavy (issue 20: 5,000 work orders, 100,000 completions over 2 h, ±1 s jitter)."
    )
    var shape: Shape = .classic
    @Option(help: "MES events pre-loaded for the throughput run (default: the shape's; the mock keeps ~5 MB per partition).") var events: Int?
    @Option(help: "Work orders they belong to, all released before the first event (default: the shape's).") var workOrders: Int?
    @Option(help: "Minutes of event time the events span (default: the shape's, 60 or 120).") var span: Int?
    @Option(help: "Each event's time moved by up to ± this many ms, from a fixed seed (default: the shape's, 0 or 1000).") var jitter: Int?
    @Option(help: "Events per second for the latency run.") var rate: Int = 5_000
    @Option(help: "Seconds of the latency run.") var seconds: Int = 6
    @Option(help: "The millwright executable.") var millwright: String = ".build/release/millwright"
    @Option(help: "A topic catalog folder instead of the built-in one.") var catalog: String?
    @Option(help: "The worker's loop threads per processor (streamThreads; default: the worker's own, the machine's cores up to 4).")
    var streamThreads: Int = StreamsConfiguration.defaultStreamThreads
    @Option(help: "The worker's log level (its log goes to this process's standard error).") var workerLogLevel: String = "error"
    @Flag(
        help:
            "Print the committed input count every 20 ms of the throughput run (its shape: steady rate, tail), and the window's CLOCK_MONOTONIC ends (for `perf record -k CLOCK_MONOTONIC`, `perf report --time`)."
    ) var timeline = false

    @Option(help: "The worker's HTTP server and Prometheus metrics: on (a free port) or off (--no-http), to measure their cost.")
    var metrics: String = "on"
    @Flag(
        help:
            "Also measure the floor of an exactly-once job on this machine: a plain C consume-transform-produce loop over librdkafka (no processing), on the same input, before the worker starts."
    ) var cFloor = false
    @Option(help: "C floor: output records per input record (the output-heavy shape writes ~1.20).") var floorOutputsPerInput: Double = 1.20
    @Option(help: "C floor: bytes per output value (the output-heavy shape's mean: ~520).") var floorOutputSize: Int = 520
    @Option(help: "C floor: headers per output, 40 bytes each (the worker's outputs carry 6).") var floorHeaders: Int = 6
    @Flag(help: "Only the confirmation processor's own cost: the same input through the test driver, no broker.") var processorOnly = false
    @Option(help: "Processor-only: records between flushes (the runtime flushes once per commit).") var flushEvery: Int = 5_000
    @Flag(help: "Processor-only: the processor repartitioned, one partition owning every key (the direct path's cost: a murmur2 per event).")
    var routed = false

    /// The run's input: the shape with the options given.
    var inputShape: ShapeInput {
        ShapeInput(
            shape: shape, events: events ?? shape.defaultEvents, workOrders: workOrders ?? shape.defaultWorkOrders,
            spanMinutes: span ?? shape.defaultSpanMinutes, jitterMilliseconds: jitter ?? shape.defaultJitterMilliseconds)
    }

    func run() async throws {
        print(inputShape.description)
        if processorOnly { return try processorCost() }
        var logger = Logger(label: "bench")
        logger.logLevel = ProcessInfo.processInfo.environment["KAFKA_MOCK_DEBUG"] == nil ? .error : .debug
        let cluster = try InProcessKafkaCluster(brokers: 3, logger: logger)
        let bootstrap = cluster.bootstrapServers
        let group = "bench"
        // The worker's group's own changelogs too: created before it starts, with the inputs' partitions.
        for spec in try TopicCatalog.load(CatalogFiles.from(folder: catalog)).concreteTopics(groups: [group], plants: ["P100"]) {
            try cluster.createTopic(spec.name, partitions: spec.partitions, replicationFactor: spec.replicationFactor)
        }
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: [bootstrap]), logger: logger)
        let probes = rate * seconds
        // The work orders the throughput events belong to. The latency probes' own work orders
        // (one each: each probe completes its own) are sent after the throughput window: they are
        // not part of that job, and loading them inside its window made it measure a table load
        // fifteen times the job's own.
        let table = inputShape.table()
        let probeTable = (0..<probes).map { Self.workOrder("WO-P\($0)-1", ordered: 1, releasedAt: Int64(Date().timeIntervalSince1970 * 1000)) }
        try await send(table, producer)
        let input = inputShape.input()
        try await send(input, producer)
        print(
            "pre-loaded \(table.count) work orders and \(input.count) MES events (\(input.reduce(0) { $0 + ($1.value?.count ?? 0) } / input.count) B each) on \(bootstrap)"
        )

        let raw = try rawConsumeRate(bootstrap, count: input.count, logger: logger)
        print(
            String(
                format: "Kafka layer raw consume (batch poll, 24 partitions): %.0f events/s; CPU %.1f µs/event (cluster + consumer)", raw.rate,
                raw.cpuMicroseconds))

        if cFloor { try exactlyOnceFloor(bootstrap, count: input.count) }

        let state = FileManager.default.temporaryDirectory.appendingPathComponent("mw-bench-\(UUID().uuidString.prefix(8))").path
        let worker = Process()
        worker.executableURL = URL(fileURLWithPath: millwright)
        guard ["on", "off"].contains(metrics) else { throw BenchmarkError("--metrics: on or off (got '\(metrics)')") }
        worker.arguments =
            [
                "run", "--bootstrap-servers", bootstrap, "--group", group, "--state-dir", state, "--log-level", workerLogLevel,
            ] + (metrics == "on" ? ["--http-port", "0"] : ["--no-http"])
        print("worker's metrics: \(metrics)")
        var environment = ProcessInfo.processInfo.environment
        environment["MILLWRIGHT_IDLE_TIMEOUT"] = "600s"
        environment["MILLWRIGHT_STREAM_THREADS"] = "\(streamThreads)"
        // The in-process cluster answers a fetch that finds nothing only after fetch.wait.max.ms
        // (the worker's default: 100 ms), even when records arrive meanwhile; a real broker answers
        // as soon as they come. So that this trait does not add up to 100 ms to the latency, the
        // worker here waits at most 10 ms (unless the environment says otherwise). The throughput
        // run is not affected: its input is fetched before the first transaction.
        if environment["MILLWRIGHT_KAFKA_FETCH_WAIT_MAX_MS"] == nil { environment["MILLWRIGHT_KAFKA_FETCH_WAIT_MAX_MS"] = "10" }
        print("worker's fetch.wait.max.ms: \(environment["MILLWRIGHT_KAFKA_FETCH_WAIT_MAX_MS"]!) (the in-process cluster holds an empty fetch that long)")
        worker.environment = environment
        // KAFKA_MOCK_DEBUG (librdkafka debug contexts, `mock`): the cluster's own log for the
        // worker's first 8 s, its groups forming (every request is logged: not for longer).
        if ProcessInfo.processInfo.environment["KAFKA_MOCK_DEBUG"] != nil {
            cluster.setDebugLogging(true)
            Task {
                try? await Task.sleep(for: .seconds(8))
                cluster.setDebugLogging(false)
            }
        }
        try worker.run()
        defer { if worker.isRunning { kill(worker.processIdentifier, SIGKILL) } }

        // Committed input is read from the worker's changelog (read_committed): each transaction
        // carries its tasks' input positions, so this is what committed, with its outputs. The
        // group's offsets, committed after each transaction, lag it when a rebalance refuses
        // them, and records processed before that then counted at the speed of their re-reading.
        let progress = try CommittedProgress(
            bootstrap: bootstrap, changelog: ProcessorDefinition.changelogTopic(group: group, processor: "confirmation"), logger: logger)
        defer { progress.stop() }
        let events: Set<String> = [Topics.operationCompleted, Topics.scrapReported]
        // The worker reads the work-order table and the events at once (each task's events wait
        // for its own table partition only): the window from the first committed event includes
        // part of the table load. The window after the table is committed is the events alone.
        var first: (ContinuousClock.Instant, Int64, CPU)?
        var tableLoaded: (ContinuousClock.Instant, Int64, CPU)?
        var last: (ContinuousClock.Instant, CPU)?
        var tableAtFirst: Int64 = 0
        let deadline = ContinuousClock.now.advanced(by: .seconds(300))
        while ContinuousClock.now < deadline {
            let committed = progress.committed(of: events)
            let tableCommitted = progress.committed(of: [Topics.workOrders])
            if timeline, committed > 0 {
                print(
                    "timeline: \(Int((first.map { ContinuousClock.now - $0.0 } ?? .zero).seconds * 1000)) ms \(committed) (monotonic \(Self.monotonicSeconds()))"
                )
            }
            if committed > 0 && first == nil {
                first = (.now, committed, CPU(worker: worker.processIdentifier))
                tableAtFirst = tableCommitted
            }
            if tableCommitted >= Int64(table.count) && tableLoaded == nil && committed < Int64(input.count) {
                tableLoaded = (.now, committed, CPU(worker: worker.processIdentifier))
            }
            if committed >= Int64(input.count) {
                last = (.now, CPU(worker: worker.processIdentifier))
                break
            }
            guard worker.isRunning else {
                throw BenchmarkError(
                    "the worker exited (status \(worker.terminationStatus)) after committing \(committed) of \(input.count) events; its log is above")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        guard let (start, already, startCPU) = first, let (end, endCPU) = last else {
            throw BenchmarkError("the worker did not commit all \(input.count) events within 300 s")
        }
        let throughputPeak = BenchmarkSupport.peakRSSMegabytes(pid: worker.processIdentifier)
        let counted = Double(Int64(input.count) - already)
        let throughput = counted / (end - start).seconds
        print(
            String(
                format: "worker, exactly-once, committed input: %.0f events/s (%.1f%% of the raw consume rate), %d loop thread(s) per processor", throughput,
                throughput / raw.rate * 100, streamThreads))
        print(endCPU.report(since: startCPU, events: counted, seconds: (end - start).seconds, cluster: "cluster + benchmark"))
        print("  at the first committed event \(tableAtFirst) of \(table.count) work orders were committed: the rest of the table load is in this window")
        if let (loaded, before, loadedCPU) = tableLoaded, Int64(input.count) - before >= Int64(input.count / 4) {
            let events = Double(Int64(input.count) - before)
            print(String(format: "  after the table load (%.0f events): %.0f events/s", events, events / (end - loaded).seconds))
            print(endCPU.report(since: loadedCPU, events: events, seconds: (end - loaded).seconds, cluster: "cluster + benchmark"))
        } else {
            print("  after the table load: too few events left to measure (under a quarter of the input)")
        }

        // What the throughput run's committed transactions wrote, per input event.
        let outputs = try await OutputCounter.count(bootstrap: bootstrap, logger: logger)
        print(OutputCount(outputs, inputs: input.count).report)

        // The probes' work orders, committed to the worker's table before the first probe.
        try await send(probeTable, producer)
        let tableEnd = Int64(table.count + probeTable.count)
        let probeDeadline = ContinuousClock.now.advanced(by: .seconds(120))
        while true {
            if progress.committed(of: [Topics.workOrders]) >= tableEnd { break }
            guard ContinuousClock.now < probeDeadline else { throw BenchmarkError("the worker did not load the probes' work orders within 120 s") }
            try await Task.sleep(for: .milliseconds(20))
        }

        // Latency: probes at a steady rate; each completes its work order, so a MILESTONE is
        // committed at once. A read_committed reader polls the postings while the probes go out:
        // latency = when the posting reached it - the probe's append time (so it includes the
        // commit and the reader's own fetch). The posting's timestamp (the worker's clock when it
        // processed the probe) gives the part before the commit.
        var sentAt: [String: Int64] = [:]
        let reader = try CommittedReader(bootstrap: bootstrap, topic: Topics.productionConfirmation, logger: logger)
        // The reader first reads what the throughput run posted: probes sent meanwhile would
        // count its start-up as latency.
        try await reader.waitUntilCaughtUp(timeout: .seconds(60))
        let interval = 1.0 / Double(rate)
        let began = Date()
        for p in 0..<probes {
            let due = began.addingTimeInterval(Double(p) * interval)
            let wait = due.timeIntervalSinceNow
            if wait > 0 { try await Task.sleep(for: .milliseconds(Int64(wait * 1000))) }
            let id = "WO-P\(p)-1"
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            sentAt[id] = now
            try producer.send(KafkaProducerMessage(Self.completion(id, good: 1, at: now - 3_600_000, eventId: "probe-\(p)", timestamp: now)))
        }
        try await producer.flush(timeout: .seconds(30))
        let arrivals = try await reader.waitFor(keys: Set(sentAt.keys), timeout: .seconds(60))
        var committed: [Int64] = []
        var processed: [Int64] = []
        for (key, arrival) in arrivals {
            guard let sent = sentAt[key] else { continue }
            committed.append(arrival.received - sent)
            processed.append(arrival.timestamp - sent)
        }
        func percentile(_ values: [Int64], _ p: Double) -> Int64 {
            let sorted = values.sorted()
            return sorted.isEmpty ? -1 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
        }
        print(
            "latency at \(rate) events/s for \(seconds) s: \(committed.count) of \(probes) probes posted; to a read_committed reader p50 \(percentile(committed, 0.5)) ms, p99 \(percentile(committed, 0.99)) ms, max \(committed.max() ?? -1) ms; to processing (the posting's timestamp) p50 \(percentile(processed, 0.5)) ms, p99 \(percentile(processed, 0.99)) ms"
        )

        let rss = BenchmarkSupport.peakRSSMegabytes(pid: worker.processIdentifier).map(String.init) ?? "n/a"
        // The latency run adds one work order per probe to the worker's state: the whole run's
        // peak includes them, the throughput run's does not.
        print(
            "worker peak RSS: \(rss) MB over the whole run (\(table.count + probeTable.count) work orders in its state); \(throughputPeak.map(String.init) ?? "n/a") MB by the end of the throughput run (\(table.count) work orders)"
        )
        worker.terminate()
        worker.waitUntilExit()
        print("worker exit status on SIGTERM: \(worker.terminationStatus)")
        await producer.close()
        withExtendedLifetime(cluster) {}
    }

    /// The processor alone, rounds of the throughput input through the test driver (manual clock,
    /// flush every `flushEvery` records): its events/s is the ceiling the worker loop can reach.
    func processorCost() throws {
        let table = inputShape.table()
        let input = inputShape.input()
        func records(_ outputs: [OutputRecord]) -> [StreamRecord] {
            var next: [String: Int64] = [:]
            return outputs.map { o in
                defer { next[o.topic, default: 0] += 1 }
                return StreamRecord(
                    topic: o.topic, partition: 0, offset: next[o.topic, default: 0], key: o.key, value: o.value, headers: o.headers, timestamp: o.timestamp ?? 0
                )
            }
        }
        let tableRecords = records(table)
        let inputRecords = records(input)
        var rates: [Double] = []
        var cpu: [Double] = []  // µs of this thread's CPU per event
        var outputs = 0
        for round in 1...5 {
            let driver = ProcessorTestDriver(
                processor: ConfirmationProcessor(), wallClock: Int64(Date().timeIntervalSince1970 * 1000), idleTimeout: 600_000,
                routing: routed ? KeyRouting(topic: "bench.repartition", partitions: 1) : nil)
            for record in tableRecords { try driver.pipe(record, flush: false) }
            try driver.flush()
            _ = driver.drainOutputs()
            let start = ContinuousClock.now
            let cpuStart = BenchmarkSupport.threadCPUSeconds()
            for (i, record) in inputRecords.enumerated() {
                try driver.pipe(record, flush: (i + 1) % flushEvery == 0)
            }
            try driver.flush()
            let seconds = (ContinuousClock.now - start).seconds
            cpu.append((BenchmarkSupport.threadCPUSeconds() - cpuStart) / Double(inputRecords.count) * 1e6)
            let drained = driver.drainOutputs()
            outputs = drained.count
            rates.append(Double(inputRecords.count) / seconds)
            if round == 1 {
                print(OutputCount(drained.map(\.topic), inputs: inputRecords.count).report)
                print(OutputSizes(drained).report)
            }
            print(String(format: "round %d: %.0f events/s, %.2f µs of CPU per event (%d outputs)", round, rates.last!, cpu.last!, outputs))
        }
        print(
            String(
                format: "confirmation processor alone, median of 5: %.0f events/s, %.2f µs of CPU per event; peak RSS %@ MB", rates.sorted()[2],
                cpu.sorted()[2],
                BenchmarkSupport.peakRSSMegabytes(pid: getpid()).map(String.init) ?? "n/a"))
    }

    func send(_ records: [OutputRecord], _ producer: KafkaProducer) async throws {
        for record in records { try producer.send(KafkaProducerMessage(record)) }
        try await producer.flush(timeout: .seconds(120))
    }

    /// CPU time used so far by the worker, by this process (the in-process cluster and the
    /// benchmark's own polling) and by the whole machine, in seconds.
    struct CPU {
        var worker: Double
        var cluster: Double
        var machine: Double

        init(worker pid: Int32?) {
            worker = pid.flatMap { BenchmarkSupport.cpuSeconds(pid: $0) } ?? 0
            cluster = BenchmarkSupport.cpuSeconds() ?? 0
            machine = BenchmarkSupport.machineBusySeconds() ?? 0
        }

        /// CPU per event in a window, and the rate the machine's cores would carry at that cost.
        func report(since start: CPU, events: Double, seconds: Double, cluster label: String) -> String {
            let worker = (self.worker - start.worker) / events * 1e6
            let cluster = (self.cluster - start.cluster) / events * 1e6
            let cores = ProcessInfo.processInfo.activeProcessorCount
            let busy = (machine - start.machine) / seconds
            return String(
                format:
                    "  CPU per event: worker %.1f µs, %@ %.1f µs, together %.1f µs; machine busy %.2f of %d cores; at this cost %d cores carry at most %.0f events/s",
                worker, label, cluster, worker + cluster, busy, cores, cores, Double(cores) * 1e6 / (worker + cluster))
        }
    }

    func rawConsumeRate(_ bootstrap: String, count: Int, logger: Logger) throws -> (rate: Double, cpuMicroseconds: Double) {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: [bootstrap])
        configuration.maxPrefetchedMessages = 1_000_000
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        try consumer.assign(
            [Topics.operationCompleted, Topics.scrapReported].flatMap { t in
                (0..<12).map { KafkaTopicPartitionOffset(topic: t, partition: Int32($0), offset: KafkaOffset.beginning) }
            })
        var seen = 0
        var start: (ContinuousClock.Instant, CPU)?
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while seen < count {
            guard ContinuousClock.now < deadline else {
                throw BenchmarkError(
                    "raw consume read \(seen) of \(count) events within 60 s: the cluster kept less than was pre-loaded (about 5 MB per partition); use fewer --events"
                )
            }
            for event in try consumer.pollBatch(maxMessages: 10_000, timeout: .milliseconds(100)) {
                if case .message = event {
                    if start == nil { start = (.now, CPU(worker: nil)) }
                    seen += 1
                }
            }
        }
        let end = (ContinuousClock.now, CPU(worker: nil))
        try consumer.close()
        return (Double(count) / (end.0 - start!.0).seconds, (end.1.cluster - start!.1.cluster) / Double(count) * 1e6)
    }

    /// The plain C exactly-once loop on the same input (`--c-floor`): what librdkafka and the
    /// in-process cluster take on their own for this many inputs and outputs on these cores.
    func exactlyOnceFloor(_ bootstrap: String, count: Int) throws {
        let inputs = [Topics.operationCompleted, Topics.scrapReported]
        let threads = Int32(streamThreads)
        let start = CPU(worker: nil)
        var produced: Int64 = 0
        let seconds = withArrayOfCStrings(inputs) { names in
            mwbench_c_eos_pipeline(
                bootstrap, names, Int32(inputs.count), 12, Int64(count), threads, floorOutputsPerInput, Int32(floorOutputSize),
                Int32(floorHeaders), 10_000, "bench-c-floor-output", &produced)
        }
        guard seconds > 0 else { throw BenchmarkError("the C exactly-once floor failed (its error is above)") }
        let end = CPU(worker: nil)
        print(
            String(
                format:
                    "C exactly-once floor (%d thread(s), no processing, %.2f outputs of %d B + %d headers per input, 10,000 inputs or 100 ms a transaction): %.0f events/s, %lld outputs; CPU %.1f µs/event (cluster + C loop); machine busy %.2f of %d cores",
                threads, floorOutputsPerInput, floorOutputSize, floorHeaders, Double(count) / seconds, produced,
                (end.cluster - start.cluster) / Double(count) * 1e6, (end.machine - start.machine) / seconds,
                ProcessInfo.processInfo.activeProcessorCount))
    }

    /// C strings for `strings`, alive for the duration of `body`.
    func withArrayOfCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
        let pointers = strings.map { UnsafePointer(strdup($0)) }
        defer { for pointer in pointers { free(UnsafeMutablePointer(mutating: pointer)) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    /// CLOCK_MONOTONIC in seconds, as `perf report --time` takes it.
    static func monotonicSeconds() -> String {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return String(format: "%d.%06d", now.tv_sec, now.tv_nsec / 1000)
    }
}
