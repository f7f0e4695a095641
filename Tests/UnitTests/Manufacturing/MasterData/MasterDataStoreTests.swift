import Foundation
import GRDB
import Logging
import Streams
import TestSupport
import Testing

@testable import Manufacturing

@Suite("Master-data store (SQLite, no Kafka)")
struct MasterDataStoreTests {
    typealias F = MasterDataFixtures

    static func store(_ directory: String) throws -> MasterDataStore {
        try MasterDataStore(stateDirectory: directory, logger: TestKafka.logger("store"))
    }

    @Test("every kind is upserted by its natural key and reads back equal; positions are stored with it")
    func roundTrip() async throws {
        let directory = F.stateDirectory()
        defer { F.cleanUp(directory) }
        let store = try Self.store(directory)
        #expect(FileManager.default.fileExists(atPath: directory + "/master-data.sqlite"))
        #expect(try store.storedPositions().isEmpty)
        try store.apply(
            [F.record(F.plant, offset: 0), F.record(F.item, offset: 0, partition: 1), F.record(F.bom, offset: 7), F.record(F.routing, offset: 3)],
            positions: [TopicPartition(topic: MasterDataTopic.item, partition: 1): 1, TopicPartition(topic: MasterDataTopic.bom, partition: 0): 8])
        #expect(try store.plant("P100") == F.plant)
        #expect(try store.item("ITEM-1") == F.item)
        #expect(try store.bom(itemId: "ITEM-1", revision: "B") == F.bom)
        #expect(try store.routing(itemId: "ITEM-1", plant: "P100") == F.routing)
        #expect(try store.plant("P999") == nil)
        #expect(
            try store.storedPositions() == [
                TopicPartition(topic: MasterDataTopic.item, partition: 1): 1, TopicPartition(topic: MasterDataTopic.bom, partition: 0): 8,
            ])
        #expect(try await store.counts() == MasterDataCounts(plants: 1, items: 1, boms: 1, routings: 1, rejected: 0))

        // A newer version replaces the row; reopening the file keeps rows and positions.
        var renamed = F.plant
        renamed.name = "Augsburg Nord"
        try store.apply([F.record(renamed, offset: 1)], positions: [TopicPartition(topic: MasterDataTopic.plant, partition: 0): 2])
        let reopened = try Self.store(directory)
        #expect(try reopened.plant("P100")?.name == "Augsburg Nord")
        #expect(try reopened.storedPositions()[TopicPartition(topic: MasterDataTopic.plant, partition: 0)] == 2)
        #expect(try await reopened.counts().plants == 1)
    }

    @Test("a tombstone deletes the row of its key; a tombstone without a key is rejected")
    func tombstones() async throws {
        let directory = F.stateDirectory()
        defer { F.cleanUp(directory) }
        let store = try Self.store(directory)
        try store.apply([F.record(F.item, offset: 0), F.record(F.component, offset: 1)], positions: [:])
        try store.apply(
            [
                F.record(topic: MasterDataTopic.item, key: "ITEM-1", value: nil, offset: 2),
                F.record(topic: MasterDataTopic.item, key: nil, value: nil, offset: 3),
                F.record(topic: MasterDataTopic.item, key: "NEVER-SEEN", value: nil, offset: 4),
            ],
            positions: [TopicPartition(topic: MasterDataTopic.item, partition: 0): 5])
        #expect(try store.item("ITEM-1") == nil)
        #expect(try store.item("ITEM-2") == F.component)
        let rejected = try await store.rejectedRecords()
        #expect(rejected.map(\.reason) == [.missingKey])
        #expect(rejected.first?.offset == 3)
        #expect(try await store.counts() == MasterDataCounts(items: 1, rejected: 1, pendingDeadLetters: 1))
    }

    @Test("records that do not decode or carry the wrong key go to rejected with reason, error and bytes; the rest of the batch applies")
    func rejections() async throws {
        let directory = F.stateDirectory()
        defer { F.cleanUp(directory) }
        let logs = RecordingLogHandler.Store()
        let store = try MasterDataStore(stateDirectory: directory, logger: Logger(label: "store") { _ in RecordingLogHandler(store: logs) })
        let invalidStatus = F.itemWithInvalidStatus(F.item)
        let records = [
            F.record(F.component, offset: 0),
            F.record(
                topic: MasterDataTopic.item, key: "ITEM-1", value: Array("{not json".utf8), offset: 1,
                headers: [StreamRecord.Header(key: "correlation-id", value: "corr-header")]),
            F.record(topic: MasterDataTopic.item, key: "ITEM-1", value: invalidStatus, offset: 2),
            F.record(topic: MasterDataTopic.plant, key: "ITEM-1", value: F.envelope(F.item), offset: 3),
            F.record(F.item, key: "ITEM-9", offset: 4),
            F.record(topic: "mdm.unknown.v1", key: "x", value: F.envelope(F.item), offset: 5),
            F.record(F.item, offset: 6),
        ]
        try store.apply(records, positions: [TopicPartition(topic: MasterDataTopic.item, partition: 0): 7])
        #expect(try store.item("ITEM-2") == F.component)
        #expect(try store.item("ITEM-1") == F.item, "the record after the poison ones is applied")
        #expect(try store.item("ITEM-9") == nil, "a mismatched key writes nothing under either key")

        let rejected = try await store.rejectedRecords().sorted { $0.offset < $1.offset }
        #expect(rejected.map(\.offset) == [1, 2, 3, 4, 5])
        #expect(rejected.map(\.reason) == [.malformedJSON, .invalidField, .unsupportedSchemaVersion, .keyMismatch, .unknownTopic])
        #expect(rejected[0].correlationId == "corr-header", "the header, when the value is not JSON")
        #expect(rejected[0].value == Array("{not json".utf8), "the original bytes are kept")
        #expect(rejected[1].error.contains("data.status"), "names the field: \(rejected[1].error)")
        #expect(rejected[1].error.contains("BROKEN"))
        #expect(rejected[1].correlationId == "corr-poison", "the envelope's correlation id")
        #expect(rejected[1].value == invalidStatus)
        #expect(rejected[2].error.contains("schema"), "\(rejected[2].error)")
        #expect(rejected[3].error.contains("'ITEM-9'") && rejected[3].error.contains("'ITEM-1'"), "\(rejected[3].error)")
        #expect(rejected.allSatisfy { $0.receivedAt.milliseconds > 1_700_000_000_000 })

        let warnings = logs.all.filter { $0.level == .warning }
        #expect(warnings.count == 5, "each rejection is logged")
        let logged = try #require(warnings.first { $0.metadata["offset"] == "2" })
        #expect(logged.message.contains("data.status"))
        #expect(logged.metadata["reason"] == "INVALID_FIELD")
        #expect(logged.metadata["correlationId"] == "corr-poison")
        #expect(try await store.counts() == MasterDataCounts(items: 2, rejected: 5, pendingDeadLetters: 5))
    }

    @Test("a large batch applies in record order: the last version of a key wins, wherever it is")
    func largeBatchKeepsOrder() async throws {
        let directory = F.stateDirectory()
        defer { F.cleanUp(directory) }
        let store = try Self.store(directory)
        var records = (0..<1_500).map { F.record(F.item($0), offset: Int64($0)) }
        records[1_000] = F.record(topic: MasterDataTopic.item, key: "ITEM-2000", value: Array("[]".utf8), offset: 1_000)
        records.append(F.record(F.item(7, description: "Last"), offset: 1_500))
        records.append(F.record(topic: MasterDataTopic.item, key: F.item(3).itemId, value: nil, offset: 1_501))
        records.insert(F.record(F.item(3, description: "First"), offset: 0), at: 0)
        try store.apply(records, positions: [TopicPartition(topic: MasterDataTopic.item, partition: 0): 1_502])
        #expect(try store.item(F.item(7).itemId)?.description == "Last 7", "a later record wins over an earlier chunk")
        #expect(try store.item(F.item(3).itemId) == nil, "the tombstone at the end wins")
        #expect(try store.item(F.item(1_499).itemId) == F.item(1_499))
        #expect(try await store.counts() == MasterDataCounts(items: 1_498, rejected: 1, pendingDeadLetters: 1))
        #expect(try await store.rejectedRecords().map(\.offset) == [1_000])
    }

    @Test("an SQLite failure mid-batch stores nothing of the batch: no rows, no rejections, positions unchanged")
    func failedBatchIsAtomic() async throws {
        let directory = F.stateDirectory()
        defer { F.cleanUp(directory) }
        let store = try Self.store(directory)
        let partition = TopicPartition(topic: MasterDataTopic.item, partition: 0)
        try store.apply([F.record(F.item(0), offset: 0)], positions: [partition: 1])
        try await store.database.write { db in
            try db.execute(
                sql: """
                    CREATE TRIGGER refuse_boom BEFORE INSERT ON item WHEN NEW.key = 'ITEM-1003'
                    BEGIN SELECT RAISE(ABORT, 'injected failure for ITEM-1003'); END
                    """)
        }
        let batch = [
            F.record(F.item(1), offset: 1), F.record(F.item(2), offset: 2),
            F.record(topic: MasterDataTopic.item, key: "x", value: Array("garbage".utf8), offset: 3),
            F.record(F.item(3), offset: 4), F.record(F.item(4), offset: 5),
        ]
        let error = #expect(throws: MasterDataStoreError.self) { try store.apply(batch, positions: [partition: 6]) }
        #expect(error?.code.sqliteCode == 1811, "SQLITE_CONSTRAINT_TRIGGER")
        #expect(error?.reason.contains("apply a batch of 5 records") == true)
        #expect(error?.reason.contains("injected failure for ITEM-1003") == true, "\(error?.reason ?? "")")
        #expect(try store.item("ITEM-1001") == nil, "records before the failing one are rolled back")
        #expect(try store.item("ITEM-1000") != nil)
        #expect(try store.storedPositions() == [partition: 1])
        #expect(try await store.counts() == MasterDataCounts(items: 1, rejected: 0))

        try await store.database.write { db in try db.execute(sql: "DROP TRIGGER refuse_boom") }
        try store.apply(batch, positions: [partition: 6])
        #expect(try await store.counts() == MasterDataCounts(items: 5, rejected: 1, pendingDeadLetters: 1))
        #expect(try store.storedPositions() == [partition: 6])
    }

    @Test("a stored row that no longer decodes is an error naming the key, and the cache answers nil and counts it")
    func corruptRow() async throws {
        let directory = F.stateDirectory()
        defer { F.cleanUp(directory) }
        let store = try Self.store(directory)
        try await store.database.write { db in
            try db.execute(sql: #"INSERT INTO item (key, data, "partition", updated_offset) VALUES ('BAD', '{"itemId":"BAD"}', 0, 0)"#)
        }
        let error = #expect(throws: MasterDataStoreError.self) { try store.item("BAD") }
        #expect(error?.code == .corruptRow)
        #expect(error?.reason.contains("item 'BAD'") == true)
        #expect("\(error.map { "\($0)" } ?? "")".contains("data.description"), "the decoding failure names the field")
        let cache = MasterDataCache(store: store, logger: TestKafka.logger("cache"))
        #expect(cache.item("BAD") == nil)
        #expect(cache.statistics.readFailures == 1)
    }

    @Test("the state directory must be usable: a file in its place is an error naming the path")
    func unusableDirectory() throws {
        let path = F.stateDirectory()
        defer { F.cleanUp(path) }
        #expect(FileManager.default.createFile(atPath: path, contents: Data("not a directory".utf8)))
        let error = #expect(throws: MasterDataStoreError.self) { try Self.store(path) }
        #expect(error?.code == .fileSystem)
        #expect(error?.reason.contains(path) == true)
    }

    @Test(
        "a master-data file that is not a database is moved aside with a warning and replaced by an empty store, which takes rows again; a healthy one is kept")
    func corruptFileMovedAside() async throws {
        let directory = F.stateDirectory()
        defer { F.cleanUp(directory) }
        let file = directory + "/master-data.sqlite"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let garbage = Data(String(repeating: "not a database, a disk that lied. ", count: 200).utf8)
        try garbage.write(to: URL(fileURLWithPath: file))
        let records = RecordingLogHandler.Store()
        let logger = Logger(label: "store") { _ in RecordingLogHandler(store: records) }

        let store = try MasterDataStore(stateDirectory: directory, logger: logger)
        #expect(try await store.counts() == MasterDataCounts(plants: 0, items: 0, boms: 0, routings: 0, rejected: 0))
        #expect(try store.storedPositions().isEmpty, "no positions: the loader reads the topics from the start")
        let aside = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix("master-data.sqlite.corrupt-") }
        #expect(aside.count == 1, "the damaged file is kept for a look: \(aside)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: directory + "/" + (aside.first ?? ""))) == garbage)
        let warning = records.all.first { $0.level == .warning }
        #expect(warning?.message.contains("moved aside and rebuilt") == true, "\(records.all.map(\.message))")
        try store.apply([F.record(F.plant, offset: 0)], positions: [TopicPartition(topic: MasterDataTopic.plant, partition: 0): 1])
        #expect(try store.plant("P100") == F.plant)

        // Reopened, the rebuilt file is healthy: kept, nothing else moved aside.
        let again = try MasterDataStore(stateDirectory: directory, logger: logger)
        #expect(try again.plant("P100") == F.plant)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix("master-data.sqlite.corrupt-") }.count == 1)
    }
}
