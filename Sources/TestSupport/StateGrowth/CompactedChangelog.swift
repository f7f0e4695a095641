import Foundation
import GRDB
import Kafka
import Streams

/// The changelog partitions of the state-growth benchmark's tasks, as Kafka's log cleaner leaves
/// them: the last record of each key at its offset, tombstones removed once applied (as after
/// `delete.retention.ms`). Kept in a SQLite file, not in memory, so that the benchmark's memory is
/// the tasks' (a broker holds its logs on its own disk). Counts the bytes appended too, before
/// compaction. Each task's log is readable by a restore (``reader(task:)``).
public final class CompactedChangelog {
    private let database: DatabaseQueue
    /// Per task: the offset after its last record, records and key + value bytes appended.
    public private(set) var ends: [String: Int64] = [:]
    public private(set) var appendedRecords: [String: Int] = [:]
    public private(set) var appendedBytes: [String: Int] = [:]

    public init(path: String) throws {
        try? FileManager.default.removeItem(atPath: path)
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -4000")
        }
        database = try DatabaseQueue(path: path, configuration: configuration)
        try database.write { db in
            try db.execute(
                sql: "CREATE TABLE log (task TEXT NOT NULL, key BLOB NOT NULL, offset INTEGER NOT NULL, value BLOB NOT NULL, PRIMARY KEY (task, key))")
        }
    }

    /// Appends one commit's records of each task (one SQLite transaction).
    public func append(_ commits: [(task: String, records: [ChangelogEntry])]) throws {
        try database.write { db in
            let upsert = try db.cachedStatement(sql: "INSERT OR REPLACE INTO log (task, key, offset, value) VALUES (?, ?, ?, ?)")
            let delete = try db.cachedStatement(sql: "DELETE FROM log WHERE task = ? AND key = ?")
            for (task, records) in commits {
                for record in records {
                    if let value = record.value {
                        try upsert.execute(arguments: [task, Data(record.key), record.offset, Data(value)])
                    } else {
                        try delete.execute(arguments: [task, Data(record.key)])
                    }
                    appendedBytes[task, default: 0] += record.key.count + (record.value?.count ?? 0)
                    ends[task] = record.offset + 1
                }
                appendedRecords[task, default: 0] += records.count
            }
        }
    }

    /// One task's compacted log: records and key + value bytes.
    public struct Size: Sendable {
        public var records = 0
        public var bytes = 0
    }

    /// Every task's compacted log now.
    public func sizes() throws -> [String: Size] {
        try database.read { db in
            var sizes: [String: Size] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT task, count(*), sum(length(key) + length(value)) FROM log GROUP BY task") {
                sizes[row[0]] = Size(records: row[1], bytes: row[2] ?? 0)
            }
            return sizes
        }
    }

    /// Store entries of one task's compacted log, by store (the records that are not positions or
    /// commit markers).
    public func storeKeys(task: String) throws -> Set<String> {
        try database.read { db in
            var keys: Set<String> = []
            let rows = try Row.fetchCursor(db, sql: "SELECT key FROM log WHERE task = ?", arguments: [task])
            while let row = try rows.next() {
                let data: Data = row[0]
                let key = String(decoding: data, as: UTF8.self)
                if !key.hasPrefix("\u{1F}") { keys.insert(key) }
            }
            return keys
        }
    }

    /// Makes reading a task's log in offset order cheap (a broker's log is in that order anyway).
    public func prepareForReading() throws {
        try database.write { db in try db.execute(sql: "CREATE INDEX IF NOT EXISTS log_offset ON log (task, offset)") }
    }

    /// A task's log start and end: compaction keeps the start at 0.
    public func watermarks(task: String) -> KafkaWatermarks { KafkaWatermarks(low: 0, high: ends[task] ?? 0) }

    /// Reads a task's compacted log as a consumer reads a changelog partition.
    public func reader(task: String) -> any ChangelogReader { Reader(log: self, task: task) }

    fileprivate func page(task: String, from offset: Int64, limit: Int) throws -> [(offset: Int64, key: [UInt8], value: [UInt8])] {
        try database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT offset, key, value FROM log WHERE task = ? AND offset >= ? ORDER BY offset LIMIT ?", arguments: [task, offset, limit]
            ).map { row in
                let key: Data = row[1]
                let value: Data = row[2]
                return (row[0], Array(key), Array(value))
            }
        }
    }

    private final class Reader: ChangelogReader {
        let log: CompactedChangelog
        let task: String
        let end: Int64
        var position: Int64 = 0
        var reachedEnd = false

        init(log: CompactedChangelog, task: String) {
            self.log = log
            self.task = task
            end = log.ends[task] ?? 0
        }

        func assign(_ positions: [KafkaTopicPartitionOffset]) throws(KafkaError) {
            position = max(0, positions.first?.offset ?? 0)  // KafkaOffset.beginning (negative): the start
            reachedEnd = false
        }

        func pollBatch(maxMessages: Int, timeout: Duration) throws(KafkaError) -> [KafkaConsumerEvent] {
            let tp = KafkaTopicPartition(topic: task, partition: 0)
            guard !reachedEnd else { return [] }
            let page: [(offset: Int64, key: [UInt8], value: [UInt8])]
            do { page = try log.page(task: task, from: position, limit: maxMessages) } catch {
                throw KafkaError(code: .invalidState, reason: "compacted changelog of \(task): \(error)")
            }
            var events = page.map { record in
                KafkaConsumerEvent.message(KafkaConsumerMessage(topic: task, partition: 0, offset: record.offset, key: record.key, value: record.value))
            }
            if let last = page.last { position = last.offset + 1 }
            if page.count < maxMessages {
                reachedEnd = true
                events.append(.partitionEOF(KafkaTopicPartitionOffset(tp, offset: end)))
            }
            return events
        }

        func close() throws(KafkaError) {}
    }
}
