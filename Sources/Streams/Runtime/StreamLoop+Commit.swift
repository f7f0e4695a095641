import Foundation
import Kafka
import Logging

/// The loop's side of the exactly-once commit: hand a transaction to the committer thread, take
/// its outcome, abort and rewind.
extension StreamLoop {
    // MARK: Commit

    /// Commits everything processed so far and waits for it (revoke, stop): first the
    /// transaction in flight, then one for what was processed meanwhile.
    func commit() throws(StreamsError) {
        try finishCommit(wait: true)
        try beginCommit()
        try finishCommit(wait: true)
    }

    /// Takes every busy task's work (outputs, changed store entries, positions) and hands the
    /// transaction to the committer thread: it begins the transaction, sends per task any abort
    /// notes, the outputs, the changes, the positions and a commit marker, commits, and finishes
    /// (``PendingCommit/run``). The loop goes on processing meanwhile (the sends and the broker's
    /// round trips cost more than processing a hundred milliseconds of input); what it processes
    /// waits in the tasks for the next transaction, and if this one aborts, the rewind throws it
    /// away with the rest.
    func beginCommit() throws(StreamsError) {
        precondition(inFlight == nil, "one transaction at a time")
        // After an error in the loop nothing more is committed: what was processed since the
        // last commit may be incomplete; the partitions' next owner processes it again.
        guard !ledger.poisoned else { return }
        let (records, sinceLast) = schedule.handedOver(now: .now)
        let busy = tasks.values.filter { $0.hasWork || !ledger.notes(for: $0.partition).isEmpty }
        guard !busy.isEmpty else { return }
        let pending = PendingCommit(
            batch: ledger.nextBatch(), changelog: worker.changelogTopic, metrics: worker.metrics,
            preparer: worker.configuration.topicPreparer)
        for task in busy.sorted(by: { $0.partition < $1.partition }) {
            let work: StreamTask.Commit
            do { work = try task.takeCommit() } catch {
                throw StreamsError(.processor, "processor \(worker.definition.name) failed in the flush of task \(task.partition): \(error)")
            }
            pending.tasks.append(
                .init(
                    partition: task.partition, file: task.stateFile, outputs: work.outputs, changes: work.changes,
                    streamTime: task.clock.streamTime, positions: work.positions, abortNotes: ledger.notes(for: task.partition),
                    consumed: work.consumed, oldestInput: work.oldestInput))
            pending.offsets += work.positions.map { KafkaTopicPartitionOffset(topic: $0.key, partition: task.partition, offset: $0.value) }
        }
        do throws(KafkaError) {
            pending.groupConsumer = try group()
            pending.groupMetadata = try pending.groupConsumer?.groupMetadata()
            pending.memberID = pending.groupConsumer?.memberID
        } catch {
            try abandon(error, pending)
            return
        }
        inFlight = pending
        logger.debug(
            "transaction handed over",
            metadata: [
                "batch": "\(pending.batch)", "records": "\(records)", "sinceLastMs": "\(sinceLast.wholeMilliseconds)",
                "pollMs": "\(pollTime.wholeMilliseconds)", "commitWaitMs": "\(commitWaitTime.wholeMilliseconds)",
            ])
        pollTime = .zero
        commitWaitTime = .zero
        committer.async { [producer, logger] in
            pending.run(producer: producer, logger: logger)
        }
    }

    /// Takes the outcome of the transaction in flight, if there is one and it is over (or waits
    /// for it): the statistics, the tasks whose local state file failed, or an abort and rewind.
    func finishCommit(wait: Bool) throws(StreamsError) {
        guard let pending = inFlight else { return }
        if wait {
            let waiting = ContinuousClock.now
            pending.done.wait()
            commitWaitTime += .now - waiting
        } else if pending.done.wait(timeout: .now()) == .timedOut {
            return
        }
        inFlight = nil
        if let error = pending.error {
            try abandon(error, pending)
            return
        }
        worker.record { $0.committedTransactions += 1 }
        consumer.clusterReached()
        for task in pending.tasks { ledger.written(task.abortNotes.count, partition: task.partition) }
        var lost: [Int32] = []
        for committed in pending.tasks {
            guard let task = tasks[committed.partition] else { continue }
            if !pending.failedStateFiles.contains(committed.partition) {
                task.committedToFile()
            } else if task.storesOnDisk != nil {
                lost.append(committed.partition)  // its stores were in the file, now emptied
            } else {
                task.stateFile = nil
            }
        }
        if !lost.isEmpty {
            logger.warning("local task state failed; restoring the tasks from the changelog", metadata: ["partitions": "\(lost)"])
            try rewind(lost)
        }
    }

    /// A transaction that failed: a fatal error stops the worker; otherwise abort, note the
    /// batch as aborted (for restores here at once, and in the changelog with the next
    /// transaction) and rewind every task to its last committed state.
    private func abandon(_ error: KafkaError, _ pending: PendingCommit) throws(StreamsError) {
        if error.isFatal || !error.transactionRequiresAbort && !error.isRetriable {
            throw StreamsError(kafka: error)
        }
        logger.warning("transaction aborted; rewinding to the last commit", metadata: ["error": "\(error)", "batch": "\(pending.batch)"])
        try? producer.abortTransaction()
        worker.metrics.aborted()
        ledger.aborted(pending.batch, partitions: pending.tasks.map(\.partition))
        worker.record { $0.abortedTransactions += 1 }
        try rewind(Array(tasks.keys))
    }
}
