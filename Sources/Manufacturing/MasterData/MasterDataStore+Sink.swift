import Foundation
import GRDB
import Logging
import Streams

extension MasterDataStore: GlobalTableSink {
    /// The next offset to read per partition, as the last committed batch stored it.
    public func storedPositions() throws(MasterDataStoreError) -> [TopicPartition: Int64] {
        try MasterDataStoreError.check("read the stored positions") {
            try database.read { db in
                var positions: [TopicPartition: Int64] = [:]
                for row in try Row.fetchAll(db, sql: #"SELECT topic, "partition", next_offset FROM positions"#) {
                    positions[TopicPartition(topic: row["topic"], partition: row["partition"])] = row["next_offset"]
                }
                return positions
            }
        }
    }

    /// Applies a batch in one SQLite transaction: for each record by topic, a tombstone deletes
    /// the row of its key and a value is decoded and upserted under the payload's natural key; a
    /// record that does not decode, or whose Kafka key is not the natural key, goes to `rejected`
    /// instead (and is logged), its dead letter pending there (``pendingOutputs(limit:)``). The
    /// positions are written in the same transaction, so a dead letter is stored before the
    /// position that covers its record.
    public func apply(_ records: [StreamRecord], positions: [TopicPartition: Int64]) throws(MasterDataStoreError) {
        _ = try applyBatch(records, positions: positions)
    }

    /// ``apply(_:positions:)``, returning what changed (for the cache's in-memory front).
    func applyBatch(_ records: [StreamRecord], positions: [TopicPartition: Int64]) throws(MasterDataStoreError) -> MasterDataChanges {
        let receivedAt = Self.now()
        let batch = MasterDataBatch(records, receivedAt: receivedAt)
        try MasterDataStoreError.check("apply a batch of \(records.count) records") {
            try database.write { db in
                try Self.write(batch, positions: positions, receivedAt: receivedAt, to: db)
            }
        }
        for rejection in batch.rejections {
            var metadata: Logger.Metadata = [
                LogMetadataKey.topic: "\(rejection.topic)", LogMetadataKey.partition: "\(rejection.partition)",
                LogMetadataKey.offset: "\(rejection.offset)", LogMetadataKey.reason: "\(rejection.reason)",
                LogMetadataKey.error: "\(rejection.error)",
            ]
            if let key = rejection.key { metadata[LogMetadataKey.key] = "\(key)" }
            if let correlationId = rejection.correlationId { metadata[LogMetadataKey.correlationId] = "\(correlationId)" }
            logger.warning("master-data record rejected, not applied: \(rejection.error)", metadata: metadata)
        }
        logger.debug(
            "master-data batch applied",
            metadata: [LogMetadataKey.records: "\(records.count)", LogMetadataKey.rejected: "\(batch.changes.rejected)"])
        return batch.changes
    }

    private static func write(
        _ batch: MasterDataBatch, positions: [TopicPartition: Int64], receivedAt: Timestamp, to db: Database
    ) throws {
        var upserts: [MasterDataKind: Statement] = [:]
        var deletes: [MasterDataKind: Statement] = [:]
        for operation in batch.operations {
            switch operation {
            case .upsert(let kind, let key, let json, let partition, let offset):
                if upserts[kind] == nil {
                    upserts[kind] = try db.cachedStatement(
                        sql: """
                            INSERT INTO \(kind.table) (key, data, "partition", updated_offset) VALUES (?, ?, ?, ?)
                            ON CONFLICT (key) DO UPDATE SET
                                data = excluded.data, "partition" = excluded."partition", updated_offset = excluded.updated_offset
                            """)
                }
                try upserts[kind]!.execute(arguments: [key, json, partition, offset])
            case .delete(let kind, let key):
                if deletes[kind] == nil {
                    deletes[kind] = try db.cachedStatement(sql: "DELETE FROM \(kind.table) WHERE key = ?")
                }
                try deletes[kind]!.execute(arguments: [key])
            }
        }
        if !batch.rejections.isEmpty {
            // A record is dead-lettered once: when it is first stored here. Read again (the same
            // bytes, key and headers at the same offset, after a position reset), its row keeps
            // its dead-letter state and is only refreshed; a different record at that offset (a
            // re-created topic) replaces the row and is dead-lettered as new.
            let replaced = try db.cachedStatement(
                sql: """
                    DELETE FROM rejected WHERE topic = ? AND "partition" = ? AND "offset" = ?
                        AND NOT (value IS ? AND raw_key IS ? AND headers IS ?)
                    """)
            let insert = try db.cachedStatement(
                sql: """
                    INSERT INTO rejected
                        (topic, "partition", "offset", key, value, reason, error, correlation_id, received_at, received_at_ms,
                         raw_key, headers, timestamp_ms, dead_letter)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'PENDING')
                    ON CONFLICT (topic, "partition", "offset") DO UPDATE SET
                        key = excluded.key, reason = excluded.reason, error = excluded.error, correlation_id = excluded.correlation_id,
                        received_at = excluded.received_at, received_at_ms = excluded.received_at_ms, timestamp_ms = excluded.timestamp_ms
                    """)
            for rejection in batch.rejections {
                let value = rejection.value.map { Data($0) }
                let rawKey = rejection.rawKey.map { Data($0) }
                let headers = Self.encode(rejection.headers)
                try replaced.execute(arguments: [rejection.topic, rejection.partition, rejection.offset, value, rawKey, headers])
                try insert.execute(arguments: [
                    rejection.topic, rejection.partition, rejection.offset, rejection.key, value,
                    rejection.reason.rawValue, rejection.error, rejection.correlationId, rejection.receivedAt.rfc3339,
                    rejection.receivedAt.milliseconds, rawKey, headers, rejection.timestamp,
                ])
            }
        }
        let position = try db.cachedStatement(
            sql: """
                INSERT INTO positions (topic, "partition", next_offset) VALUES (?, ?, ?)
                ON CONFLICT (topic, "partition") DO UPDATE SET next_offset = excluded.next_offset
                """)
        for (partition, next) in positions {
            try position.execute(arguments: [partition.topic, partition.partition, next])
        }
    }
}
