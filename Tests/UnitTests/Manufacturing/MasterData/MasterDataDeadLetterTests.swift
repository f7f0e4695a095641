import Foundation
import GRDB
import Streams
import TestSupport
import Testing

@testable import Manufacturing

@Suite("Master-data dead letters in the store (SQLite, no Kafka)")
struct MasterDataDeadLetterTests {
    typealias F = MasterDataFixtures
    static let item0 = TopicPartition(topic: MasterDataTopic.item, partition: 0)

    static func store(_ directory: String) throws -> MasterDataStore {
        try MasterDataStore(stateDirectory: directory, logger: TestKafka.logger("store"))
    }

    static func header(_ record: OutputRecord, _ name: String) -> String? { record.headers.last { $0.key == name }?.stringValue }

    /// The item's envelope with its BOX conversion set to 0 (the contract wants > 0).
    static func zeroConversion() -> [UInt8] {
        let text = String(decoding: F.envelope(F.item, correlationId: "corr-zero"), as: UTF8.self)
        return Array(text.replacingOccurrences(of: "\"BOX\":12", with: "\"BOX\":0").utf8)
    }

    @Test(
        "a rejected record's dead letter waits in the store, stored with the batch: its bytes, key and headers unchanged, the contract's dlq-* and original-* headers; once delivered it is never handed out again"
    )
    func pendingUntilDelivered() async throws {
        let directory = F.stateDirectory()
        defer { F.cleanUp(directory) }
        let store = try Self.store(directory)
        let bad = Self.zeroConversion()
        let headers = [StreamRecord.Header(key: "traceparent", value: "00-bad"), StreamRecord.Header(key: "blob", value: [0, 255, 1])]
        let record = StreamRecord(
            topic: MasterDataTopic.item, partition: 0, offset: 1, key: Array("ITEM-1".utf8), value: bad, headers: headers, timestamp: 1_790_000_000_123)
        try store.apply([F.record(F.item, offset: 0), record], positions: [Self.item0: 2])
        #expect(try store.item("ITEM-1") == F.item, "the last good version stays")
        #expect(try await store.counts() == MasterDataCounts(items: 1, rejected: 1, pendingDeadLetters: 1), "stored together with the position")

        let pending = try store.pendingOutputs(limit: 10)
        #expect(pending.count == 1)
        let letter = try #require(pending.first?.record)
        #expect(letter.topic == DeadLetter.topic)
        #expect(letter.value == bad, "the original bytes, unchanged")
        #expect(letter.key == Array("ITEM-1".utf8))
        #expect(letter.timestamp == 1_790_000_000_123)
        #expect(Self.header(letter, "dlq-reason") == "INVALID_FIELD")
        #expect(Self.header(letter, "dlq-error") == "data.uomConversions.BOX: must be > 0, found 0", "names the field and the rule")
        #expect(Self.header(letter, "original-topic") == MasterDataTopic.item)
        #expect(Self.header(letter, "original-partition") == "0")
        #expect(Self.header(letter, "original-offset") == "1")
        #expect(Self.header(letter, "original-timestamp") == "1790000000123")
        #expect(Array(letter.headers.suffix(2)) == headers, "every original header, last and in order, bytes unchanged")
        #expect(letter.tally?.name == "millwright_dead_letters_total")
        #expect(letter.tally?.labels == [.init("reason", "INVALID_FIELD"), .init("topic", MasterDataTopic.item)])

        try store.outputsDelivered(pending.map(\.id))
        #expect(try store.pendingOutputs(limit: 10).isEmpty, "delivered: not handed out again")
        #expect(try await store.counts().pendingDeadLetters == 0)
        let rejected = try #require(try await store.rejectedRecords().first)
        guard case .sent(let at) = rejected.deadLetter else {
            Issue.record("the rejection says it was sent: \(rejected.deadLetter)")
            return
        }
        #expect(at.milliseconds >= rejected.receivedAt.milliseconds)
        #expect(rejected.headers == headers && rejected.rawKey == Array("ITEM-1".utf8) && rejected.timestamp == 1_790_000_000_123)
        #expect(try Self.store(directory).pendingOutputs(limit: 10).isEmpty, "reopened: still delivered")
    }

    @Test("read again at the same offset with the same bytes, a rejected record is not dead-lettered again; a different record at that offset is")
    func onlyWhenFirstStored() async throws {
        let directory = F.stateDirectory()
        defer { F.cleanUp(directory) }
        let store = try Self.store(directory)
        let truncated = Array(F.envelope(F.item).prefix(40))
        let first = F.record(topic: MasterDataTopic.item, key: "ITEM-1", value: truncated, offset: 5)
        try store.apply([first], positions: [Self.item0: 6])
        try store.outputsDelivered(try store.pendingOutputs(limit: 10).map(\.id))

        // The same record read again (positions reset, a replay): its row stays delivered.
        try store.apply([first], positions: [Self.item0: 6])
        #expect(try store.pendingOutputs(limit: 10).isEmpty, "the same bytes at the same offset: not dead-lettered again")
        #expect(try await store.counts().rejected == 1)

        // Another record at that offset (a re-created topic): a new dead letter.
        let other = F.record(topic: MasterDataTopic.item, key: "ITEM-1", value: Array("garbage".utf8), offset: 5)
        try store.apply([other], positions: [Self.item0: 6])
        let pending = try store.pendingOutputs(limit: 10)
        #expect(pending.map(\.record.value) == [Array("garbage".utf8)])
        #expect(try await store.counts() == MasterDataCounts(rejected: 1, pendingDeadLetters: 1))
    }

    @Test(
        "the store's own reasons become the contract's dlq-reason, the finer one first in dlq-error: KEY_MISMATCH → INVALID_FIELD, a tombstone without a key → INVALID_ENVELOPE; a key that is not UTF-8 keeps its bytes; outputs come in the order stored"
    )
    func reasonsMapToTheContract() throws {
        let directory = F.stateDirectory()
        defer { F.cleanUp(directory) }
        let store = try Self.store(directory)
        let binaryKey: [UInt8] = [0xFF, 0xFE, 0x41]
        try store.apply(
            [
                F.record(F.item, key: "ITEM-9", offset: 0),
                F.record(topic: MasterDataTopic.item, key: nil, value: nil, offset: 1),
                StreamRecord(topic: MasterDataTopic.item, partition: 0, offset: 2, key: binaryKey, value: Array("nope".utf8)),
            ],
            positions: [Self.item0: 3])
        let letters = try store.pendingOutputs(limit: 10).map(\.record)
        #expect(letters.map { Self.header($0, "original-offset") } == ["0", "1", "2"])
        #expect(letters.map { Self.header($0, "dlq-reason") } == ["INVALID_FIELD", "INVALID_ENVELOPE", "MALFORMED_JSON"])
        #expect(
            Self.header(letters[0], "dlq-error")?.hasPrefix("KEY_MISMATCH: the Kafka key ('ITEM-9')") == true, "\(Self.header(letters[0], "dlq-error") ?? "")")
        #expect(Self.header(letters[1], "dlq-error")?.hasPrefix("MISSING_KEY: ") == true)
        #expect(letters[1].value == nil && letters[1].key == nil, "a tombstone's dead letter is a tombstone")
        #expect(letters[2].key == binaryKey, "the key's bytes, not their text")
        #expect(try store.pendingOutputs(limit: 2).count == 2, "at most the limit")
    }

    @Test("a flood of large bad records is handed out a few at a time: at most 16 MiB of values per look, at least one record")
    func largeRecordsAFewAtATime() throws {
        let directory = F.stateDirectory()
        defer { F.cleanUp(directory) }
        let store = try Self.store(directory)
        let big = (0..<5).map { F.record(topic: MasterDataTopic.item, key: "BIG-\($0)", value: Array(repeating: 0x78, count: 5_000_000), offset: Int64($0)) }
        try store.apply(big, positions: [Self.item0: 5])
        let first = try store.pendingOutputs(limit: 500)
        #expect(first.map { Self.header($0.record, "original-offset") } == ["0", "1", "2"], "15 MB of values; a fourth would pass 16 MiB")
        #expect(first.allSatisfy { ($0.record.value?.count ?? 0) < DeadLetter.maxRecordBytes }, "each dead letter cut to fit")
        try store.outputsDelivered(first.map(\.id))
        #expect(try store.pendingOutputs(limit: 500).map { Self.header($0.record, "original-offset") } == ["3", "4"])

        try store.apply(
            [F.record(topic: MasterDataTopic.item, key: "HUGE", value: Array(repeating: 0x78, count: 20_000_000), offset: 5)], positions: [Self.item0: 6])
        try store.outputsDelivered(try store.pendingOutputs(limit: 500).map(\.id))
        #expect(try store.pendingOutputs(limit: 500).map { $0.record.key } == [Array("HUGE".utf8)], "one record larger than the cap still goes, alone")
    }

    @Test("rows rejected before dead letters existed (a v1 database) are kept and not dead-lettered after the upgrade")
    func upgradeKeepsOldRejectionsOutOfTheOutbox() async throws {
        let directory = F.stateDirectory()
        defer { F.cleanUp(directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let old = try DatabaseQueue(path: directory + "/" + MasterDataStore.fileName)
        try MasterDataStore.migrator.migrate(old, upTo: "v1: master data, positions, rejected")
        try await old.write { db in
            try db.execute(
                sql: """
                    INSERT INTO rejected (topic, "partition", "offset", key, value, reason, error, correlation_id, received_at, received_at_ms)
                    VALUES ('mdm.item.v1', 0, 3, 'ITEM-1', x'7b', 'MALFORMED_JSON', 'not JSON', NULL, '2026-11-01T00:00:00.000Z', 1793491200000)
                    """)
        }
        try old.close()
        let store = try Self.store(directory)
        #expect(try store.pendingOutputs(limit: 10).isEmpty)
        let rejected = try await store.rejectedRecords()
        #expect(rejected.map(\.offset) == [3] && rejected.first?.deadLetter == .notSent)
        #expect(try await store.counts() == MasterDataCounts(rejected: 1, pendingDeadLetters: 0))
    }
}
