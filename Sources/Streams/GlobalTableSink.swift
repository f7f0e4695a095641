/// Where a ``GlobalTableLoader`` puts what it reads: a store that keeps the records it applied and
/// the position it read up to, together, so a restart reads only what came after.
///
/// - Important: The loader calls both methods from its own thread, one call at a time and never
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
}
