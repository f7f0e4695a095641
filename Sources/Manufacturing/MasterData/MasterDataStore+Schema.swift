import GRDB

extension MasterDataStore {
    /// The schema, one migration per change (GRDB records which ran in `grdb_migrations`).
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: master data, positions, rejected") { db in
            for kind in MasterDataKind.allCases {
                // The natural key, the data as the model writes it, and the record that wrote it.
                try db.execute(
                    sql: """
                        CREATE TABLE \(kind.table) (
                            key TEXT NOT NULL PRIMARY KEY,
                            data TEXT NOT NULL,
                            "partition" INTEGER NOT NULL,
                            updated_offset INTEGER NOT NULL
                        ) WITHOUT ROWID
                        """)
            }
            // The next offset to read per partition, written in the same transaction as the rows.
            try db.execute(
                sql: """
                    CREATE TABLE positions (
                        topic TEXT NOT NULL,
                        "partition" INTEGER NOT NULL,
                        next_offset INTEGER NOT NULL,
                        PRIMARY KEY (topic, "partition")
                    ) WITHOUT ROWID
                    """)
            // Records not applied, with their original bytes.
            try db.execute(
                sql: """
                    CREATE TABLE rejected (
                        topic TEXT NOT NULL,
                        "partition" INTEGER NOT NULL,
                        "offset" INTEGER NOT NULL,
                        key TEXT,
                        value BLOB,
                        reason TEXT NOT NULL,
                        error TEXT NOT NULL,
                        correlation_id TEXT,
                        received_at TEXT NOT NULL,
                        received_at_ms INTEGER NOT NULL,
                        PRIMARY KEY (topic, "partition", "offset")
                    )
                    """)
        }
        migrator.registerMigration("v2: rejected records are dead-lettered") { db in
            // What a dead letter needs beyond the bytes: the key as bytes, the headers, the Kafka
            // timestamp; and whether it was sent: 'PENDING' until the cluster acknowledged it,
            // then 'SENT' (when, in dead_lettered_at_ms). Rows rejected before keep NULL: they
            // stay in this table only.
            try db.execute(sql: "ALTER TABLE rejected ADD COLUMN raw_key BLOB")
            try db.execute(sql: "ALTER TABLE rejected ADD COLUMN headers BLOB")
            try db.execute(sql: "ALTER TABLE rejected ADD COLUMN timestamp_ms INTEGER")
            try db.execute(sql: "ALTER TABLE rejected ADD COLUMN dead_letter TEXT")
            try db.execute(sql: "ALTER TABLE rejected ADD COLUMN dead_lettered_at_ms INTEGER")
            // The outbox: pending rows in rowid order (the order they were stored).
            try db.execute(sql: "CREATE INDEX rejected_dead_letter_pending ON rejected (dead_letter) WHERE dead_letter = 'PENDING'")
        }
        return migrator
    }
}
