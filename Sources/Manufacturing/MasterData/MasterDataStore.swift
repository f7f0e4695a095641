import Foundation
import GRDB
import Logging
import Streams

/// Master data on disk: one SQLite database at `<stateDirectory>/master-data.sqlite` in WAL mode,
/// with a table per kind (`plant`, `item`, `bom`, `routing`: the natural key, the data as JSON
/// written by the model, and the partition and offset of the record that wrote it), the positions
/// read (`positions`), and the records that could not be applied (`rejected`, which is also the
/// outbox of their dead letters until the cluster acknowledged them).
///
/// It is the ``GlobalTableSink`` of the master-data topics: each batch — rows, rejections and
/// positions — is one SQLite transaction, so a crash loses nothing and a restart reads only what
/// came after the last committed batch. `synchronous=NORMAL`: a committed batch survives a
/// process crash; a power loss may take the last batches back, and their positions with them, so
/// they are read again from Kafka.
///
/// - Important: Thread-safe. Writes run on GRDB's writer queue, called from the global-table
///   loader's thread. The synchronous point reads (``value(_:key:)``) run on the calling thread
///   and take microseconds (one primary-key `SELECT` on a reader connection, which in WAL mode
///   never waits for the writer); the `async` methods run on GRDB's dispatch queues, never on the
///   cooperative pool.
public final class MasterDataStore: Sendable {
    /// The database file's name inside the state directory.
    public static let fileName = "master-data.sqlite"

    /// Full path of the database file.
    public let path: String
    let database: DatabasePool
    let logger: Logger

    /// Opens (creating the directory and the schema if needed) the store in `stateDirectory`.
    /// Blocks the calling thread while the file is opened and migrated: call it once, at startup.
    /// A file SQLite finds damaged, or not a database at all, is moved aside (`…corrupt-<ms>`, with
    /// a warning) and replaced by an empty store: the loader reads the master-data topics again.
    /// - Throws: `.fileSystem` when the directory cannot be created; `.sqlite` when the file
    ///   cannot be opened or migrated (the reason names the path).
    public init(stateDirectory: String, logger: Logger) throws(MasterDataStoreError) {
        do {
            try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        } catch {
            throw MasterDataStoreError(code: .fileSystem, reason: "cannot create the state directory \(stateDirectory)", underlying: error)
        }
        path = URL(fileURLWithPath: stateDirectory).appendingPathComponent(Self.fileName).path
        self.logger = logger
        var configuration = Configuration()
        configuration.label = "millwright.master-data"
        configuration.prepareDatabase { db in
            // WAL (set by DatabasePool) + NORMAL: durable across process crashes (see the type's doc).
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        let path = self.path
        do {
            database = try Self.open(path, configuration)
        } catch let error where Self.isCorrupt(error) {
            // A cache, not the truth: the master-data topics are. A damaged file is kept for a
            // look and replaced by an empty one, which the loader fills from Kafka again.
            let aside = "\(path).corrupt-\(Int64(Date().timeIntervalSince1970 * 1000))"
            logger.warning(
                "master-data database unreadable; moved aside and rebuilt from the master-data topics",
                metadata: ["path": "\(path)", "movedTo": "\(aside)", "error": "\(error)"])
            for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
                do { try FileManager.default.moveItem(atPath: path + suffix, toPath: aside + suffix) } catch {
                    throw MasterDataStoreError(code: .fileSystem, reason: "cannot move the unreadable \(path + suffix) aside", underlying: error)
                }
            }
            database = try Self.open(path, configuration)
        }
    }

    /// Opens the file and creates or migrates its schema.
    private static func open(_ path: String, _ configuration: Configuration) throws(MasterDataStoreError) -> DatabasePool {
        let database = try MasterDataStoreError.check("open \(path)") {
            try DatabasePool(path: path, configuration: configuration)
        }
        try MasterDataStoreError.check("create the schema in \(path)") {
            try Self.migrator.migrate(database)
        }
        return database
    }

    /// SQLite says the file is not a database, or a damaged one (`SQLITE_NOTADB`, `SQLITE_CORRUPT`).
    static func isCorrupt(_ error: MasterDataStoreError) -> Bool {
        guard let code = error.code.sqliteCode else { return false }
        return code & 0xFF == 26 || code & 0xFF == 11
    }

    // MARK: Reading

    /// The stored row of `key`, decoded with the model type, or `nil` when there is none.
    /// - Throws: `.sqlite` when the read fails, `.corruptRow` when the stored JSON no longer decodes.
    public func value<P: MasterDataPayload>(_ type: P.Type, key: String) throws(MasterDataStoreError) -> P? {
        let json: String? = try MasterDataStoreError.check("read \(P.kind) '\(key)'") {
            // One statement: no transaction needed for a consistent answer, and none is paid for.
            try database.unsafeRead { db in
                try String.fetchOne(db.cachedStatement(sql: "SELECT data FROM \(P.kind.table) WHERE key = ?"), arguments: [key])
            }
        }
        guard let json else { return nil }
        return try Self.decodeRow(json, as: P.self, key: key)
    }

    /// The stored plant with this code, or `nil`.
    public func plant(_ plantCode: String) throws(MasterDataStoreError) -> Plant? { try value(Plant.self, key: plantCode) }

    /// The stored item with this id, or `nil`.
    public func item(_ itemId: String) throws(MasterDataStoreError) -> Item? { try value(Item.self, key: itemId) }

    /// The stored bill of materials of this item and revision, or `nil`.
    public func bom(itemId: String, revision: String) throws(MasterDataStoreError) -> BillOfMaterials? {
        try value(BillOfMaterials.self, key: BillOfMaterials.key(itemId: itemId, revision: revision))
    }

    /// The stored routing of this item in this plant, or `nil`.
    public func routing(itemId: String, plant: String) throws(MasterDataStoreError) -> Routing? {
        try value(Routing.self, key: Routing.key(itemId: itemId, plant: plant))
    }

    /// Rows per kind and rejected records.
    public func counts() async throws(MasterDataStoreError) -> MasterDataCounts {
        try await MasterDataStoreError.check("count the rows") {
            try await database.read { db in
                var counts = MasterDataCounts()
                for kind in MasterDataKind.allCases {
                    counts[kind] = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(kind.table)") ?? 0
                }
                counts.rejected = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM rejected") ?? 0
                counts.pendingDeadLetters = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM rejected WHERE dead_letter = 'PENDING'") ?? 0
                return counts
            }
        }
    }

    /// Rejected records, the most recent first.
    public func rejectedRecords(limit: Int = 100) async throws(MasterDataStoreError) -> [MasterDataRejection] {
        try await MasterDataStoreError.check("read the rejected records") {
            try await database.read { db in
                try Row.fetchAll(
                    db, sql: "SELECT \(Self.rejectedColumns) FROM rejected ORDER BY received_at_ms DESC, rowid DESC LIMIT ?", arguments: [limit]
                ).map(Self.rejection)
            }
        }
    }

    /// Decodes a stored row with the model, as the contract's `data` object.
    static func decodeRow<P: MasterDataPayload>(_ json: String, as type: P.Type, key: String) throws(MasterDataStoreError) -> P {
        do {
            guard case .object(let object) = try JSONParser.parse(json.utf8) else {
                throw MasterDataStoreError(code: .corruptRow, reason: "\(P.kind) '\(key)': the stored data is not a JSON object")
            }
            return try P(data: FieldReader(object, path: "data", reason: .invalidField), version: P.currentVersion)
        } catch let error as MasterDataStoreError {
            throw error
        } catch {
            throw MasterDataStoreError(code: .corruptRow, reason: "\(P.kind) '\(key)': the stored data no longer decodes", underlying: error)
        }
    }

    /// The wall clock, to the millisecond.
    static func now() -> Timestamp {
        Timestamp(milliseconds: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
    }
}
