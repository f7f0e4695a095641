/// Where a ``GlobalTableLoader`` puts what it reads: a store that keeps the records it applied and
/// the position it read up to, together, so a restart reads only what came after.
///
/// A sink may also keep records to be produced — the dead letters of records it could not apply —
/// in the same transaction as the positions: its outbox (``pendingOutputs(limit:)``). The loader
/// produces them and reports each delivery (``outputsDelivered(_:)``), so a dead letter is
/// neither lost (it is stored before the position that covers its record) nor produced again
/// after a restart, unless the restart came between its delivery and that report.
///
/// - Important: The loader calls every method from its own thread, one call at a time and never
///   on Swift's cooperative pool, so blocking I/O (SQLite) belongs here. An implementation must
///   still be `Sendable`: the loader is created on one thread and runs on another.
public protocol GlobalTableSink: Sendable {
    /// For each partition the store has seen, the offset of the next record to read, as the last
    /// applied batch stored it. Partitions missing from the answer are read from the beginning.
    /// Called once at start and again when partitions are added while running.
    func storedPositions() throws -> [TopicPartition: Int64]

    /// Stores one batch: `records` in the order read (offset order within each partition) and,
    /// for every partition this batch advanced, the offset of the next record to read.
    ///
    /// Must be atomic: either the records and the positions are stored, or nothing is and the
    /// call throws. The loader stops on a thrown error and reports it; it never skips the batch,
    /// and a new loader reads the batch again from the stored positions.
    func apply(_ records: [StreamRecord], positions: [TopicPartition: Int64]) throws

    /// At most `limit` records waiting in the outbox, in the order they were stored. Called after
    /// each applied batch and at start while nothing is in flight. Default: none.
    func pendingOutputs(limit: Int) throws -> [GlobalTableOutput]

    /// The cluster acknowledged these outputs: never hand them out again. A thrown error stops the
    /// loader, like a failed batch. Default: nothing to do.
    func outputsDelivered(_ ids: [GlobalTableOutput.ID]) throws
}

extension GlobalTableSink {
    public func pendingOutputs(limit: Int) throws -> [GlobalTableOutput] { [] }
    public func outputsDelivered(_ ids: [GlobalTableOutput.ID]) throws {}
}

/// A record a ``GlobalTableSink`` stored to be produced (a dead letter), with the sink's id for it.
public struct GlobalTableOutput: Sendable {
    /// The sink's id of the stored record (the master-data store: the rejected row's rowid).
    public typealias ID = Int64

    public var id: ID
    /// What to produce. Its ``OutputRecord/tally``, if set, is counted once the cluster
    /// acknowledged the record (and logged, when it has a `logMessage`).
    public var record: OutputRecord

    public init(id: ID, record: OutputRecord) {
        self.id = id
        self.record = record
    }
}
