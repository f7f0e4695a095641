import Foundation
import Kafka
import Logging
import Manufacturing
import Ops
import Streams
import Synchronization
import TestSupport

/// One chaos run: the in-process cluster with the catalog's topics, worker processes of one group,
/// the plant simulation's input (plus fuzzed records) sent while workers are killed and restarted,
/// a fourth joins and leaves, brokers go down and come back, requests fail and slow down; then
/// every output is read (`read_committed`, and the committed-batch rule the in-process cluster
/// needs) and checked against what the simulation says a worker must make of its input.
public final class ChaosRun {
    let profile: ChaosProfile
    let millwright: URL
    let logger: Logger
    let say: @Sendable (String) -> Void

    public init(profile: ChaosProfile, millwright: URL, logger: Logger, say: @escaping @Sendable (String) -> Void) {
        self.profile = profile
        self.millwright = millwright
        self.logger = logger
        self.say = say
    }

    /// Where a produced record went: topic, partition, offset.
    struct Origin: Hashable {
        var topic: String
        var partition: Int32
        var offset: Int64
    }

    /// The records whose fate is checked one by one, by where they went.
    final class Fates: Sendable {
        let entries = Mutex<[Origin: (fate: Fate, bytes: [UInt8])]>([:])
        /// Every record fed, for the details of the findings.
        let sent = Mutex<[Origin: Sent]>([:])
    }

    /// Records whose fate is checked one by one: poison (dead letter, bytes unchanged), events of
    /// work orders never released (UNKNOWN_WORK_ORDER quarantine), fuzz (one or the other).
    enum Fate: Hashable {
        case deadLetter
        case unknownWorkOrder
        case either
    }

    public func run() async throws -> ChaosReport {
        let began = ContinuousClock.now
        var report = ChaosReport(profile: profile)
        let catalog = try TopicCatalog.embedded()
        let group = "chaos-\(profile.seed)-\(UUID().uuidString.prefix(6).lowercased())"
        let (cluster, _) = try EmbeddedCluster.start(catalog: catalog, brokers: 3, plants: ["P100", "P200"], groups: [group], logger: logger)
        let client = KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers)
        let root = FileManager.default.temporaryDirectory.appendingPathComponent(group)
        say("chaos run \(group): cluster \(cluster.bootstrapServers), logs and state in \(root.path)")

        // The workload, and what must come of it.
        var settings = PlantSimulation.Settings(seed: profile.seed, start: Int64(Date().timeIntervalSince1970 * 1000) - 72 * 3_600_000)
        settings.orderLimit = profile.orders
        settings.unknownWorkOrderShare = 0.01
        var simulation = PlantSimulation(settings: settings)
        let masterData = simulation.masterData()
        let events = simulation.drain()
        let expected = simulation.expected
        let fuzz = Fuzz.records(count: profile.fuzz, seed: profile.seed, at: Int64(Date().timeIntervalSince1970 * 1000))
        report.orders = expected.orders
        report.mesEvents = expected.mesEvents
        report.fuzzed = fuzz.count
        say("workload: \(expected.orders) orders, \(expected.mesEvents) MES events, \(expected.poison.values.reduce(0, +)) poison, \(fuzz.count) fuzzed")

        let collector = try await OutputCollector(
            cluster: cluster,
            topics: [
                "mes.P100.production-release.v1", "mes.P200.production-release.v1", Topics.productionConfirmation, Topics.quarantine,
                DeadLetter.topic, ProcessorDefinition.changelogTopic(group: group, processor: "release"),
                ProcessorDefinition.changelogTopic(group: group, processor: "confirmation"),
            ])
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client), logger: logger)
        _ = try await producer.send(batch: masterData.map(KafkaProducerMessage.init))

        // A session longer than a broker outage (5–8 s): the in-process cluster does not fence, so
        // a member dropped from the group while it is alive would commit beside its successor
        // (a real broker refuses its TxnOffsetCommit). Events wait 90 s for a release delayed by
        // the faults before they are quarantined as UNKNOWN_WORK_ORDER.
        let environment = [
            "MILLWRIGHT_IDLE_TIMEOUT": "3s", "MILLWRIGHT_SESSION_TIMEOUT": "15s", "MILLWRIGHT_PARKING_TIMEOUT": "90s",
            "MILLWRIGHT_STREAM_THREADS": "1", "MILLWRIGHT_HTTP_CONSOLE": "false",
        ]
        let workers = (0...profile.workers).map {
            ChaosWorker(
                name: "worker-\($0 + 1)", executable: millwright, bootstrap: cluster.bootstrapServers, group: group, root: root, environment: environment,
                logLevel: profile.workerLogLevel)
        }
        for worker in workers.prefix(profile.workers) { try worker.start() }

        // Resident memory per worker every 10 s (nil while a worker is down), also to memory.csv.
        let samples = Mutex<[String: [Int?]]>([:])
        let memoryFile = root.appendingPathComponent("memory.csv")
        let sampler: Task<Void, Never>? =
            profile.sampleMemory
            ? Task {
                var lines = ["seconds," + workers.map(\.name).joined(separator: ",")]
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(10))
                    let now = workers.map(\.residentMB)
                    samples.withLock { for (worker, mb) in zip(workers, now) { $0[worker.name, default: []].append(mb) } }
                    lines.append("\(Int((ContinuousClock.now - began).components.seconds))," + now.map { $0.map(String.init) ?? "" }.joined(separator: ","))
                    try? (lines.joined(separator: "\n") + "\n").write(to: memoryFile, atomically: true, encoding: .utf8)
                }
            } : nil
        defer { sampler?.cancel() }

        // Input and faults at once.
        let fates = Fates()
        let (feedSeconds, seed) = (profile.feedSeconds, profile.seed)
        let fuzzRecords = fuzz.map(\.record)
        // A plant's gateways: some produce MES events with librdkafka's default partitioner
        // (consistent_random, CRC32), some without a key; the workers repartition them.
        var crcConfiguration = KafkaProducerConfiguration(client: client)
        crcConfiguration.partitioner = .consistentRandom
        let crcProducer = try KafkaProducer(configuration: crcConfiguration, logger: logger)
        let feed = Self.startFeed(
            events: events, fuzz: fuzzRecords, producers: FeedProducers(murmur2: producer, consistentRandom: crcProducer), seconds: feedSeconds, seed: seed,
            fates: fates)
        let faults = try await injectFaults(cluster: cluster, workers: workers, report: &report)
        let mix = try await feed.value
        (report.consistentRandom, report.keyless) = (mix.consistentRandom, mix.keyless)
        await producer.close()
        await crcProducer.close()
        // Everyone back for the end: the extra worker leaves, the others run.
        await workers[profile.workers].stop()
        for worker in workers.prefix(profile.workers) where !worker.isRunning { try worker.start() }
        for id in Int32(1)...3 {
            try? cluster.bringBrokerUp(id)
            try? cluster.setRoundTripTime(broker: id, .zero)
        }
        for api in Self.faultedAPIs { cluster.clearRequestErrors(api.api) }
        report.faultSeconds = faults

        // The outputs, until they are complete or the time is up.
        let deadline = ContinuousClock.now.advanced(by: .seconds(profile.settleSeconds))
        var findings = ChaosFindings()
        let lives = ChaosDetails.lives(of: workers)
        let sent = fates.sent.withLock { $0 }
        let detailsFile = root.appendingPathComponent("findings.txt")
        repeat {
            try await Task.sleep(for: .seconds(5))
            let messages = collector.snapshot
            findings = Self.check(messages: messages, group: group, expected: expected, fates: fates.entries.withLock { $0 }, sent: sent)
            say("checking: \(findings.summary)")
            // The evidence, at every check: a run stopped in the settle phase leaves it behind.
            let details = ChaosDetails(
                group: group, messages: messages, sent: sent, lives: lives, committed: findings.committedBatches, aborted: findings.abortedBatches)
            try? details.text(findings, expected: expected).write(to: detailsFile, atomically: true, encoding: .utf8)
        } while !findings.complete && ContinuousClock.now < deadline
        report.details = detailsFile.path
        report.findings = findings
        await collector.stop()
        sampler?.cancel()
        report.memorySamples = samples.withLock { $0 }
        report.memoryFile = profile.sampleMemory ? memoryFile.path : nil
        report.tasksOpened = workers.map { $0.logTail(500_000_000).components(separatedBy: "task restored").count - 1 }.reduce(0, +)
        for worker in workers.prefix(profile.workers) {
            let status = await worker.stop()
            if status != 0 {
                report.problems.append("\(worker.name) did not stop cleanly on SIGTERM (status \(status.map(String.init) ?? "killed")):\n\(worker.logTail())")
            }
        }
        report.wallSeconds = Double((ContinuousClock.now - began).components.seconds)
        try? (report.table + "\n").write(to: root.appendingPathComponent("report.txt"), atomically: true, encoding: .utf8)
        withExtendedLifetime(cluster) {}
        return report
    }

    /// The feed's producers: murmur2 (the contract's partitioner) and librdkafka's default.
    struct FeedProducers: Sendable {
        var murmur2: KafkaProducer
        var consistentRandom: KafkaProducer
    }

    /// MES events the feed sent otherwise than the contract asks.
    struct FeedMix: Sendable {
        var consistentRandom = 0
        var keyless = 0
    }

    static func startFeed(
        events: [PlantSimulation.Event], fuzz: [OutputRecord], producers: FeedProducers, seconds: Int, seed: UInt64, fates: Fates
    ) -> Task<FeedMix, any Error> {
        Task { try await feed(events: events, fuzz: fuzz, producers: producers, seconds: seconds, seed: seed, fates: fates) }
    }

    /// Sends the events in due order, the fuzzed records among them, in equal slices over
    /// `seconds`; keeps the bytes of the records whose fate is checked one by one.
    static func feed(
        events: [PlantSimulation.Event], fuzz: [OutputRecord], producers: FeedProducers, seconds: Int, seed: UInt64,
        fates: Fates
    ) async throws -> FeedMix {
        var mix = FeedMix()
        var kinds: [String] = events.map { "\($0.kind)" }
        var records: [(OutputRecord, Fate?)] = events.map { event in
            let fate: Fate? =
                switch event.kind {
                case .poison: .deadLetter
                case .mes where (event.record.key.map { String(decoding: $0, as: UTF8.self) } ?? "").hasSuffix("-99"): .unknownWorkOrder
                default: nil
                }
            return (event.record, fate)
        }
        var random = SimulationRandom(seed: seed ^ 0xF00D)
        // MES events: four in ten as the contract asks (murmur2 by work order), three by
        // librdkafka's default partitioner, three without a key.
        var partitioners: [Bool] = []  // per record: by consistent_random
        for index in records.indices {
            let topic = records[index].0.topic
            let mes = topic == Topics.operationCompleted || topic == Topics.scrapReported
            let roll = mes ? random.next() % 10 : 0
            partitioners.append(roll >= 4 && roll < 7)
            if roll >= 7 {
                records[index].0.key = nil
                mix.keyless += 1
            } else if roll >= 4 {
                mix.consistentRandom += 1
            }
        }
        for record in fuzz {
            let at = Int(random.next() % UInt64(records.count + 1))
            records.insert((record, .either), at: at)
            partitioners.insert(false, at: at)
            kinds.insert("fuzz", at: at)
        }
        let slices = max(1, seconds * 2)
        let size = max(1, (records.count + slices - 1) / slices)
        for start in stride(from: 0, to: records.count, by: size) {
            let range = start..<min(start + size, records.count)
            let slice = records[range]
            let byCRC = range.filter { partitioners[$0] }
            let byMurmur = range.filter { !partitioners[$0] }
            var reports = [KafkaDeliveryReport?](repeating: nil, count: range.count)
            for (indices, producer) in [(byMurmur, producers.murmur2), (byCRC, producers.consistentRandom)] where !indices.isEmpty {
                let sent = try await producer.send(batch: indices.map { KafkaProducerMessage(records[$0].0) })
                for (index, report) in zip(indices, sent) { reports[index - start] = report }
            }
            fates.entries.withLock { fates in
                for (entry, report) in zip(slice, reports) {
                    guard let fate = entry.1, let report else { continue }
                    fates[Origin(topic: report.topic, partition: report.partition, offset: report.offset)] = (fate, entry.0.value ?? [])
                }
            }
            fates.sent.withLock { sent in
                for (index, report) in zip(range, reports) {
                    guard let report else { continue }
                    let origin = Origin(topic: report.topic, partition: report.partition, offset: report.offset)
                    let partitioner = records[index].0.key == nil ? "no key" : partitioners[index] ? "consistent_random" : "murmur2"
                    sent[origin] = Sent(origin: origin, partitioner: partitioner, kind: kinds[index], value: records[index].0.value)
                }
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        return mix
    }

    static let faultedAPIs: [(api: KafkaAPIKey, errors: [KafkaError.Code])] = [
        (.produce, [.librdkafka(6), .librdkafka(7)]),  // NOT_LEADER_FOR_PARTITION, REQUEST_TIMED_OUT
        (.endTransaction, [.librdkafka(51)]),  // CONCURRENT_TRANSACTIONS
        (.addPartitionsToTransaction, [.librdkafka(51), .librdkafka(14)]),  // …, COORDINATOR_LOAD_IN_PROGRESS
        (.transactionOffsetCommit, [.librdkafka(15)]),  // COORDINATOR_NOT_AVAILABLE
        (.offsetCommit, [.librdkafka(27)]),  // REBALANCE_IN_PROGRESS
        (.joinGroup, [.librdkafka(15)]),
        (.syncGroup, [.librdkafka(27)]),
        (.heartbeat, [.librdkafka(27)]),
    ]

    /// The faults, spread over the feed: kills and restarts, the extra worker joining and
    /// leaving, broker outages, request errors, latency. Returns how long it took.
    func injectFaults(cluster: InProcessKafkaCluster, workers: [ChaosWorker], report: inout ChaosReport) async throws -> Double {
        var random = SimulationRandom(seed: profile.seed ^ 0xFA17)
        enum Fault {
            case kill, join, leave, outage
            case errors(Int)
            case latency
        }
        var plan: [(at: Double, fault: Fault)] = []
        let span = Double(profile.feedSeconds)
        func at() -> Double { Double(random.next() % 1_000) / 1_000 * span * 0.9 + span * 0.05 }
        for _ in 0..<profile.kills { plan.append((at(), .kill)) }
        plan.append((span * 0.3, .join))
        plan.append((span * 0.6, .leave))
        for _ in 0..<profile.brokerOutages { plan.append((at(), .outage)) }
        for round in 0..<profile.requestErrorRounds { plan.append((at(), .errors(round))) }
        for _ in 0..<profile.latencyRounds { plan.append((at(), .latency)) }
        plan.sort { $0.at < $1.at }
        let began = ContinuousClock.now
        let base = workers.prefix(profile.workers)
        for (time, fault) in plan {
            let wait = time - Double((ContinuousClock.now - began).components.seconds)
            if wait > 0 { try await Task.sleep(for: .milliseconds(Int(wait * 1000))) }
            switch fault {
            case .kill:
                let running = base.filter(\.isRunning)
                guard !running.isEmpty else { continue }
                let victim = running[Int(random.next() % UInt64(running.count))]
                victim.kill()
                report.kills += 1
                say("fault: SIGKILL \(victim.name)")
                try await Task.sleep(for: .milliseconds(1_000 + Int(random.next() % 2_000)))
                try victim.start()
            case .join:
                try workers[profile.workers].start()
                say("fault: \(workers[profile.workers].name) joins")
            case .leave:
                await workers[profile.workers].stop()
                say("fault: \(workers[profile.workers].name) leaves (SIGTERM)")
            case .outage:
                let broker = Int32(1 + random.next() % 3)
                try cluster.takeBrokerDown(broker)
                report.brokerFaults += 1
                say("fault: broker \(broker) down")
                try await Task.sleep(for: .milliseconds(5_000 + Int(random.next() % 3_000)))
                try cluster.bringBrokerUp(broker)
            case .errors(let round):
                let (api, errors) = Self.faultedAPIs[round % Self.faultedAPIs.count]
                let count = 1 + Int(random.next() % 3)
                cluster.injectRequestErrors(api, Array(repeating: errors, count: count).flatMap { $0 })
                report.injectedErrors += count * errors.count
                say("fault: \(count * errors.count) errors on \(api)")
            case .latency:
                let broker = Int32(1 + random.next() % 3)
                let rtt = Duration.milliseconds(50 + Int(random.next() % 250))
                try cluster.setRoundTripTime(broker: broker, rtt)
                report.brokerFaults += 1
                say("fault: broker \(broker) answers \(rtt) later")
                try await Task.sleep(for: .seconds(5))
                try cluster.setRoundTripTime(broker: broker, .zero)
            }
        }
        return Double((ContinuousClock.now - began).components.seconds)
    }
}
