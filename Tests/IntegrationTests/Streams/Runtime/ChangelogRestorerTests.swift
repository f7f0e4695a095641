import Foundation
import Kafka
import Logging
import TestSupport
import Testing

@testable import Streams

/// A changelog partition written record by record, as the runtime's transactions write it: abort
/// notes, changes, positions, and a commit marker unless the transaction failed before it.
private struct ChangelogScript {
    enum Record {
        case change(store: String, key: String, value: [UInt8]?)
        case positions(streamTime: Int64, [String: Int64])
        case commit(batch: String)
        case abort(batch: String)
    }

    var records: [(record: Record, batch: String)] = []

    /// Batches as one writer makes them: each carries the notes of the batches that aborted after
    /// their marker (or before it) and were not noted by a committed batch yet (the ledger's rule).
    static func random(seed: UInt64, batches: Int, keys: Int) -> ChangelogScript {
        var random = SplitMix(seed: seed)
        var script = ChangelogScript()
        var notes: [String] = []
        var streamTime: Int64 = 1_000
        var offset: Int64 = 0
        for n in 1...batches {
            let batch = "w:\(n)"
            for note in notes { script.records.append((.abort(batch: note), batch)) }
            for _ in 0..<Int(random.next() % 6) + 1 {
                let key = "k\(random.next() % UInt64(keys))"
                let value: [UInt8]? = random.next() % 7 == 0 ? nil : Array("\(batch)=\(key)".utf8)
                script.records.append((.change(store: random.next() % 2 == 0 ? "a" : "b", key: key, value: value), batch))
            }
            streamTime += Int64(random.next() % 100)
            offset += Int64(random.next() % 10) + 1
            script.records.append((.positions(streamTime: streamTime, ["in": offset]), batch))
            switch random.next() % 10 {
            case 0:  // aborted after its marker reached the broker: noted by the next transactions
                script.records.append((.commit(batch: batch), batch))
                notes.append(batch)
            case 1:  // failed before its marker
                notes.append(batch)
            default:
                script.records.append((.commit(batch: batch), batch))
                notes = []
            }
        }
        return script
    }

    func messages(topic: String) -> [KafkaProducerMessage] {
        records.map { record, batch in
            let (key, value): (String, [UInt8]?)
            switch record {
            case .change(let store, let storeKey, let v): (key, value) = (ChangelogFormat.storeKey(store: store, key: storeKey), v)
            case .positions(let time, let positions):
                (key, value) = (ChangelogFormat.positionsKey, ChangelogFormat.encodePositions(streamTime: time, positions: positions))
            case .commit(let id): (key, value) = (ChangelogFormat.commitKey, Array(id.utf8))
            case .abort(let id): (key, value) = (ChangelogFormat.abortKey, Array(id.utf8))
            }
            return KafkaProducerMessage(
                topic: topic, partition: 0, key: Array(key.utf8), value: value, headers: [KafkaHeader(key: ChangelogFormat.batchHeader, value: batch)])
        }
    }

    /// What a restore must make of it, worked out the way the restorer did before it streamed: every
    /// record read first, then each marked batch applied unless an abort note anywhere names it.
    func expected(aborted initiallyAborted: Set<String> = []) -> Expected {
        var pending: [Record] = []
        var marked: [(String, [Record])] = []
        var aborted = initiallyAborted
        for (record, _) in records {
            switch record {
            case .commit(let batch):
                marked.append((batch, pending))
                pending = []
            case .abort(let batch): aborted.insert(batch)
            default: pending.append(record)
            }
        }
        var result = Expected()
        var skipped = pending
        for (batch, records) in marked {
            if aborted.contains(batch) {
                skipped += records
                continue
            }
            result.batches += 1
            for record in records {
                switch record {
                case .change(let store, let key, let value): result.store["\(store)/\(key)"] = .some(value)
                case .positions(let time, let positions):
                    result.streamTime = max(result.streamTime, time)
                    result.positions.merge(positions) { max($0, $1) }
                default: break
                }
            }
        }
        result.skipped = skipped.count
        result.uncommitted = skipped.compactMap { if case .change(let store, let key, _) = $0 { "\(store)/\(key)" } else { nil } }.sorted()
        return result
    }

    struct Expected: Equatable {
        var store: [String: [UInt8]?] = [:]
        var streamTime: Int64 = .min
        var positions: [String: Int64] = [:]
        var batches = 0
        var skipped = 0
        var uncommitted: [String] = []
    }
}

/// A small deterministic generator (SplitMix64).
private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Changelog restore on the in-process cluster: streamed batch by batch, bounded, and honest about lost history")
struct ChangelogRestorerTests {
    static func cluster() throws -> (InProcessKafkaCluster, String) {
        let cluster = try TestKafka.cluster(brokers: 1)
        let topic = TestKafka.uniqueName("changelog")
        try cluster.createTopic(topic, partitions: 1, replicationFactor: 1)
        return (cluster, topic)
    }

    static func write(_ messages: [KafkaProducerMessage], to cluster: InProcessKafkaCluster) async throws {
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger("p"))
        for chunk in stride(from: 0, to: messages.count, by: 2_000) {
            _ = try await producer.send(batch: Array(messages[chunk..<min(chunk + 2_000, messages.count)]))
        }
        await producer.close()
    }

    /// Restores partition 0 of `topic` from `start`, into a dictionary as a store would hold it.
    fileprivate static func restore(
        _ cluster: InProcessKafkaCluster, _ topic: String, from start: Int64 = 0, maxHeldBytes: Int = 16 << 20, aborted: Set<String> = []
    ) throws -> (ChangelogScript.Expected, ChangelogRestorer.Result, settled: [Int64]) {
        var restorer = ChangelogRestorer(client: KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers), logger: TestKafka.logger("r"))
        restorer.maxHeldBytes = maxHeldBytes
        let session = try restorer.open(topic: topic, partition: 0)
        defer { session.close() }
        var got = ChangelogScript.Expected()
        var settled: [Int64] = []
        let result = try session.restore(from: start, aborted: aborted) { change in
            got.store["\(change.store)/\(change.key)"] = .some(change.value)
        } settled: { through, _, _ in
            settled.append(through)
        }
        got.streamTime = result.streamTime
        got.positions = result.positions
        got.batches = result.appliedBatches
        got.skipped = result.skippedRecords
        got.uncommitted = result.uncommittedKeys.map { "\($0.store)/\($0.key)" }.sorted()
        return (got, result, settled)
    }

    @Test(
        "batches applied as they settle give exactly what reading everything first gave: aborted batches (noted later), failed transactions and the uncommitted tail are left out, with their keys to correct; the same when every batch outgrows the memory bound and is read again"
    )
    func streamedEqualsReadAll() async throws {
        let (cluster, topic) = try Self.cluster()
        let script = ChangelogScript.random(seed: 7, batches: 400, keys: 60)
        try await Self.write(script.messages(topic: topic), to: cluster)
        let expected = script.expected()
        #expect(expected.batches > 300 && expected.skipped > 20, "the script has aborted and failed batches: \(expected.batches), \(expected.skipped)")

        let (held, heldResult, settled) = try Self.restore(cluster, topic)
        #expect(held == expected)
        #expect(heldResult.rereadBatches == 0)
        #expect(heldResult.recordsRead == script.records.count)
        #expect(settled == settled.sorted() && settled.last == heldResult.committedThrough, "settled in log order, up to the last marker")

        // Every batch past the bound: each is read a second time (one fetch round each, so fewer here).
        let (smallCluster, small) = try Self.cluster()
        let smallScript = ChangelogScript.random(seed: 11, batches: 60, keys: 20)
        try await Self.write(smallScript.messages(topic: small), to: smallCluster)
        let (reread, rereadResult, _) = try Self.restore(smallCluster, small, maxHeldBytes: 1)
        #expect(reread == smallScript.expected(), "read again from the broker: the same state")
        #expect(rereadResult.rereadBatches >= smallScript.expected().batches, "every batch was read twice")
        #expect(rereadResult.recordsRead == smallScript.records.count, "a batch read twice counts once")

        // This process's own aborted batch (its note not written yet) is skipped too.
        let ownAbort = try #require(script.records.first { if case .commit = $0.record { true } else { false } }?.batch)
        let (own, _, _) = try Self.restore(cluster, topic, aborted: [ownAbort])
        #expect(own == script.expected(aborted: [ownAbort]))
    }

    @Test(
        "memory stays bounded: a restore of 300 batches holds about two batches' records at a time, not the partition; a compacted head (thousands of records before one marker) past the bound is counted, then read again"
    )
    func boundedMemory() async throws {
        let (cluster, topic) = try Self.cluster()
        var messages: [KafkaProducerMessage] = []
        func record(_ key: String, _ value: [UInt8]?, _ batch: String, to topic: String = topic) -> KafkaProducerMessage {
            KafkaProducerMessage(
                topic: topic, partition: 0, key: Array(key.utf8), value: value, headers: [KafkaHeader(key: ChangelogFormat.batchHeader, value: batch)])
        }
        let value = [UInt8](repeating: 0x61, count: 200)
        for n in 0..<300 {
            for k in 0..<40 { messages.append(record(ChangelogFormat.storeKey(store: "s", key: "b\(n)-\(k)"), value, "w:\(n)")) }
            messages.append(record(ChangelogFormat.commitKey, Array("w:\(n)".utf8), "w:\(n)"))
        }
        try await Self.write(messages, to: cluster)
        let (state, result, _) = try Self.restore(cluster, topic)
        #expect(state.store.count == 300 * 40 && result.appliedBatches == 300)
        let batchBytes = 40 * (200 + 48 + "s\u{1F}b299-39".utf8.count)
        #expect(
            result.peakHeldBytes <= 2 * batchBytes + 1_000, "peak \(result.peakHeldBytes) B; one batch is \(batchBytes) B, the partition \(300 * batchBytes) B")

        // As compaction leaves a changelog: one batch of 20,000 records, its marker last, then a small one.
        let (compactedCluster, compacted) = try Self.cluster()
        var head: [KafkaProducerMessage] = []
        for k in 0..<20_000 { head.append(record(ChangelogFormat.storeKey(store: "s", key: "wo-\(k)"), value, "w:\(k)", to: compacted)) }
        head.append(
            record(ChangelogFormat.positionsKey, ChangelogFormat.encodePositions(streamTime: 5, positions: ["in": 20_000]), "w:20000", to: compacted))
        head.append(record(ChangelogFormat.commitKey, Array("w:20000".utf8), "w:20000", to: compacted))
        head.append(record(ChangelogFormat.storeKey(store: "s", key: "wo-0"), Array("latest".utf8), "w:20001", to: compacted))
        head.append(record(ChangelogFormat.commitKey, Array("w:20001".utf8), "w:20001", to: compacted))
        try await Self.write(head, to: compactedCluster)
        let (restored, bounded, _) = try Self.restore(compactedCluster, compacted, maxHeldBytes: 256 << 10)
        #expect(restored.store.count == 20_000 && restored.store["s/wo-0"] == .some(.some(Array("latest".utf8))))
        #expect(restored.positions == ["in": 20_000] && bounded.appliedBatches == 2)
        #expect(bounded.rereadBatches == 1, "the head was read twice")
        #expect(bounded.peakHeldBytes <= (256 << 10) + 1_000, "peak \(bounded.peakHeldBytes) B under a 256 KiB bound; the head is \(20_000 * 260) B")
        #expect(bounded.recordsRead == head.count)
    }

    @Test(
        "the partition's log start moves past offset 0 once more than the in-process cluster keeps (~5 MB) was written to it: the restorer sees it, and a changelog without the task's partition is named as such"
    )
    func truncatedLogAndMissingPartition() async throws {
        let (cluster, topic) = try Self.cluster()
        let big = [UInt8](repeating: 0x62, count: 10_000)
        var messages: [KafkaProducerMessage] = []
        for n in 0..<800 {
            messages.append(
                KafkaProducerMessage(
                    topic: topic, partition: 0, key: Array(ChangelogFormat.storeKey(store: "s", key: "k\(n)").utf8), value: big,
                    headers: [KafkaHeader(key: ChangelogFormat.batchHeader, value: "w:\(n)")]))
            messages.append(
                KafkaProducerMessage(
                    topic: topic, partition: 0, key: Array(ChangelogFormat.commitKey.utf8), value: Array("w:\(n)".utf8),
                    headers: [KafkaHeader(key: ChangelogFormat.batchHeader, value: "w:\(n)")]))
        }
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger("p"))
        for chunk in stride(from: 0, to: messages.count, by: 100) { _ = try await producer.send(batch: Array(messages[chunk..<chunk + 100])) }
        await producer.close()
        let restorer = ChangelogRestorer(client: KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers), logger: TestKafka.logger("r"))
        let session = try restorer.open(topic: topic, partition: 0)
        defer { session.close() }
        #expect(session.watermarks.high == 1_600)
        #expect(session.watermarks.low > 0, "8 MB written, ~5 MB kept: the log start moved (\(session.watermarks))")
        let plan = RestorePlan(localOffset: 0, low: session.watermarks.low, high: session.watermarks.high)
        #expect(plan.gap == StateGap(needed: 0, logStart: session.watermarks.low) && plan.start == session.watermarks.low)
        var keys = 0
        let result = try session.restore(from: plan.start) { _ in keys += 1 }
        #expect(keys > 0 && Int64(result.recordsRead) == session.watermarks.high - session.watermarks.low, "what is left is read")

        let missing = #expect(throws: KafkaError.self) { try restorer.open(topic: topic, partition: 7) }
        #expect(missing?.reason.contains("changelog \(topic) has no partition 7") == true, "\(String(describing: missing))")
    }
}
