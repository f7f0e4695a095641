import Foundation
import GRDB
import Kafka
import Logging
import Streams
import Synchronization
import TestSupport
import Testing

@testable import Manufacturing

@Suite("Master-data cache on the in-process cluster")
struct MasterDataCacheTests {
    typealias F = MasterDataFixtures

    static func cache(_ directory: String, frontCapacity: Int = 4_096) throws -> MasterDataCache {
        try MasterDataCache(stateDirectory: directory, frontCapacity: frontCapacity, logger: TestKafka.logger("cache"))
    }

    /// Polls until the store has no dead letter waiting for the cluster's acknowledgement (10 s at most).
    static func deadLettersDelivered(_ cache: MasterDataCache) async throws -> Bool {
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while ContinuousClock.now < deadline {
            if try await cache.counts().pendingDeadLetters == 0 { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    @Test("every kind loads and the lookups answer what was produced")
    func everyKindLoads() async throws {
        let cluster = try F.cluster()
        let directory = F.stateDirectory()
        defer { F.cleanUp(directory) }
        let items = (0..<30).map { F.item($0) }
        try await F.send(
            cluster,
            [F.message(F.plant), F.message(F.inactivePlant), F.message(F.item), F.message(F.component), F.message(F.bom), F.message(F.routing)]
                + items.map { F.message($0) })
        let cache = try Self.cache(directory)
        #expect(!cache.isCaughtUp, "not caught up before start")
        try await cache.start(configuration: F.configuration(cluster))
        try await cache.waitUntilCaughtUp(timeout: .seconds(15))
        #expect(cache.isCaughtUp)
        #expect(cache.plant("P100") == F.plant)
        #expect(cache.plant("P200") == F.inactivePlant)
        #expect(cache.item("ITEM-1") == F.item)
        #expect(cache.item("ITEM-2") == F.component)
        #expect(cache.bom(itemId: "ITEM-1", revision: "B") == F.bom)
        #expect(cache.routing(itemId: "ITEM-1", plant: "P100") == F.routing)
        for item in items { #expect(cache.item(item.itemId) == item) }
        #expect(cache.plant("P999") == nil)
        #expect(cache.bom(itemId: "ITEM-1", revision: "A") == nil)
        #expect(cache.routing(itemId: "ITEM-1", plant: "P200") == nil)
        #expect(try await cache.counts() == MasterDataCounts(plants: 2, items: 32, boms: 1, routings: 1, rejected: 0))
        #expect(cache.statistics.appliedRecords == 36)

        // Second lookups come from memory.
        let before = cache.statistics
        #expect(cache.item("ITEM-1") == F.item)
        #expect(cache.plant("P999") == nil)
        #expect(cache.statistics.frontHits == before.frontHits + 2)
        #expect(cache.statistics.frontMisses == before.frontMisses)
        await cache.stop()
    }

    @Test("a tombstone deletes: the item is there, then the tombstone, then the lookup answers nil; new keys appear")
    func tombstoneDeletes() async throws {
        let cluster = try F.cluster()
        let directory = F.stateDirectory()
        defer { F.cleanUp(directory) }
        try await F.send(cluster, [F.message(F.item), F.message(F.plant)])
        let cache = try Self.cache(directory)
        try await cache.start(configuration: F.configuration(cluster))
        try await cache.waitUntilCaughtUp(timeout: .seconds(15))
        #expect(cache.item("ITEM-1") == F.item, "present (and now held in memory)")
        #expect(cache.item("ITEM-7") == nil, "absent (and remembered as absent)")

        try await F.send(cluster, [F.tombstone(.item, key: "ITEM-1")])
        #expect(try await F.eventually { cache.item("ITEM-1") == nil }, "the tombstone removes it, from the store and from memory")
        #expect(try await cache.counts().items == 0)

        var updated = F.plant
        updated.status = .inactive
        try await F.send(
            cluster,
            [
                F.message(F.item(7)), F.message(Item(itemId: "ITEM-7", description: "new", baseUom: "EA", uomConversions: [:], status: .active)),
                F.message(updated),
            ])
        #expect(try await F.eventually { cache.item("ITEM-7")?.description == "new" }, "a key remembered as absent shows up once written")
        #expect(try await F.eventually { cache.plant("P100")?.status == .inactive }, "an update replaces the remembered row")
        await cache.stop()
    }

    @Test("a restart on the same state directory reads only the delta; the first run's data is still there")
    func restartReadsOnlyTheDelta() async throws {
        let cluster = try F.cluster()
        let directory = F.stateDirectory()
        defer { F.cleanUp(directory) }
        try await F.send(cluster, (0..<40).map { F.message(F.item($0)) } + [F.message(F.plant), F.message(F.bom)])
        let first = try Self.cache(directory)
        try await first.start(configuration: F.configuration(cluster))
        try await first.waitUntilCaughtUp(timeout: .seconds(15))
        #expect(first.statistics.appliedRecords == 42)
        await first.stop()

        let delta = (40..<47).map { F.message(F.item($0)) } + [F.message(F.item(3, description: "Changed")), F.tombstone(.item, key: F.item(5).itemId)]
        try await F.send(cluster, delta)
        let second = try Self.cache(directory)
        try await second.start(configuration: F.configuration(cluster))
        try await second.waitUntilCaughtUp(timeout: .seconds(15))
        #expect(second.statistics.appliedRecords == delta.count, "only the \(delta.count) records produced since the first run stopped")
        #expect(second.item(F.item(0).itemId) == F.item(0), "first run's data is still there")
        #expect(second.plant("P100") == F.plant)
        #expect(second.bom(itemId: "ITEM-1", revision: "B") == F.bom)
        #expect(second.item(F.item(3).itemId)?.description == "Changed 3")
        #expect(second.item(F.item(5).itemId) == nil)
        #expect(second.item(F.item(46).itemId) == F.item(46))
        #expect(try await second.counts() == MasterDataCounts(plants: 1, items: 46, boms: 1, routings: 0, rejected: 0))
        await second.stop()
    }

    @Test("caught up is false before start and while a batch is held, true once every partition reached its start watermark, with an empty topic")
    func caughtUpIsReportedCorrectly() async throws {
        let cluster = try F.cluster()
        let directory = F.stateDirectory()
        defer { F.cleanUp(directory) }
        // mdm.routing.v1 stays empty; mdm.plant.v1 has one partition with records and two without.
        try await F.send(cluster, [F.message(F.plant, partition: 0), F.message(F.bom)] + (0..<20).map { F.message(F.item($0)) })
        let store = try MasterDataStore(stateDirectory: directory, logger: TestKafka.logger("store"))
        let holding = HoldingSink(store: store)
        holding.hold()
        let loader = try GlobalTableLoader(configuration: F.configuration(cluster), topics: MasterDataTopic.all, sink: holding, logger: TestKafka.logger("gt"))
        #expect(!loader.isCaughtUp, "not caught up before start")
        try await loader.start()
        #expect(try await F.eventually { holding.isWaiting }, "the first batch reached the sink")
        #expect(!loader.isCaughtUp, "not caught up while the batch is held")
        let timeout = await #expect(throws: GlobalTableError.self) { try await loader.waitUntilCaughtUp(timeout: .milliseconds(200)) }
        #expect(timeout?.code == .timedOut)
        #expect(timeout?.reason.contains("mdm.") == true, "names the partitions behind: \(timeout?.reason ?? "")")
        #expect(timeout?.reason.contains("mdm.routing.v1") == false, "the empty topic is never behind")
        holding.release()
        try await loader.waitUntilCaughtUp(timeout: .seconds(15))
        #expect(loader.isCaughtUp)
        #expect(loader.lagDescription == "caught up")
        #expect(try await store.counts() == MasterDataCounts(plants: 1, items: 20, boms: 1, routings: 0, rejected: 0))
        await loader.stop()
        #expect(!loader.isCaughtUp)

        // Through the cache: the same store, everything already read, the routing topic empty.
        let cache = MasterDataCache(store: store, logger: TestKafka.logger("cache"))
        #expect(!cache.isCaughtUp)
        let notStarted = await #expect(throws: GlobalTableError.self) { try await cache.waitUntilCaughtUp(timeout: .seconds(1)) }
        #expect(notStarted?.code == .invalidState)
        try await cache.start(configuration: F.configuration(cluster))
        try await cache.waitUntilCaughtUp(timeout: .seconds(15))
        #expect(cache.isCaughtUp)
        #expect(cache.statistics.appliedRecords == 0)
        let twice = await #expect(throws: GlobalTableError.self) { try await cache.start(configuration: F.configuration(cluster)) }
        #expect(twice?.code == .invalidState)
        await cache.stop()
        #expect(!cache.isCaughtUp)
    }

    @Test("a poison record goes to rejected with its reason and does not stop the records after it")
    func poisonRecordIsRejected() async throws {
        let cluster = try F.cluster()
        let directory = F.stateDirectory()
        defer { F.cleanUp(directory) }
        let poison = F.itemWithInvalidStatus(F.item(2))
        try await F.send(
            cluster,
            [
                F.message(F.item(1), partition: 0),
                KafkaProducerMessage(topic: MasterDataTopic.item, partition: 0, key: Array(F.item(2).itemId.utf8), value: poison),
                KafkaProducerMessage(topic: MasterDataTopic.item, partition: 0, key: Array("ITEM-X".utf8), value: Array("not json".utf8)),
                F.message(F.item(3), key: "SOMETHING-ELSE", partition: 0),
                F.message(F.item(4), partition: 0),
            ])
        let cache = try Self.cache(directory)
        try await cache.start(configuration: F.configuration(cluster))
        try await cache.waitUntilCaughtUp(timeout: .seconds(15))
        #expect(cache.item(F.item(1).itemId) == F.item(1))
        #expect(cache.item(F.item(4).itemId) == F.item(4), "the record after the poison ones is applied")
        #expect(cache.item(F.item(2).itemId) == nil)
        #expect(cache.item(F.item(3).itemId) == nil)
        #expect(cache.failure == nil)
        #expect(cache.isCaughtUp)
        let rejected = try await cache.store.rejectedRecords().sorted { $0.offset < $1.offset }
        #expect(rejected.map(\.offset) == [1, 2, 3])
        #expect(rejected.map(\.reason) == [.invalidField, .malformedJSON, .keyMismatch])
        #expect(rejected.allSatisfy { $0.topic == MasterDataTopic.item && $0.partition == 0 })
        #expect(rejected[0].error.contains("data.status"))
        #expect(rejected[0].value == poison)
        #expect(try await Self.deadLettersDelivered(cache), "each is dead-lettered")
        #expect(try await cache.counts() == MasterDataCounts(items: 2, rejected: 3))
        await cache.stop()
    }

    @Test(
        "a bad item on mdm.item.v1 (a unit conversion of 0, truncated JSON) goes to ops.dead-letter.v1 with its bytes, key and headers unchanged and the dlq-* headers; the last good version still answers; restarts, even from the first offset, do not dead-letter it again"
    )
    func badItemIsDeadLetteredOnce() async throws {
        let cluster = try F.cluster()
        let directory = F.stateDirectory()
        defer { F.cleanUp(directory) }
        let text = String(decoding: F.envelope(F.item, correlationId: "corr-zero"), as: UTF8.self)
        let zero = Array(text.replacingOccurrences(of: "\"BOX\":12", with: "\"BOX\":0").utf8)
        let truncated = Array(F.envelope(F.item).prefix(57))
        let key = Array("ITEM-1".utf8)
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger("p"))
        let good = try await producer.sendAndAwait(F.message(F.item, partition: 0))
        let zeroSent = try await producer.sendAndAwait(
            KafkaProducerMessage(
                topic: MasterDataTopic.item, partition: 0, key: key, value: zero,
                headers: [KafkaHeader(key: "traceparent", value: "00-zero"), KafkaHeader(key: "correlation-id", value: "hdr-zero")],
                timestamp: 1_790_000_000_001))
        let cutSent = try await producer.sendAndAwait(
            KafkaProducerMessage(topic: MasterDataTopic.item, partition: 0, key: key, value: truncated, timestamp: 1_790_000_000_002))
        #expect(good.offset == 0 && zeroSent.offset == 1 && cutSent.offset == 2)

        let first = try Self.cache(directory)
        try await first.start(configuration: F.configuration(cluster))
        try await first.waitUntilCaughtUp(timeout: .seconds(15))
        #expect(try await Self.deadLettersDelivered(first), "both dead letters acknowledged")
        #expect(first.item("ITEM-1") == F.item, "the last good version still answers lookups")
        await first.stop()

        let letters = try await F.deadLetters(cluster).sorted {
            $0.headers.last("original-offset")?.stringValue ?? "" < $1.headers.last("original-offset")?.stringValue ?? ""
        }
        #expect(letters.count == 2)
        guard letters.count == 2 else { return }
        #expect(letters[0].value == zero && letters[1].value == truncated, "the original bytes, unchanged")
        #expect(letters.allSatisfy { $0.key == key }, "the original key")
        #expect(letters[0].headers.last("dlq-reason")?.stringValue == "INVALID_FIELD")
        #expect(letters[0].headers.last("dlq-error")?.stringValue == "data.uomConversions.BOX: must be > 0, found 0")
        #expect(letters[1].headers.last("dlq-reason")?.stringValue == "MALFORMED_JSON")
        #expect(letters[1].headers.last("dlq-error")?.stringValue?.hasPrefix("not JSON: ") == true)
        #expect(letters.allSatisfy { $0.headers.last("original-topic")?.stringValue == MasterDataTopic.item })
        #expect(letters.allSatisfy { $0.headers.last("original-partition")?.stringValue == "0" })
        #expect(letters.map { $0.headers.last("original-offset")?.stringValue } == ["1", "2"])
        #expect(letters.map { $0.headers.last("original-timestamp")?.stringValue } == ["1790000000001", "1790000000002"])
        #expect(letters[0].headers.last("traceparent")?.stringValue == "00-zero", "every original header")
        #expect(letters[0].headers.last("correlation-id")?.stringValue == "hdr-zero")

        // A restart on the same state directory: the delta only, nothing dead-lettered again.
        let second = try Self.cache(directory)
        try await second.start(configuration: F.configuration(cluster))
        try await second.waitUntilCaughtUp(timeout: .seconds(15))
        try await F.send(cluster, [F.message(F.item(1), partition: 0)])
        #expect(try await F.eventually { second.item(F.item(1).itemId) != nil }, "the restarted loader runs")
        #expect(second.item("ITEM-1") == F.item)
        await second.stop()
        #expect(try await F.deadLetters(cluster).count == 2, "not dead-lettered again after a restart")

        // Positions lost (the loader reads the topic from its first offset again): still not again.
        let store = try MasterDataStore(stateDirectory: directory, logger: TestKafka.logger("store"))
        try await store.database.write { db in try db.execute(sql: "DELETE FROM positions") }
        let third = MasterDataCache(store: store, logger: TestKafka.logger("cache"))
        try await third.start(configuration: F.configuration(cluster))
        try await third.waitUntilCaughtUp(timeout: .seconds(15))
        #expect(third.statistics.appliedRecords == 4, "every record read again")
        #expect(third.item("ITEM-1") == F.item)
        await third.stop()
        #expect(try await F.deadLetters(cluster).count == 2, "the same records at the same offsets: not dead-lettered again")
        #expect(try await store.counts() == MasterDataCounts(items: 2, rejected: 2, pendingDeadLetters: 0))
        await producer.close()
    }

    @Test("a batch that fails inside its SQLite transaction leaves no partial rows and no moved positions; the next start reads it again")
    func failedBatchIsReadAgain() async throws {
        let cluster = try F.cluster()
        let directory = F.stateDirectory()
        defer { F.cleanUp(directory) }
        let items = (0..<30).map { F.item($0) }
        try await F.send(cluster, items.map { F.message($0, partition: 0) })
        let store = try MasterDataStore(stateDirectory: directory, logger: TestKafka.logger("store"))
        // Inject the failure in SQLite itself: inserting ITEM-1020 aborts the transaction.
        try await store.database.write { db in
            try db.execute(
                sql: """
                    CREATE TRIGGER refuse_item BEFORE INSERT ON item WHEN NEW.key = 'ITEM-1020'
                    BEGIN SELECT RAISE(ABORT, 'injected failure for ITEM-1020'); END
                    """)
        }
        let cache = MasterDataCache(store: store, logger: TestKafka.logger("cache"))
        try await cache.start(configuration: F.configuration(cluster))
        let failure = await #expect(throws: GlobalTableError.self) { try await cache.waitUntilCaughtUp(timeout: .seconds(15)) }
        #expect(failure?.code == .sink)
        #expect(failure?.reason.contains("mdm.item.v1[0]@") == true, "names the records: \(failure?.reason ?? "")")
        #expect((failure?.underlying as? MasterDataStoreError)?.reason.contains("injected failure for ITEM-1020") == true)
        #expect(cache.failure?.code == .sink)
        #expect(!cache.isCaughtUp)

        // Whatever batches were committed before, the failed one left nothing: rows are exactly the
        // records before the stored position, and that position is at or before ITEM-1020's offset.
        let partition = TopicPartition(topic: MasterDataTopic.item, partition: 0)
        let position = try store.storedPositions()[partition] ?? 0
        #expect(position <= 20)
        #expect(try await store.counts().items == Int(position))
        for (offset, item) in items.enumerated() {
            #expect((try store.item(item.itemId) != nil) == (offset < Int(position)), "offset \(offset) vs position \(position)")
        }
        await cache.stop()

        try await store.database.write { db in try db.execute(sql: "DROP TRIGGER refuse_item") }
        let again = MasterDataCache(store: store, logger: TestKafka.logger("cache"))
        try await again.start(configuration: F.configuration(cluster))
        try await again.waitUntilCaughtUp(timeout: .seconds(15))
        #expect(again.statistics.appliedRecords == 30 - Int(position), "the failed batch and the rest are read again")
        #expect(try await store.counts().items == 30)
        #expect(again.item("ITEM-1020") == items[20])
        await again.stop()
    }
}

/// The store as a sink, whose `apply` can be held until released.
private final class HoldingSink: GlobalTableSink {
    private let store: MasterDataStore
    private let holding = Atomic<Bool>(false)
    private let waiting = Atomic<Bool>(false)

    init(store: MasterDataStore) {
        self.store = store
    }

    func hold() { holding.store(true, ordering: .releasing) }
    func release() { holding.store(false, ordering: .releasing) }
    var isWaiting: Bool { waiting.load(ordering: .acquiring) }

    func storedPositions() throws -> [TopicPartition: Int64] { try store.storedPositions() }

    func apply(_ records: [StreamRecord], positions: [TopicPartition: Int64]) throws {
        while holding.load(ordering: .acquiring) {
            waiting.store(true, ordering: .releasing)
            Thread.sleep(forTimeInterval: 0.005)
        }
        waiting.store(false, ordering: .releasing)
        try store.apply(records, positions: positions)
    }
}
