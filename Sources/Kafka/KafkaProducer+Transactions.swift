import Synchronization

/// Transactions. Each call raises a ``KafkaError`` with librdkafka's classification:
/// `isRetriable` (call again), `transactionRequiresAbort` (abort, then start over) or `isFatal`
/// (the producer is fenced or broken; create a new one).
///
/// - Important: The synchronous forms block the calling thread; use them only from a thread of
///   your own. The `async` forms hop to the producer's blocking queue.
extension KafkaProducer {
    /// Registers the `transactionalID` with the coordinator and fences older producers with it.
    public func initTransactions(timeout: Duration = .seconds(30)) throws(KafkaError) {
        try requireTransactional()
        try client.initTransactions(timeout: timeout)
    }

    public func initTransactions(timeout: Duration = .seconds(30)) async throws(KafkaError) {
        try await blocking.run { [self] () throws(KafkaError) in try initTransactions(timeout: timeout) }
    }

    /// Starts a transaction (local, does not block).
    public func beginTransaction() throws(KafkaError) {
        try requireTransactional()
        try client.beginTransaction()
    }

    /// Adds a consumer's positions (offset = next to read) to the current transaction.
    ///
    /// - Note: librdkafka 2.0.2's mock cluster acknowledges these offsets but does not store them
    ///   as the group's committed offsets; see Docs/architecture.md.
    public func sendOffsetsToTransaction(
        _ offsets: [KafkaTopicPartitionOffset], groupMetadata: KafkaConsumerGroupMetadata,
        timeout: Duration = .seconds(30)
    ) throws(KafkaError) {
        try requireTransactional()
        try client.sendOffsetsToTransaction(offsets, groupMetadata: groupMetadata, timeout: timeout)
    }

    public func sendOffsetsToTransaction(
        _ offsets: [KafkaTopicPartitionOffset], groupMetadata: KafkaConsumerGroupMetadata,
        timeout: Duration = .seconds(30)
    ) async throws(KafkaError) {
        try await blocking.run { [self] () throws(KafkaError) in
            try sendOffsetsToTransaction(offsets, groupMetadata: groupMetadata, timeout: timeout)
        }
    }

    /// Waits until every record sent so far is on the broker or has failed (the transaction
    /// stays open). A record sent without a waiter that failed since `failuresBefore`
    /// (``untrackedDeliveryFailuresNotPurged`` when the transaction began: the records an earlier
    /// abort purged report their failures late, and are not this transaction's) raises an error
    /// that requires an abort, as does a wait that runs out: the transaction cannot commit whole.
    ///
    /// A writer that marks its transactions with a record of its own calls this before sending the
    /// mark, so that on a cluster that shows aborted records to `read_committed` readers (librdkafka's
    /// mock cluster) a visible mark means the whole transaction is visible with it.
    public func awaitDeliveries(failuresBefore: Int, timeout: Duration = .seconds(30)) throws(KafkaError) {
        try requireTransactional()
        do { try client.flush(timeout: timeout) } catch {
            throw KafkaError(code: error.code, reason: "records of the transaction not delivered: \(error.reason)", transactionRequiresAbort: true)
        }
        let failures = untrackedDeliveryFailuresNotPurged - failuresBefore
        guard failures > 0 else { return }
        let last = client.context.lastDeliveryError.withLock { $0 }
        throw KafkaError(
            code: last?.code ?? .timedOut,
            reason: "\(failures) record(s) of the transaction failed to deliver (last: \(last?.reason ?? "unknown"))",
            transactionRequiresAbort: true)
    }

    /// Flushes the transaction's records and commits it.
    public func commitTransaction(timeout: Duration = .seconds(30)) throws(KafkaError) {
        try requireTransactional()
        try client.commitTransaction(timeout: timeout)
    }

    public func commitTransaction(timeout: Duration = .seconds(30)) async throws(KafkaError) {
        try await blocking.run { [self] () throws(KafkaError) in try commitTransaction(timeout: timeout) }
    }

    /// Aborts the transaction: its records stay invisible to `read_committed` consumers.
    public func abortTransaction(timeout: Duration = .seconds(30)) throws(KafkaError) {
        try requireTransactional()
        try client.abortTransaction(timeout: timeout)
    }

    public func abortTransaction(timeout: Duration = .seconds(30)) async throws(KafkaError) {
        try await blocking.run { [self] () throws(KafkaError) in try abortTransaction(timeout: timeout) }
    }

    private func requireTransactional() throws(KafkaError) {
        try checkOpen()
        if configuration.transactionalID == nil {
            throw .invalidState("transactions need KafkaProducerConfiguration.transactionalID")
        }
    }
}
