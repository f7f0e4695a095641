import Foundation
import GRDB

/// A task's state on local disk (SQLite, WAL) with the changelog offset it is current to, so a
/// worker restarted on the same state directory reads only the changelog after that offset.
/// The changelog stays the source of truth: this file is a cache of it.
///
/// Committed batches are staged in memory and written together at most every `interval`
/// (``StreamsConfiguration/stateFileInterval``), last value per key, and when the task leaves
/// (``flush()``): in a burst a work order changes in nearly every batch, and writing every batch
/// cost the committer threads half their time (Docs/performance.md, seventh session). The file is
/// always consistent: it holds exactly the state as of its changelog offset; a worker that dies
/// before a write reads the rest from the changelog.
///
/// The loop thread reads it when a task is restored and flushes it when the task leaves; the
/// committer thread stages each committed batch. A lock keeps the staged batches whole between
/// the two (a loop thread stopping after an error releases its tasks without waiting for the
/// transaction in flight); GRDB's queue serializes the file itself.
final class TaskStateFile {
    private let database: DatabaseQueue
    let path: String
    let interval: Duration
    /// The changelog this file is a cache of, written with its offset; `nil` writes none.
    let changelogTopic: String?

    private struct Key: Hashable {
        var store: String
        var key: String
    }

    /// Committed, not yet written: the last value of each key (nil: deleted).
    private var staged: [Key: [UInt8]?] = [:]
    private var stagedMeta: (streamTime: Int64, positions: [String: Int64], changelogOffset: Int64)?
    private var lastWrite = ContinuousClock.now
    private let lock = NSLock()

    struct Snapshot {
        var entries: [(store: String, key: String, value: [UInt8])] = []
        var streamTime: Int64 = .min
        var positions: [String: Int64] = [:]
        /// The changelog offset after the last commit this file holds; 0 when empty.
        var changelogOffset: Int64 = 0
        /// The changelog topic the offset is of; nil in a file written before it was recorded.
        var changelogTopic: String?
    }

    /// - Parameter changelogTopic: the changelog this file caches; recorded with the offset, so a
    ///   file of another topic (a renamed changelog, another group) is recognised and not used.
    init(directory: String, processor: String, partition: Int32, interval: Duration = .zero, changelogTopic: String? = nil) throws {
        self.interval = interval
        self.changelogTopic = changelogTopic
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
            try db.execute(
                sql: """
                    CREATE TABLE IF NOT EXISTS kv (store TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY (store, key));
                    CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
                    """)
        }
    }

    /// Opens the task's file like ``init(directory:processor:partition:interval:changelogTopic:)``.
    /// One SQLite cannot read — not a database, or damaged (`SQLITE_NOTADB`, `SQLITE_CORRUPT`) — is
    /// moved aside (`task-<p>.sqlite.corrupt-<ms>`, with its `-wal` and `-shm`, kept for a look)
    /// and a new, empty one is made: the file is a cache of the changelog, which fills it again.
    /// - Returns: the file, and where the unreadable one went (nil when none was moved).
    static func openMovingAsideIfUnreadable(
        directory: String, processor: String, partition: Int32, interval: Duration = .zero, changelogTopic: String? = nil
    ) throws -> (file: TaskStateFile, movedTo: String?) {
        func open() throws -> TaskStateFile {
            let file = try TaskStateFile(directory: directory, processor: processor, partition: partition, interval: interval, changelogTopic: changelogTopic)
            _ = try file.meta()
            return file
        }
        do {
            return (try open(), nil)
        } catch  where isUnreadable(error) {
            let path = URL(fileURLWithPath: directory).appendingPathComponent(processor).appendingPathComponent("task-\(partition).sqlite").path
            let movedTo = try moveAside(path)
            return (try open(), movedTo)
        }
    }

    /// SQLite says the file is not a database, or a damaged one.
    static func isUnreadable(_ error: any Error) -> Bool {
        guard let error = error as? DatabaseError else { return false }
        return error.resultCode == .SQLITE_NOTADB || error.resultCode == .SQLITE_CORRUPT
    }

    /// Moves the file at `path` (and its `-wal` and `-shm`) to `<path>.corrupt-<ms>`; returns that.
    /// The file must not be open any more.
    static func moveAside(_ path: String) throws -> String {
        let aside = "\(path).corrupt-\(Int64(Date().timeIntervalSince1970 * 1000))"
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
            try FileManager.default.moveItem(atPath: path + suffix, toPath: aside + suffix)
        }
        return aside
    }

    /// Everything in the file, entries included.
    func load() throws -> Snapshot {
        var snapshot = try meta()
        try forEachEntry { store, key, value in snapshot.entries.append((store, key, value)) }
        return snapshot
    }

    /// The file's offset, stream time, positions and topic, without its entries.
    func meta() throws -> Snapshot {
        try database.read { db in
            var snapshot = Snapshot()
            for row in try Row.fetchAll(db, sql: "SELECT name, value FROM meta") {
                let name: String = row["name"]
                let value: String = row["value"]
                switch name {
                case "changelogOffset": snapshot.changelogOffset = Int64(value) ?? 0
                case "changelogTopic": snapshot.changelogTopic = value
                case "streamTime": snapshot.streamTime = Int64(value) ?? .min
                default:
                    if name.hasPrefix("position:"), let offset = Int64(value) { snapshot.positions[String(name.dropFirst(9))] = offset }
                }
            }
            return snapshot
        }
    }

    /// Whether the file holds any entry.
    func isEmpty() throws -> Bool {
        try database.read { db in try Row.fetchOne(db, sql: "SELECT 1 FROM kv LIMIT 1") == nil }
    }

    /// Entries by store and kind (`<store>/<key up to its first ':'>`, `<store>/` for keys without
    /// one), without reading values.
    func entryCounts() throws -> [String: Int] {
        try database.read { db in
            var counts: [String: Int] = [:]
            let rows = try Row.fetchCursor(
                db,
                sql:
                    "SELECT store, CASE WHEN instr(key, ':') > 0 THEN substr(key, 1, instr(key, ':')) ELSE '' END AS kind, count(*) FROM kv GROUP BY store, kind"
            )
            while let row = try rows.next() {
                let store: String = row[0]
                let kind: String = row[1]
                counts["\(store)/\(kind)"] = row[2]
            }
            return counts
        }
    }

    /// Each entry in turn, read with a cursor: a restore streams the file into the store without
    /// holding its rows.
    func forEachEntry(_ body: (String, String, [UInt8]) throws -> Void) throws {
        try database.read { db in
            let rows = try Row.fetchCursor(db, sql: "SELECT store, key, value FROM kv")
            while let row = try rows.next() {
                let data: Data = row["value"]
                try body(row["store"], row["key"], Array(data))
            }
        }
    }

    /// Stages one committed batch and the changelog offset after it; writes what is staged when
    /// `interval` has passed since the last write.
    func apply(changes: [(store: String, key: String, value: [UInt8]?)], streamTime: Int64, positions: [String: Int64], changelogOffset: Int64) throws {
        lock.lock()
        defer { lock.unlock() }
        for change in changes {
            staged[Key(store: change.store, key: change.key)] = .some(change.value)
        }
        var meta = stagedMeta ?? (streamTime, [:], changelogOffset)
        meta.streamTime = streamTime
        meta.positions.merge(positions) { $1 }
        meta.changelogOffset = changelogOffset
        stagedMeta = meta
        if ContinuousClock.now - lastWrite >= interval { try write() }
    }

    /// Writes what is staged now.
    func flush() throws {
        lock.lock()
        defer { lock.unlock() }
        try write()
    }

    /// Writes what is staged, in one SQLite transaction. Under `lock`.
    private func write() throws {
        guard let meta = stagedMeta else { return }
        try database.write { db in
            // Cached statements: SQL parsed once per file, not once per row.
            let upsert = try db.cachedStatement(sql: "INSERT OR REPLACE INTO kv (store, key, value) VALUES (?, ?, ?)")
            let delete = try db.cachedStatement(sql: "DELETE FROM kv WHERE store = ? AND key = ?")
            let metaRow = try db.cachedStatement(sql: "INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)")
            for (key, value) in staged {
                if let value {
                    try upsert.execute(arguments: [key.store, key.key, Data(value)])
                } else {
                    try delete.execute(arguments: [key.store, key.key])
                }
            }
            try metaRow.execute(arguments: ["changelogOffset", String(meta.changelogOffset)])
            if let changelogTopic { try metaRow.execute(arguments: ["changelogTopic", changelogTopic]) }
            try metaRow.execute(arguments: ["streamTime", String(meta.streamTime)])
            for (topic, offset) in meta.positions {
                try metaRow.execute(arguments: ["position:\(topic)", String(offset)])
            }
        }
        staged = [:]
        stagedMeta = nil
        lastWrite = .now
    }

    // MARK: Reads of a store kept on disk

    /// The value of `key` as committed: staged (not written yet) or in the file; `.some(nil)` when
    /// staged as deleted, nil when neither has it. Called by the task's thread.
    func value(store: String, key: String) throws -> [UInt8]? {
        lock.lock()
        defer { lock.unlock() }
        if let staged = staged[Key(store: store, key: key)] { return staged }
        // The hot read (a quiet work order read back for its next event): the statement is
        // prepared once per file, and one SELECT needs no transaction of its own (GRDB's `read`
        // began and ended one per key: with preparing the statement, half the cost of a read).
        return try database.inDatabase { db in
            let statement = try db.cachedStatement(sql: "SELECT value FROM kv WHERE store = ? AND key = ?")
            return try Data.fetchOne(statement, arguments: [store, key]).map { Array($0) }
        }
    }

    /// Every committed entry of `store` whose key starts with `prefix` (staged ones included), by key.
    func entries(store: String, prefix: String) throws -> [String: [UInt8]] {
        lock.lock()
        defer { lock.unlock() }
        var entries: [String: [UInt8]] = [:]
        try database.read { db in
            // Keys from `prefix` up to the first that does not start with it.
            let rows = try Row.fetchCursor(
                db, sql: "SELECT key, value FROM kv WHERE store = ? AND key >= ? AND substr(key, 1, ?) = ?",
                arguments: [store, prefix, prefix.unicodeScalars.count, prefix])
            while let row = try rows.next() {
                let data: Data = row["value"]
                entries[row["key"]] = Array(data)
            }
        }
        for (key, value) in staged where key.store == store && key.key.hasPrefix(prefix) { entries[key.key] = value }
        return entries
    }

    /// Forgets everything (the changelog no longer matches this file).
    func reset() throws {
        lock.lock()
        defer { lock.unlock() }
        staged = [:]
        stagedMeta = nil
        try database.write { db in
            try db.execute(sql: "DELETE FROM kv; DELETE FROM meta")
        }
    }
}
