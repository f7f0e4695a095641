import Foundation
import GRDB
import Streams

/// The store's outbox: rejected records whose dead letter the cluster has not acknowledged yet.
/// The global-table loader sends them to `ops.dead-letter.v1` and reports each delivery; a row is
/// then `SENT` and never handed out again.
extension MasterDataStore {
    /// Values handed out by one ``pendingOutputs(limit:)`` at most (at least one record): a
    /// flood of large bad records is sent a few at a time, not held in memory all at once.
    static let pendingOutputBytes = 16 * 1024 * 1024

    /// Up to `limit` dead letters still to send, in the order their records were stored, and no
    /// more than ``pendingOutputBytes`` of values.
    public func pendingOutputs(limit: Int) throws(MasterDataStoreError) -> [GlobalTableOutput] {
        try MasterDataStoreError.check("read the pending dead letters") {
            try database.read { db in
                var outputs: [GlobalTableOutput] = []
                var bytes = 0
                let rows = try Row.fetchCursor(
                    db,
                    sql: """
                        SELECT rowid, \(Self.rejectedColumns) FROM rejected
                        WHERE dead_letter = 'PENDING' ORDER BY rowid LIMIT ?
                        """,
                    arguments: [limit])
                while let row = try rows.next() {
                    let rejection = try Self.rejection(row)
                    bytes += rejection.value?.count ?? 0
                    if bytes > Self.pendingOutputBytes && !outputs.isEmpty { break }
                    outputs.append(GlobalTableOutput(id: row["rowid"], record: rejection.deadLetterRecord))
                }
                return outputs
            }
        }
    }

    /// The cluster acknowledged these dead letters: they are `SENT`, now.
    public func outputsDelivered(_ ids: [GlobalTableOutput.ID]) throws(MasterDataStoreError) {
        guard !ids.isEmpty else { return }
        let now = Self.now().milliseconds
        try MasterDataStoreError.check("store the delivery of \(ids.count) dead letters") {
            try database.write { db in
                let mark = try db.cachedStatement(sql: "UPDATE rejected SET dead_letter = 'SENT', dead_lettered_at_ms = ? WHERE rowid = ?")
                for id in ids { try mark.execute(arguments: [now, id]) }
            }
        }
    }

    /// The columns ``rejection(_:)`` reads.
    static let rejectedColumns = """
        topic, "partition", "offset", key, value, reason, error, correlation_id, received_at_ms, raw_key, headers, timestamp_ms, \
        dead_letter, dead_lettered_at_ms
        """

    /// A `rejected` row (``rejectedColumns``).
    static func rejection(_ row: Row) throws -> MasterDataRejection {
        let deadLetter: MasterDataRejection.DeadLetterState
        switch row["dead_letter"] as String? {
        case "PENDING": deadLetter = .pending
        case "SENT": deadLetter = .sent(at: Timestamp(milliseconds: row["dead_lettered_at_ms"] ?? 0))
        default: deadLetter = .notSent
        }
        return MasterDataRejection(
            topic: row["topic"], partition: row["partition"], offset: row["offset"], key: row["key"],
            value: (row["value"] as Data?).map { Array($0) },
            reason: MasterDataRejection.Reason(rawValue: row["reason"]), error: row["error"],
            correlationId: row["correlation_id"], receivedAt: Timestamp(milliseconds: row["received_at_ms"]),
            rawKey: (row["raw_key"] as Data?).map { Array($0) }, headers: try decodeHeaders(row["headers"]), timestamp: row["timestamp_ms"],
            deadLetter: deadLetter)
    }

    /// Headers as stored: their count, then each name and, after a presence byte, its value bytes.
    static func encode(_ headers: [StreamRecord.Header]) -> Data {
        var writer = StateWriter(capacity: 16 + headers.reduce(0) { $0 + $1.key.utf8.count + ($1.value?.count ?? 0) + 4 })
        writer.count(headers.count)
        for header in headers {
            writer.string(header.key)
            if let value = header.value {
                writer.byte(1)
                writer.data(value)
            } else {
                writer.byte(0)
            }
        }
        return Data(writer.bytes)
    }

    static func decodeHeaders(_ data: Data?) throws -> [StreamRecord.Header] {
        guard let data else { return [] }
        var reader = StateReader(Array(data))
        do {
            var headers: [StreamRecord.Header] = []
            for _ in 0..<(try reader.count()) {
                let key = try reader.string()
                headers.append(StreamRecord.Header(key: key, value: try reader.byte() == 1 ? try reader.data() : nil))
            }
            return headers
        } catch {
            throw MasterDataStoreError(code: .corruptRow, reason: "a rejected record's stored headers are cut short")
        }
    }
}
