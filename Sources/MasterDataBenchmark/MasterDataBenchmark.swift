import ArgumentParser
import BenchmarkSupport
import Foundation
import Kafka
import Logging
import Manufacturing
import Streams

/// Loads master data into an in-process cluster, then times the master-data cache loading it from
/// scratch to caught up, and a second start on the same state directory (the delta only). Prints
/// records/s, lookup times and peak RSS. Asserts nothing: the figures are for people.
@main
struct MasterDataBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "MasterDataBenchmark",
        abstract: "Master-data cache: load from scratch, restart with a delta, lookups; in-process cluster.")

    @Option(help: "Items to load.") var items: Int = 100_000
    @Option(help: "Partitions of mdm.item.v1 (the mock keeps ~5 MB per partition: ~400 B per item).")
    var itemPartitions: Int = 16
    @Option(help: "Plants, BOMs and routings to load (each).") var others: Int = 100
    @Option(help: "Item updates and tombstones produced between the two starts.") var delta: Int = 1_000
    @Option(help: "Records per sink batch (one SQLite transaction).") var batch: Int = 5_000
    @Option(help: "queued.min.messages of the loader's consumer (records prefetched per partition).")
    var prefetch: Int = 100_000
    @Option(help: "Brokers of the in-process cluster.") var brokers: Int = 3
    @Option(help: "Random lookups timed after loading.") var lookups: Int = 100_000
    @Option(help: "State directory (default: a fresh temporary one, removed afterwards).") var stateDirectory: String?

    func run() async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let cluster = try InProcessKafkaCluster(brokers: brokers, logger: logger)
        for topic in MasterDataTopic.all {
            try cluster.createTopic(topic, partitions: topic == MasterDataTopic.item ? itemPartitions : 3, replicationFactor: brokers)
        }
        let directory = stateDirectory ?? NSTemporaryDirectory() + "master-data-bench-\(UUID().uuidString.prefix(8))"
        defer { if stateDirectory == nil { try? FileManager.default.removeItem(atPath: directory) } }
        print(
            "in-process cluster: \(brokers) brokers; \(items) items on \(itemPartitions) partitions, \(others) plants, BOMs and routings each; batch \(batch), prefetch \(prefetch)"
        )
        print("state directory: \(directory)")

        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(client: KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers)),
            logger: logger)
        let produceStart = ContinuousClock.now
        var produced = 0
        produced += try await produce(producer, (0..<others).map(Self.plantRecord))
        produced += try await produce(producer, (0..<items).map { Self.itemRecord($0, version: 1) })
        produced += try await produce(producer, (0..<others).map(Self.bomRecord))
        produced += try await produce(producer, (0..<others).map(Self.routingRecord))
        print("produced \(produced) records in \(format(ContinuousClock.now - produceStart)); peak RSS so far \(peakRSS()) (mostly the cluster)")
        try await checkNothingDropped(cluster, logger)

        var configuration = GlobalTableConfiguration(bootstrapServers: cluster.bootstrapServers)
        configuration.maxBatchSize = batch
        configuration.maxPrefetchedMessages = prefetch

        // 1. From scratch.
        let first = try await load(directory, configuration, logger)
        print("")
        print(
            "load from scratch: \(first.applied) records in \(format(first.elapsed)) = \(rate(first.applied, first.elapsed)) records/s (items/s: \(rate(items, first.elapsed)))"
        )
        print("  rows: \(first.counts); database \(fileSize(directory)); peak RSS now \(peakRSS())")

        // 2. A delta, then a second start on the same state directory.
        let updates = (0..<delta).map { Self.itemRecord($0 * max(1, items / max(1, delta)) % items, version: 2) }
        let tombstones = (0..<min(10, items)).map { i in
            KafkaProducerMessage(topic: MasterDataTopic.item, key: Self.itemId(items - 1 - i), value: nil as String?)
        }
        _ = try await produce(producer, updates + tombstones)
        let second = try await load(directory, configuration, logger)
        print("second start (delta \(updates.count + tombstones.count) records): \(second.applied) records applied in \(format(second.elapsed)) to caught up")
        print("  rows: \(second.counts)")

        // 3. Lookups on the loaded store: cold (each key read from SQLite once) and hot (front hits).
        let cache = try MasterDataCache(stateDirectory: directory, frontCapacity: 4_096, logger: logger)
        var generator = SystemRandomNumberGenerator()
        let keys = (0..<lookups).map { _ in Self.itemId(Int.random(in: 0..<items, using: &generator)) }
        let coldStart = ContinuousClock.now
        var found = 0
        for key in keys where cache.item(key) != nil { found += 1 }
        let cold = ContinuousClock.now - coldStart
        let hotKeys = Array(keys.prefix(1_000))
        let hotStart = ContinuousClock.now
        for _ in 0..<(lookups / hotKeys.count) { for key in hotKeys where cache.item(key) == nil { found -= 1 } }
        let hot = ContinuousClock.now - hotStart
        let statistics = cache.statistics
        print("")
        print(
            "lookups over \(items) items (front 4,096 per kind): random \(format(perLookup(cold, keys.count))) each (\(statistics.frontMisses) store reads), hot \(format(perLookup(hot, hotKeys.count * (lookups / hotKeys.count)))) each; \(found) found"
        )
        print("peak RSS (VmHWM) of the process: \(peakRSS()) — includes the in-process cluster holding every record")
        await producer.close()
    }

    struct Load {
        var applied: Int
        var elapsed: Duration
        var counts: MasterDataCounts
    }

    private func load(_ directory: String, _ configuration: GlobalTableConfiguration, _ logger: Logger) async throws -> Load {
        let cache = try MasterDataCache(stateDirectory: directory, logger: logger)
        let start = ContinuousClock.now
        try await cache.start(configuration: configuration)
        try await cache.waitUntilCaughtUp(timeout: .seconds(600))
        let elapsed = ContinuousClock.now - start
        let applied = cache.statistics.appliedRecords
        await cache.stop()
        return Load(applied: applied, elapsed: elapsed, counts: try await cache.counts())
    }

    private func produce(_ producer: KafkaProducer, _ messages: [KafkaProducerMessage]) async throws -> Int {
        for message in messages { try producer.send(message) }
        try await producer.flush(timeout: .seconds(120))
        return messages.count
    }

    /// The mock keeps ~5 MB per partition and silently drops older records beyond it.
    private func checkNothingDropped(_ cluster: InProcessKafkaCluster, _ logger: Logger) async throws {
        let admin = try KafkaAdminClient(configuration: KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger)
        for partition in 0..<Int32(itemPartitions) {
            let marks = try await admin.watermarks(KafkaTopicPartition(topic: MasterDataTopic.item, partition: partition))
            if marks.low > 0 {
                print("WARNING: the mock dropped \(marks.low) records of \(MasterDataTopic.item)[\(partition)]; raise --item-partitions")
            }
        }
    }

    // MARK: Records

    static let occurredAt = Timestamp(milliseconds: 1_795_000_000_000)
    static let source = EventSource(system: "ERP")

    static func itemId(_ i: Int) -> String { "ITEM-\(i)" }

    static func message<P: MasterDataPayload>(_ data: P, _ i: Int) -> KafkaProducerMessage {
        let envelope = Envelope(
            eventId: "bench-\(P.kind)-\(i)-\(UUID().uuidString.prefix(8))", correlationId: "bench-\(i)", occurredAt: occurredAt, source: source, data: data)
        return KafkaProducerMessage(topic: P.kind.topic, key: Array(data.key.utf8), value: envelope.bytes)
    }

    static func plantRecord(_ i: Int) -> KafkaProducerMessage {
        message(Plant(plantCode: "P\(100 + i)", name: "Plant \(i)", timezone: "Europe/Berlin", status: .active), i)
    }

    static func itemRecord(_ i: Int, version: Int) -> KafkaProducerMessage {
        message(
            Item(itemId: itemId(i), description: "Item \(i) v\(version)", baseUom: "EA", uomConversions: ["BOX": 12, "PAL": 480], status: .active), i)
    }

    static func bomRecord(_ i: Int) -> KafkaProducerMessage {
        message(
            BillOfMaterials(
                itemId: itemId(i), revision: "A", status: .released,
                components: [.init(itemId: itemId(i + 1), qtyPer: 2, uom: "EA"), .init(itemId: itemId(i + 2), qtyPer: 0.5, uom: "EA")]), i)
    }

    static func routingRecord(_ i: Int) -> KafkaProducerMessage {
        message(
            Routing(
                itemId: itemId(i), plant: "P\(100 + i % 10)",
                operations: [
                    .init(operationSeq: 10, workCenter: "WC-CUT", description: "cut"), .init(operationSeq: 20, workCenter: "WC-ASM", description: "assemble"),
                ]), i)
    }

    // MARK: Figures

    private func peakRSS() -> String {
        BenchmarkSupport.peakRSSMegabytes().map { "\($0) MB" } ?? "n/a"
    }

    private func fileSize(_ directory: String) -> String {
        let files = [MasterDataStore.fileName, MasterDataStore.fileName + "-wal"]
        let bytes = files.compactMap { try? FileManager.default.attributesOfItem(atPath: directory + "/" + $0)[.size] as? Int }.reduce(0, +)
        return String(format: "%.1f MB (with WAL)", Double(bytes) / 1_048_576)
    }

    private func rate(_ count: Int, _ elapsed: Duration) -> String {
        let seconds = elapsed.seconds
        return seconds > 0 ? String(format: "%.0f", Double(count) / seconds) : "∞"
    }

    private func perLookup(_ elapsed: Duration, _ count: Int) -> Duration { count > 0 ? elapsed / count : .zero }

    private func format(_ duration: Duration) -> String {
        let seconds = duration.seconds
        if seconds >= 1 { return String(format: "%.2f s", seconds) }
        if seconds >= 0.001 { return String(format: "%.1f ms", seconds * 1000) }
        return String(format: "%.1f µs", seconds * 1_000_000)
    }
}
