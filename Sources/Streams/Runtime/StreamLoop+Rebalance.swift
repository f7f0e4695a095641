import Foundation
import Kafka
import Logging

/// The rebalance coordinator: partitions assigned, revoked or lost in the group, shared out to the
/// loop threads after the first, and handed back.
extension StreamLoop {
    // MARK: KafkaRebalanceListener (on the loop thread, inside pollBatch)

    func partitionsAssigned(_ partitions: [KafkaTopicPartition], consumer: KafkaConsumer) {
        worker.metrics.rebalance("assigned")
        logger.info("partitions assigned", metadata: ["partitions": "\(Set(partitions.map(\.partition)).sorted())"])
        var numbers = Set(partitions.map(\.partition)).subtracting(tasks.keys).subtracting(shared.keys).sorted()
        numbers = shareOut(numbers, consumer: consumer)
        // Joined, with tasks to open: not ready until they are (the other threads' shares wait
        // in their mailboxes, which their health counts).
        worker.opening(numbers.count)
        worker.updateHealth { joined, _ in joined = true }
        take(numbers, consumer: consumer)
    }

    /// Opens tasks for these partitions: the group's committed offsets are where their inputs
    /// start; each task is restored, and its events wait for its table partitions.
    func take(_ numbers: [Int32], consumer: KafkaConsumer) {
        worker.opening(numbers.count)
        defer { worker.opening(0) }
        do {
            let inputs = inputPartitions(numbers)
            if !inputs.isEmpty {
                for committed in try kafka({ () throws(KafkaError) in try consumer.committed(inputs) }) {
                    startOffsets[committed.topicPartition] = max(0, committed.offset)
                }
            }
            for partition in numbers {
                try openTask(partition)
                try holdEventsUntilTablesCaughtUp(partition)
                worker.opening(nil)
            }
        } catch {
            logger.error("restore failed; the worker stops", metadata: ["error": "\(error)"])
            worker.stopAfterFailure(error)
        }
        worker.record { $0.assignedPartitions = self.tasks.keys.sorted() }
    }

    /// The group member's share-out (several loop threads): gives each new partition to the loop
    /// thread holding the fewest, posts the others' shares to them, and stops reading those here.
    /// Returns this thread's share.
    func shareOut(_ numbers: [Int32], consumer: KafkaConsumer) -> [Int32] {
        guard let threads = worker.threads, mailbox == nil, !numbers.isEmpty else { return numbers }
        let open = threads.openThreads
        guard !open.isEmpty else { return numbers }
        var load: [Int: Int] = [0: tasks.count]
        for thread in open { load[thread] = 0 }
        for (_, thread) in shared where load[thread] != nil { load[thread]! += 1 }
        var mine: [Int32] = []
        var theirs: [Int: [Int32]] = [:]
        for partition in numbers {
            let thread = load.min { $0.value < $1.value || $0.value == $1.value && $0.key < $1.key }!.key
            load[thread]! += 1
            if thread == 0 { mine.append(partition) } else { theirs[thread, default: []].append(partition) }
        }
        for (thread, partitions) in theirs.sorted(by: { $0.key < $1.key }) {
            let inputs = inputPartitions(partitions)
            if let mailbox = threads.mailbox(thread), mailbox.post(.assign(partitions)) {
                for partition in partitions { shared[partition] = thread }
                // Read by that thread's own consumer, not this one.
                do { try consumer.pause(inputs) } catch {
                    logger.warning("could not stop reading partitions given to another loop thread", metadata: ["error": "\(error)"])
                }
            } else {
                mine += partitions  // that thread stopped meanwhile
            }
        }
        return mine.sorted()
    }

    /// The group member's side of a revoke or a loss (several loop threads): asks the threads
    /// holding these partitions to commit (revoke) or drop (lost) them, and waits until they did.
    /// Returns the waits to finish after this thread's own part.
    func reclaim(_ partitions: [KafkaTopicPartition], lost: Bool) -> [DispatchSemaphore] {
        guard let threads = worker.threads, mailbox == nil else { return [] }
        var byThread: [Int: [Int32]] = [:]
        for partition in Set(partitions.map(\.partition)) {
            if let thread = shared.removeValue(forKey: partition) { byThread[thread, default: []].append(partition) }
        }
        var waits: [DispatchSemaphore] = []
        for (thread, numbers) in byThread {
            let done = DispatchSemaphore(value: 0)
            let request: LoopMailbox.Request = lost ? .lost(numbers.sorted(), done) : .revoke(numbers.sorted(), done)
            if let mailbox = threads.mailbox(thread), mailbox.post(request) { waits.append(done) }
        }
        return waits
    }

    func awaitReclaimed(_ waits: [DispatchSemaphore]) {
        for done in waits where done.wait(timeout: .now() + .seconds(120)) == .timedOut {
            logger.error("a loop thread did not give back its partitions within 120 s")
        }
    }

    func partitionsRevoked(_ partitions: [KafkaTopicPartition], consumer: KafkaConsumer) {
        worker.metrics.rebalance("revoked")
        logger.info("partitions revoked; committing before they go", metadata: ["partitions": "\(Set(partitions.map(\.partition)).sorted())"])
        let waits = reclaim(partitions, lost: false)
        // Still the owner: commit everything before the partitions go.
        do { try commit() } catch {
            logger.error("commit before revoke failed", metadata: ["error": "\(error)"])
        }
        drop(Set(partitions.map(\.partition)))
        awaitReclaimed(waits)
    }

    func drop(_ partitions: Set<Int32>) {
        for partition in partitions {
            // What committed and is staged goes to the file before the task leaves: a restart on
            // this state directory then reads no changelog. (The callers commit or abandon the
            // transaction in flight first, except a thread stopping after an error: the file's
            // lock keeps its committer's staging apart.)
            if let file = tasks[partition]?.stateFile {
                do { try file.flush() } catch { forgetLocalState(file, partition: partition, error: error, logger: logger) }
            }
            let dropped = ledger.forget(partition: partition)
            if !dropped.isEmpty {
                logger.warning(
                    "partition left before the abort notes of its aborted batches were written; their restores take them for committed",
                    metadata: ["partition": "\(partition)", "batches": "\(dropped)"])
            }
            tasks[partition] = nil
            tableCatchUp[partition] = nil
            buffers[partition] = nil
        }
        pausedForBackpressure = pausedForBackpressure.filter { tp in tasks[tp.partition] != nil }
        worker.record { $0.assignedPartitions = self.tasks.keys.sorted() }
    }

    func partitionsLost(_ partitions: [KafkaTopicPartition], consumer: KafkaConsumer) {
        worker.metrics.rebalance("lost")
        logger.warning(
            "partitions lost (dropped from the group); abandoning what is not committed",
            metadata: ["partitions": "\(Set(partitions.map(\.partition)).sorted())", "inFlight": "\(inFlight?.batch ?? "none")"])
        let waits = reclaim(partitions, lost: true)
        abandonUncommitted()
        drop(Set(partitions.map(\.partition)))
        awaitReclaimed(waits)
    }

    /// Another member may own the partitions already: drops the uncommitted work (after the
    /// transaction in flight is over: the producer does one thing at a time).
    func abandonUncommitted() {
        if let pending = inFlight {
            pending.done.wait()
            inFlight = nil
            logger.warning(
                // Committed: it passed the committer's membership check before librdkafka
                // noticed the loss.
                "the transaction in flight when the partitions were lost \(pending.error == nil ? "had committed" : "failed")",
                metadata: ["batch": "\(pending.batch)", "error": "\(pending.error.map { "\($0)" } ?? "none")"])
        }
        try? producer.abortTransaction()
    }

    // MARK: Requests from the group member's loop thread (loop threads after the first)

    /// Carries out the member's requests. `committed`: the loop has stopped after its last commit
    /// (a revoke then only drops).
    func serve(_ requests: [LoopMailbox.Request], committed: Bool = false) {
        for request in requests {
            switch request {
            case .assign(let numbers):
                guard !committed else { continue }
                do {
                    take(numbers, consumer: try kafka { () throws(KafkaError) in try group() })
                    let inputs = inputPartitions(numbers)
                    // Concrete offsets (0 where the group has none): a logical one (beginning)
                    // costs librdkafka an offset lookup first, and 2.0.2's broker thread then
                    // fetched only ~0.5 s later. Below the log's start, `auto.offset.reset`
                    // (earliest) applies.
                    try kafka { () throws(KafkaError) in
                        try consumer.incrementalAssign(inputs.map { KafkaTopicPartitionOffset($0, offset: startOffsets[$0] ?? 0) })
                    }
                } catch {
                    logger.error("could not read the partitions given by the group member's loop thread; the worker stops", metadata: ["error": "\(error)"])
                    worker.stopAfterFailure(error)
                }
            case .revoke(let numbers, let done):
                if !committed {
                    do { try commit() } catch {
                        logger.error("commit before revoke failed", metadata: ["error": "\(error)"])
                    }
                }
                release(numbers)
                done.signal()
            case .lost(let numbers, let done):
                if !committed { abandonUncommitted() }
                release(numbers)
                done.signal()
            }
        }
    }

    /// Drops these partitions' tasks and stops reading them (a loop thread after the first).
    private func release(_ numbers: [Int32]) {
        drop(Set(numbers))
        let inputs = inputPartitions(numbers)
        do { try consumer.incrementalUnassign(inputs) } catch {
            logger.warning("could not stop reading released partitions", metadata: ["error": "\(error)"])
        }
    }
}
