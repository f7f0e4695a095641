import Foundation
import Kafka
import Logging

/// Opening a task: local state file, then the changelog after it; rewinding tasks to their last
/// commit.
extension StreamLoop {
    // MARK: Tasks

    /// Restores these tasks from their changelog and moves their inputs back to the group's
    /// committed offsets.
    func rewind(_ partitions: [Int32]) throws(StreamsError) {
        for partition in partitions {
            try openTask(partition)
            buffers[partition] = nil
        }
        var seeks: [KafkaTopicPartitionOffset] = []
        let inputs = inputPartitions(partitions)
        for committed in try kafka({ () throws(KafkaError) in try group().committed(inputs) }) {
            seeks.append(KafkaTopicPartitionOffset(committed.topicPartition, offset: committed.offset >= 0 ? committed.offset : KafkaOffset.beginning))
        }
        if !seeks.isEmpty { try kafka { () throws(KafkaError) in try consumer.seek(seeks) } }
    }

    func openTask(_ partition: Int32) throws(StreamsError) {
        let configuration = worker.configuration
        let definition = worker.definition
        let task = StreamTask(
            partition: partition, processor: definition.makeProcessor(partition), wallClock: Self.now(),
            idleTimeout: configuration.idleTimeout.wholeMilliseconds)
        // Local state first (if any), then the changelog after the offset it is current to.
        var file: TaskStateFile?
        var snapshot = TaskStateFile.Snapshot()
        do {
            file = try TaskStateFile(
                directory: configuration.stateDirectory, processor: definition.name, partition: partition, interval: configuration.stateFileInterval)
            snapshot = try file?.load() ?? snapshot
        } catch {
            logger.warning("local task state unusable; restoring from the changelog", metadata: ["partition": "\(partition)", "error": "\(error)"])
            try? file?.reset()
        }
        let restorer = ChangelogRestorer(client: configuration.client, logger: logger)
        let began = ContinuousClock.now
        var restored = try kafka { () throws(KafkaError) in try restore(partition, restorer, from: snapshot.changelogOffset) }
        if restored.startBeyondEnd {
            logger.warning("local task state is ahead of the changelog (a new cluster?); restoring from the beginning", metadata: ["partition": "\(partition)"])
            try? file?.reset()
            snapshot = TaskStateFile.Snapshot()
            restored = try kafka { () throws(KafkaError) in try restore(partition, restorer, from: 0) }
        }
        worker.metrics.restored(records: restored.recordsRead, duration: .now - began)
        for entry in snapshot.entries { task.taskStore(entry.store).restore(entry.key, entry.value) }
        for entry in restored.entries { task.taskStore(entry.store).restore(entry.key, entry.value) }
        task.clock.restore(streamTime: max(snapshot.streamTime, restored.streamTime))
        task.positions = snapshot.positions.merging(restored.positions) { max($0, $1) }
        for (store, key) in restored.uncommittedKeys {
            task.taskStore(store).rewrite(key)
            task.markDirty()
        }
        if restored.committedThrough > snapshot.changelogOffset {
            try? file?.apply(
                changes: restored.entries, streamTime: task.clock.streamTime, positions: task.positions,
                changelogOffset: restored.committedThrough)
            try? file?.flush()
        }
        task.stateFile = file
        tasks[partition] = task
        worker.record {
            $0.restoredBatches += restored.appliedBatches
            $0.restoredRecords += restored.recordsRead
        }
        logger.info(
            "task restored",
            metadata: [
                "partition": "\(partition)", "localEntries": "\(snapshot.entries.count)", "changelogFrom": "\(snapshot.changelogOffset)",
                "changelogRecords": "\(restored.recordsRead)", "batches": "\(restored.appliedBatches)", "skipped": "\(restored.skippedRecords)",
            ])
    }

    /// Restores one task's changelog from `start`, reporting its progress in the worker's health
    /// and, at most every 2 s, in the log.
    private func restore(_ partition: Int32, _ restorer: ChangelogRestorer, from start: Int64) throws(KafkaError) -> ChangelogRestorer.Result {
        let began = ContinuousClock.now
        var lastLog = began
        defer { worker.updateHealth { _, restoring in restoring[partition] = nil } }
        return try restorer.restore(topic: worker.changelogTopic, partition: partition, from: start, aborted: ledger.aborted) { read, total in
            worker.progressed()
            worker.updateHealth { _, restoring in restoring[partition] = TaskRestoreProgress(partition: partition, restored: read, toRestore: total) }
            let now = ContinuousClock.now
            guard now - lastLog >= .seconds(2) else { return }
            lastLog = now
            let seconds = Double((now - began).wholeMilliseconds) / 1000
            logger.info(
                "restoring task",
                metadata: [
                    "partition": "\(partition)", "restored": "\(read)", "toRestore": "\(total)",
                    "recordsPerSecond": "\(seconds > 0 ? Int(Double(read) / seconds) : 0)",
                ])
        }
    }
}
