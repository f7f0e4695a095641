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

    /// Opens a task: its local state file streamed into the store, then the changelog after the
    /// offset the file is current to, each batch applied as it settles (``ChangelogRestorer``).
    /// A changelog that starts past that offset (history deleted) is a ``StateGap``: the worker
    /// stops, or with `allowStateLoss` the task is rebuilt from what is left.
    ///
    /// With a usable file the task's stores stay on disk (``TaskStore``, read through the worker's
    /// ``StateCache``); the file is still read through once, to find damage before it is used.
    /// - Parameter localFile: false keeps the stores in memory, without a file (after the file
    ///   failed while the changelog was written into it).
    func openTask(_ partition: Int32, localFile: Bool = true) throws(StreamsError) {
        let configuration = worker.configuration
        let definition = worker.definition
        let changelog = worker.changelogTopic
        func newTask() -> StreamTask {
            let task = StreamTask(
                partition: partition, processor: definition.makeProcessor(partition), wallClock: Self.now(),
                idleTimeout: configuration.idleTimeout.wholeMilliseconds)
            task.routing = routing
            return task
        }
        var task = newTask()
        // Local state first (if any), then the changelog after the offset it is current to.
        var file: TaskStateFile?
        var local = TaskStateFile.Snapshot()
        func openFile() throws -> TaskStateFile {
            let (opened, movedTo) = try TaskStateFile.openMovingAsideIfUnreadable(
                directory: configuration.stateDirectory, processor: definition.name, partition: partition, interval: configuration.stateFileInterval,
                changelogTopic: changelog)
            if let movedTo {
                logger.warning(
                    "local task state unreadable; moved aside and rebuilt from the changelog",
                    metadata: ["partition": "\(partition)", "movedTo": "\(movedTo)"])
            }
            return opened
        }
        do {
            file = localFile ? try openFile() : nil
            local = try file?.meta() ?? local
            if local.changelogTopic != changelog, try local.changelogOffset > 0 || !(file?.isEmpty() ?? true) {
                logger.warning(
                    "local task state is of another changelog topic; restoring from the changelog",
                    metadata: ["partition": "\(partition)", "file": "\(local.changelogTopic ?? "none (an earlier version)")", "changelog": "\(changelog)"])
                try file?.reset()
                local = TaskStateFile.Snapshot()
            }
        } catch {
            logger.warning("local task state unusable; restoring from the changelog", metadata: ["partition": "\(partition)", "error": "\(error)"])
            do { try file?.reset() } catch { file = nil }
            local = TaskStateFile.Snapshot()
        }
        let restorer = ChangelogRestorer(client: configuration.client, logger: logger)
        let began = ContinuousClock.now
        let session = try kafka { () throws(KafkaError) in try restorer.open(topic: changelog, partition: partition) }
        defer { session.close() }
        var plan = RestorePlan(localOffset: local.changelogOffset, low: session.watermarks.low, high: session.watermarks.high)
        if plan.discardLocal {
            logger.warning(
                "local task state is ahead of the changelog (a new cluster?); restoring from the beginning",
                metadata: ["partition": "\(partition)", "localOffset": "\(local.changelogOffset)", "changelogEnd": "\(session.watermarks.high)"])
            try? file?.reset()
            local = TaskStateFile.Snapshot()
        }
        // The stores live in the file; its entries are read through once (damage shows now, not
        // in the middle of processing). Without a file they go into memory, row by row.
        func keepStoresIn(_ file: TaskStateFile?) {
            if let file { task.storesOnDisk = (file, worker.stateCache, worker.stateCache.newOwner()) }
        }
        keepStoresIn(file)
        var localEntries = 0
        do {
            try file?.forEachEntry { store, key, value in
                task.taskStore(store).restore(key, value)
                localEntries += 1
            }
        } catch {
            logger.warning("local task state unusable; restoring from the changelog", metadata: ["partition": "\(partition)", "error": "\(error)"])
            if TaskStateFile.isUnreadable(error), let path = file?.path {
                // Damaged inside (a page SQLite cannot read): moved aside, a new file rebuilt.
                file = nil
                do {
                    let movedTo = try TaskStateFile.moveAside(path)
                    logger.warning(
                        "local task state unreadable; moved aside and rebuilt from the changelog",
                        metadata: ["partition": "\(partition)", "movedTo": "\(movedTo)"])
                    file = try openFile()
                } catch {
                    file = nil
                }
            } else {
                do { try file?.reset() } catch { file = nil }
            }
            local = TaskStateFile.Snapshot()
            task = newTask()
            keepStoresIn(file)
            localEntries = 0
            plan = RestorePlan(localOffset: 0, low: session.watermarks.low, high: session.watermarks.high)
        }
        if let gap = plan.gap { try stateLost(gap, partition: partition) }

        // The changelog, each settled batch into the store and staged for the file, which is
        // written every 10,000 entries once a batch settles (current to it) and at the end. Within
        // one huge batch (a compacted head) entries are written every 20,000 at the offset before
        // it: they are committed, and a restore from that offset applies the batch again anyway.
        var staged: [ChangelogRestorer.Change] = []
        var written = local.changelogOffset
        // Stream time and positions as of the last settled batch.
        var streamTime = local.streamTime
        var positions = local.positions
        func write(through: Int64) {
            guard let current = file, through > written || (through == written && !staged.isEmpty) else { return }
            do {
                try current.apply(changes: staged, streamTime: streamTime, positions: positions, changelogOffset: through)
                try current.flush()
            } catch {
                forgetLocalState(current, partition: partition, error: error, logger: logger)
                file = nil
            }
            staged = []
            written = through
        }
        let restored = try kafka { () throws(KafkaError) in
            try restore(partition, session, from: plan.start) { change in
                task.taskStore(change.store).restore(change.key, change.value)
                guard file != nil else { return }
                staged.append(change)
                if staged.count >= 20_000 { write(through: written) }
            } settled: { through, settledTime, settledPositions in
                streamTime = max(streamTime, settledTime)
                positions.merge(settledPositions) { max($0, $1) }
                if staged.count >= 10_000 { write(through: through) }
            }
        }
        worker.metrics.restored(records: restored.recordsRead, duration: .now - began)
        streamTime = max(streamTime, restored.streamTime)
        positions.merge(restored.positions) { max($0, $1) }
        task.clock.restore(streamTime: streamTime)
        task.positions = positions
        write(through: restored.committedThrough)
        if task.storesOnDisk != nil && file == nil {
            // The file failed while the changelog went into it: the stores are not all there.
            logger.warning("local task state failed during the restore; restoring into memory", metadata: ["partition": "\(partition)"])
            return try openTask(partition, localFile: false)
        }
        // After the file has them: rewriting reads each key's current value.
        for (store, key) in restored.uncommittedKeys {
            task.taskStore(store).rewrite(key)
            task.markDirty()
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
                "partition": "\(partition)", "localEntries": "\(localEntries)", "localOffset": "\(local.changelogOffset)", "changelogFrom": "\(plan.start)",
                "changelogRecords": "\(restored.recordsRead)", "batches": "\(restored.appliedBatches)", "skipped": "\(restored.skippedRecords)",
                "peakHeldBytes": "\(restored.peakHeldBytes)", "rereadBatches": "\(restored.rereadBatches)",
            ])
    }

    /// History the task needed is gone from its changelog: an error in the log and in readiness;
    /// then the worker stops (throws), or with `allowStateLoss` the loss is counted and the task
    /// is rebuilt from what is left.
    private func stateLost(_ gap: StateGap, partition: Int32) throws(StreamsError) {
        let allowed = worker.configuration.allowStateLoss
        let changelog = worker.changelogTopic
        worker.stateLost(TaskStateLoss(partition: partition, changelog: changelog, gap: gap, rebuilt: allowed))
        logger.error(
            "changelog history missing: the task's state cannot be restored exactly",
            metadata: [
                "partition": "\(partition)", "changelog": "\(changelog)", "neededOffset": "\(gap.needed)", "logStartOffset": "\(gap.logStart)",
                "missingOffsets": "\(gap.missing)",
                "action": "\(allowed ? "rebuilding from what is left (allowStateLoss)" : "stopping the worker (allowStateLoss is off)")",
            ])
        guard allowed else {
            throw StreamsError(
                .stateLoss,
                "processor \(worker.definition.name), task \(partition): changelog \(changelog) partition \(partition) starts at offset \(gap.logStart), but the task's state needs it from offset \(gap.needed) (\(gap.needed == 0 ? "no local state" : "its local state file is current to it")): \(gap.missing) offsets of history were deleted (retention or DeleteRecords). The worker does not start a task from incomplete state; allowStateLoss: true (MILLWRIGHT_ALLOW_STATE_LOSS=true) rebuilds it from what is left and counts it in millwright_state_loss_total"
            )
        }
        worker.metrics.stateLost()
        worker.record { $0.stateLosses += 1 }
    }

    /// Restores one task's changelog from `start`, reporting its progress in the worker's health
    /// and, at most every 2 s, in the log.
    private func restore(
        _ partition: Int32, _ session: ChangelogRestorer.Session, from start: Int64, apply: (ChangelogRestorer.Change) -> Void,
        settled: (Int64, Int64, [String: Int64]) -> Void
    ) throws(KafkaError) -> ChangelogRestorer.Result {
        let began = ContinuousClock.now
        var lastLog = began
        defer { worker.updateHealth { _, restoring in restoring[partition] = nil } }
        return try session.restore(from: start, aborted: ledger.skipped(in: partition), apply: apply, settled: settled) { read, total in
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
