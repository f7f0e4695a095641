import GRDB

/// An error of the master-data store: SQLite refused, the state directory is unusable, or a
/// stored row no longer decodes.
public struct MasterDataStoreError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, as a code that new cases can be added to without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Backing: Hashable, Sendable {
            case sqlite(Int32)
            case fileSystem
            case corruptRow
            case other
        }
        private let backing: Backing

        /// An SQLite result code (extended, for example 2067 `SQLITE_CONSTRAINT_UNIQUE`).
        public static func sqlite(_ extendedResultCode: Int32) -> Code { Code(backing: .sqlite(extendedResultCode)) }
        /// The state directory could not be created or opened.
        public static let fileSystem = Code(backing: .fileSystem)
        /// A stored row's JSON no longer decodes with the model (written by another version?).
        public static let corruptRow = Code(backing: .corruptRow)
        /// Anything else GRDB reported (the underlying error says what).
        public static let other = Code(backing: .other)

        /// The SQLite extended result code, when this is one.
        public var sqliteCode: Int32? {
            if case .sqlite(let raw) = backing { return raw }
            return nil
        }

        public var description: String {
            switch backing {
            case .sqlite(let raw): return "sqlite(\(raw))"
            case .fileSystem: return "fileSystem"
            case .corruptRow: return "corruptRow"
            case .other: return "other"
            }
        }
    }

    /// What went wrong.
    public let code: Code
    /// What the store was doing, naming the table, key or path.
    public let reason: String
    /// The GRDB, SQLite or file-system error underneath, if any.
    public let underlying: (any Error)?
    /// Where the error was raised: file (`Module/File.swift`) and line.
    public let file: String
    public let line: UInt

    /// - Parameters:
    ///   - reason: what the store was doing, naming the table, key or path.
    ///   - underlying: the GRDB, SQLite or file-system error, if any.
    public init(code: Code, reason: String, underlying: (any Error)? = nil, file: String = #fileID, line: UInt = #line) {
        self.code = code
        self.reason = reason
        self.underlying = underlying
        self.file = file
        self.line = line
    }

    /// The same call may succeed later: the database was busy or locked by another connection.
    public var isRetriable: Bool {
        guard let raw = code.sqliteCode else { return false }
        let primary = raw & 0xFF
        return primary == ResultCode.SQLITE_BUSY.rawValue || primary == ResultCode.SQLITE_LOCKED.rawValue
    }

    public var description: String {
        let cause = underlying.map { ": \($0)" } ?? ""
        return "MasterDataStoreError.\(code): \(reason)\(cause) (at \(file):\(line))"
    }

    /// The one place where a GRDB or SQLite error becomes a ``MasterDataStoreError``.
    /// - Parameter what: what the store was doing ("apply a batch of 500 records").
    static func check<T>(
        _ what: @autoclosure () -> String, file: String = #fileID, line: UInt = #line, _ body: () throws -> T
    ) throws(MasterDataStoreError) -> T {
        do {
            return try body()
        } catch {
            throw converting(error, what(), file: file, line: line)
        }
    }

    /// ``check(_:file:line:_:)`` for GRDB's `async` calls (which run on GRDB's queues).
    static func check<T>(
        _ what: @autoclosure () -> String, file: String = #fileID, line: UInt = #line, _ body: () async throws -> T
    ) async throws(MasterDataStoreError) -> T {
        do {
            return try await body()
        } catch {
            throw converting(error, what(), file: file, line: line)
        }
    }

    private static func converting(_ error: any Error, _ what: String, file: String, line: UInt) -> MasterDataStoreError {
        switch error {
        case let error as MasterDataStoreError:
            return error
        case let error as DatabaseError:
            let message = error.message.map { ": \($0)" } ?? ""
            return MasterDataStoreError(
                code: .sqlite(error.extendedResultCode.rawValue), reason: "\(what) failed\(message)", underlying: error,
                file: file, line: line)
        default:
            return MasterDataStoreError(code: .other, reason: "\(what) failed", underlying: error, file: file, line: line)
        }
    }
}
