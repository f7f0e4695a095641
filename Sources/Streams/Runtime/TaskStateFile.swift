import Foundation
import GRDB

/// A task's state on local disk (SQLite, WAL) with the changelog offset it is current to, so a
/// worker restarted on the same state directory reads only the changelog after that offset.
/// The changelog stays the source of truth: this file is a cache of it.
///
/// The loop thread reads it when a task is restored; the committer thread writes each committed
/// batch. GRDB's queue serializes the two.
final class TaskStateFile {
    private let database: DatabaseQueue
    let path: String

    struct Snapshot {
        var entries: [(store: String, key: String, value: [UInt8])] = []
        var streamTime: Int64 = .min
        var positions: [String: Int64] = [:]
        /// The changelog offset after the last commit this file holds; 0 when empty.
        var changelogOffset: Int64 = 0
    }

    init(directory: String, processor: String, partition: Int32) throws {
        let folder = URL(fileURLWithPath: directory).appendingPathComponent(processor)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        path = folder.appendingPathComponent("task-\(partition).sqlite").path
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            // A small page cache: the file is written once per commit and read only at start, and
            // a worker has one per task (SQLite's default, 2 MB each, added up to tens of MB).
            try db.execute(sql: "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -256")
        }
        database = try DatabaseQueue(path: path, configuration: configuration)
        try database.write { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS kv (store TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY (store, key));
                CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
                """)
        }
    }

    func load() throws -> Snapshot {
        try database.read { db in
            var snapshot = Snapshot()
            for row in try Row.fetchAll(db, sql: "SELECT store, key, value FROM kv") {
                let data: Data = row["value"]
                snapshot.entries.append((row["store"], row["key"], Array(data)))
            }
            for row in try Row.fetchAll(db, sql: "SELECT name, value FROM meta") {
                let name: String = row["name"]
                let value: String = row["value"]
                switch name {
                case "changelogOffset": snapshot.changelogOffset = Int64(value) ?? 0
                case "streamTime": snapshot.streamTime = Int64(value) ?? .min
                default:
                    if name.hasPrefix("position:"), let offset = Int64(value) { snapshot.positions[String(name.dropFirst(9))] = offset }
                }
            }
            return snapshot
        }
    }

    /// Writes one committed batch and the changelog offset after it, in one SQLite transaction.
    func apply(changes: [(store: String, key: String, value: [UInt8]?)], streamTime: Int64, positions: [String: Int64], changelogOffset: Int64) throws {
        try database.write { db in
            // Cached statements: SQL parsed once per file, not once per row.
            let upsert = try db.cachedStatement(sql: "INSERT OR REPLACE INTO kv (store, key, value) VALUES (?, ?, ?)")
            let delete = try db.cachedStatement(sql: "DELETE FROM kv WHERE store = ? AND key = ?")
            let meta = try db.cachedStatement(sql: "INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)")
            for change in changes {
                if let value = change.value {
                    try upsert.execute(arguments: [change.store, change.key, Data(value)])
                } else {
                    try delete.execute(arguments: [change.store, change.key])
                }
            }
            try meta.execute(arguments: ["changelogOffset", String(changelogOffset)])
            try meta.execute(arguments: ["streamTime", String(streamTime)])
            for (topic, offset) in positions {
                try meta.execute(arguments: ["position:\(topic)", String(offset)])
            }
        }
    }

    /// Forgets everything (the changelog no longer matches this file).
    func reset() throws {
        try database.write { db in
            try db.execute(sql: "DELETE FROM kv; DELETE FROM meta")
        }
    }
}
