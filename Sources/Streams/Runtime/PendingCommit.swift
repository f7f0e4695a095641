import Foundation
import Kafka
import Logging

/// One transaction handed to the committer thread: it begins the transaction, sends every task's
/// records, commits, writes each task's local state file once its marker's offset is known, then
/// commits the group offsets, and signals `done`. The loop thread reads the outcome only after
/// `done`, and does not use the producer until then.
final class PendingCommit: @unchecked Sendable {
    // @unchecked: filled by the loop thread before the hand-off, then used by the committer
    // thread alone until it signals `done`, after which only the loop thread reads it.
    struct TaskWork {
        var partition: Int32
        var file: TaskStateFile?
        var outputs: OutputBatch
        var changes: [(store: String, key: String, value: [UInt8]?)]
        var streamTime: Int64
        var positions: [String: Int64]
        /// Batches that aborted after their marker reached the broker: noted in this transaction.
        var abortNotes: [String]
        /// Input records processed per topic, and the oldest one's timestamp (for the metrics).
        var consumed: [String: Int]
        var oldestInput: Int64?
    }

    let batch: String
    let changelog: String
    var tasks: [TaskWork] = []
    var offsets: [KafkaTopicPartitionOffset] = []
    var groupMetadata: KafkaConsumerGroupMetadata?
    /// The group member's consumer: the group offsets are committed through it.
    var groupConsumer: KafkaConsumer?
    /// The member id when the transaction was handed over: a different one at commit time means
    /// the group dropped this member meanwhile.
    var memberID: String?
    let done = DispatchSemaphore(value: 0)
    /// How long the committer waits for the batch's records to be delivered before it gives up
    /// and aborts. Default 30 s.
    var deliveryTimeout: Duration = .seconds(30)
    var error: KafkaError?
    var failedStateFiles: [Int32] = []

    let metrics: StreamMetrics
    let preparer: (any OutputTopicPreparer)?

    init(batch: String, changelog: String, metrics: StreamMetrics, preparer: (any OutputTopicPreparer)? = nil) {
        self.batch = batch
        self.changelog = changelog
        self.metrics = metrics
        self.preparer = preparer
    }

    /// Asks the preparer about every topic the outputs go to, once each.
    private func prepareTopics() throws(KafkaError) {
        guard let preparer else { return }
        var seen = Set<String>()
        for task in tasks {
            for topic in task.outputs.packed.topics where seen.insert(topic).inserted { try preparer.prepare(topic) }
        }
    }

    /// What the transaction's outputs count for in the metrics once it commits, and the outputs
    /// to log then: taken from the outputs before they are freed.
    private struct OutputSummary {
        var produced: [String: Int] = [:]
        var tallies: [OutputTally] = []
        var logs: [(message: String, output: OutputRecord, tally: OutputTally)] = []
        var count = 0
    }

    /// Summarizes the outputs and frees them: once sent, librdkafka holds its own copy, and
    /// neither a commit nor an abort needs them again (an abort rewinds the tasks, which process
    /// the input again). So a transaction's outputs are not in memory twice while it commits.
    private func releaseOutputs() -> OutputSummary {
        var summary = OutputSummary()
        for index in tasks.indices {
            let outputs = tasks[index].outputs
            tasks[index].outputs = OutputBatch()
            summary.count += outputs.count
            let topics = outputs.packed.topics
            var counts = [Int](repeating: 0, count: topics.count)
            outputs.packed.forEachRecord { counts[$0.topicIndex] += 1 }
            for (topic, count) in zip(topics, counts) { summary.produced[topic, default: 0] += count }
            for (position, tally) in outputs.tallies {
                summary.tallies.append(tally)
                if let message = tally.logMessage { summary.logs.append((message, outputs.record(at: position), tally)) }
            }
        }
        return summary
    }

    /// Counts the committed transaction in the metrics (committer thread, before `done`), and
    /// logs the outputs whose tally asks for it, with the ids of the input they are about.
    private func count(_ outputs: OutputSummary, duration: Duration, logger: Logger) {
        var commit = StreamMetrics.Committed(duration: duration, committedAt: Int64(Date().timeIntervalSince1970 * 1000))
        for task in tasks {
            commit.consumed.merge(task.consumed, uniquingKeysWith: +)
            if let oldest = task.oldestInput { commit.oldestInputs.append(oldest) }
        }
        commit.produced = outputs.produced
        commit.tallies = outputs.tallies
        for (message, output, tally) in outputs.logs { log(message, output, tally, logger) }
        metrics.committed(commit)
    }

    private func log(_ message: String, _ output: OutputRecord, _ tally: OutputTally, _ logger: Logger) {
        func header(_ name: String) -> String? { output.headers.last { $0.key == name }?.stringValue }
        var metadata: Logger.Metadata = [
            LogMetadataKey.topic: "\(output.topic)", LogMetadataKey.key: "\(output.key.map { String(decoding: $0, as: UTF8.self) } ?? "-")",
            // An output names its input in `causation-id`; a dead letter keeps the input's own headers.
            LogMetadataKey.correlationId: "\(header("correlation-id") ?? "-")",
            LogMetadataKey.eventId: "\(header("causation-id") ?? header("event-id") ?? "-")",
        ]
        for label in tally.labels { metadata[label.name] = "\(label.value)" }
        if let error = header(DeadLetter.HeaderName.error) { metadata[LogMetadataKey.error] = "\(error)" }
        logger.notice("\(message)", metadata: metadata)
    }

    /// Refuses to go on when the group dropped this member since the hand-over (its session timed
    /// out, say, while a broker was down or the process starved of CPU): another member may have
    /// restored these tasks already, and a commit now would add a batch behind its back. A real
    /// broker refuses such a member's offsets (stale generation) and fences its producer; the
    /// in-process cluster does neither, and a process stalled past its session is not fenced
    /// until its next request anyway. So the transaction aborts (`UNKNOWN_MEMBER_ID`, which
    /// requires an abort), as a fencing broker would make it.
    func checkMembership() throws(KafkaError) {
        guard let consumer = groupConsumer else { return }
        let current = consumer.memberID
        if consumer.assignmentLost || (memberID != nil && current != memberID) {
            throw KafkaError(
                code: .unknownMemberID,
                reason:
                    "the group dropped this member (assignment lost, member id \(memberID ?? "-") now \(current ?? "none")) before batch \(batch) committed; aborting it",
                transactionRequiresAbort: true)
        }
    }

    func run(producer: KafkaProducer, logger: Logger) {
        defer {
            // The records are freed here, not on the loop thread when it drops the commit.
            for index in tasks.indices {
                tasks[index].outputs = OutputBatch()
                tasks[index].changes = []
            }
            done.signal()
        }
        let began = ContinuousClock.now
        var sent = began
        var offsetsSent = began
        var committed = began
        var written = began
        var markers: [KafkaDeliveryTicket] = []
        var outputs = OutputSummary()
        do throws(KafkaError) {
            try prepareTopics()
            try producer.beginTransaction()
            let failuresBefore = producer.untrackedDeliveryFailuresNotPurged
            // Dropped already: not even abort notes (a visible note after another writer's
            // marker would contradict what that writer's restores decided).
            try checkMembership()
            let header = KafkaHeader(key: ChangelogFormat.batchHeader, value: batch)
            // Each task's changelog records, in order: abort notes, changes, positions, the
            // commit marker (the marker last: it is what a restore looks for). Made one at a time
            // as they are sent.
            func changelogCount(_ task: TaskWork) -> Int { task.abortNotes.count + task.changes.count + 2 }
            func changelogRecord(_ task: TaskWork, _ index: Int) -> KafkaProducerMessage {
                let (key, value): ([UInt8], [UInt8]?)
                let change = index - task.abortNotes.count
                if change < 0 {
                    (key, value) = (Array(ChangelogFormat.abortKey.utf8), Array(task.abortNotes[index].utf8))
                } else if change < task.changes.count {
                    let entry = task.changes[change]
                    (key, value) = (Array(ChangelogFormat.storeKey(store: entry.store, key: entry.key).utf8), entry.value)
                } else if change == task.changes.count {
                    (key, value) = (
                        Array(ChangelogFormat.positionsKey.utf8), ChangelogFormat.encodePositions(streamTime: task.streamTime, positions: task.positions)
                    )
                } else {
                    (key, value) = (Array(ChangelogFormat.commitKey.utf8), Array(batch.utf8))
                }
                return KafkaProducerMessage(topic: changelog, partition: task.partition, key: key, value: value, headers: [header])
            }
            // The batch id on outputs too: on a broker that does not hide aborted transactions,
            // a reader can keep only the batches the changelog shows committed.
            func send(_ output: KafkaPackedRecords.Record) throws(KafkaError) {
                try producer.send(output, extraHeader: header)
            }
            // The order of the sends registers the transaction's partitions with the coordinator
            // in as few AddPartitionsToTxn rounds as it can: librdkafka 2.0.2 registers what was
            // added within 1 ms of the first record, waits for the answer before the next round,
            // and its main thread spins through each of those milliseconds. So first every task's
            // first changelog record and first output to each topic (a task's outputs are mostly
            // co-partitioned with it), then the other outputs, then the rest of the changelog.
            // Each task's records to a topic keep their order; across tasks or topics a
            // transaction has none.
            for task in tasks { try producer.send(changelogRecord(task, 0)) }
            // A task's outputs name their topic by its index in the batch: the first to each is
            // the first with a new index.
            for task in tasks {
                var sent = 0
                try task.outputs.packed.forEachRecord { (output) throws(KafkaError) in
                    guard output.topicIndex == sent else { return }
                    try send(output)
                    sent += 1
                }
            }
            for task in tasks {
                var leading = 0
                try task.outputs.packed.forEachRecord { (output) throws(KafkaError) in
                    if output.topicIndex == leading {
                        leading += 1
                        return
                    }
                    try send(output)
                }
            }
            for task in tasks {
                let count = changelogCount(task)
                for index in 1..<(count - 1) { try producer.send(changelogRecord(task, index)) }
            }
            outputs = releaseOutputs()
            // The commit markers go only once every other record of the batch is on the broker:
            // on a cluster that shows aborted records to read_committed readers (the in-process
            // one), a restore and the chaos check take a batch with a visible marker for
            // committed, so the whole batch must be visible with it. (Sent together, an abort
            // after a lost membership purged outputs still queued for other brokers while the
            // markers had landed: the likeliest cause of the 30-minute soak's three missing releases.)
            try producer.awaitDeliveries(failuresBefore: failuresBefore, timeout: deliveryTimeout)
            sent = .now
            if let groupMetadata { try producer.sendOffsetsToTransaction(offsets, groupMetadata: groupMetadata) }
            offsetsSent = .now
            // Not a member any more: no commit marker (a restore would take the batch for
            // committed on a cluster that shows aborted records).
            try checkMembership()
            for task in tasks { markers.append(try producer.sendTracked(changelogRecord(task, changelogCount(task) - 1))) }
            try producer.commitTransaction()
            committed = .now
        } catch {
            self.error = error
            return
        }
        count(outputs, duration: committed - began, logger: logger)
        // The local copy of what just committed, current to the offset after the marker.
        for (task, marker) in zip(tasks, markers) {
            guard let file = task.file else { continue }
            do {
                let report = try marker.wait(timeout: .seconds(30))
                try file.apply(changes: task.changes, streamTime: task.streamTime, positions: task.positions, changelogOffset: report.offset + 1)
            } catch {
                forgetLocalState(file, partition: task.partition, error: error, logger: logger)
                failedStateFiles.append(task.partition)
            }
        }
        written = .now
        // Group offsets right after the transaction (the mock cluster does not store offsets sent
        // to a transaction): they are where a restarted task starts, so they are committed
        // synchronously, leaving only milliseconds in which a crash means re-reading a batch
        // (which the processors' idempotence absorbs).
        do { try groupConsumer?.commit(offsets) } catch {
            logger.warning("group offset commit failed; the next commit carries them", metadata: ["error": "\(error)"])
        }
        logger.debug(
            "transaction committed",
            metadata: [
                "batch": "\(batch)", "outputs": "\(outputs.count)", "changes": "\(tasks.reduce(0) { $0 + $1.changes.count })",
                "sendMs": "\((sent - began).wholeMilliseconds)", "sendOffsetsMs": "\((offsetsSent - sent).wholeMilliseconds)",
                "commitMs": "\((committed - offsetsSent).wholeMilliseconds)",
                "stateFilesMs": "\((written - committed).wholeMilliseconds)", "offsetsMs": "\((ContinuousClock.now - written).wholeMilliseconds)",
            ])
    }
}

/// A task's local state file that could not be written is emptied: the changelog stays the truth,
/// and the next restore of the partition reads it from the start.
func forgetLocalState(_ file: TaskStateFile, partition: Int32, error: any Error, logger: Logger) {
    logger.warning("local task state not written; the next restore reads the changelog", metadata: ["partition": "\(partition)", "error": "\(error)"])
    try? file.reset()
}
