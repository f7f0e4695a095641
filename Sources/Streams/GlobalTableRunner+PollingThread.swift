import Foundation
import Kafka
import Logging
import Synchronization

extension GlobalTableRunner {
    /// Where the polling thread is: partitions assigned and the next offset of each (the stored
    /// one until something is read; absent: from the beginning).
    private struct Progress {
        var assigned: [TopicPartition]
        var positions: [TopicPartition: Int64]
        var started: ContinuousClock.Instant
        /// When loading progress was last logged (at most every 2 s until caught up).
        var logged: ContinuousClock.Instant
        /// Produces what the sink leaves in its outbox (dead letters).
        let outbox: GlobalTableOutboxPublisher
    }

    func run(_ partitions: [TopicPartition], startup: Waiter) {
        let progress: Progress
        do {
            progress = try prepare(partitions)
        } catch {
            releaseDiscovery()
            closeConsumerOnThread()
            state.withLock { $0.finished(error.code == .stopped ? nil : error) }.forEach(resume)
            startup.resume(returning: .failure(error))
            return
        }
        startup.resume(returning: .success(()))
        let error = poll(progress)
        // Dead letters in flight are given a moment; what stays unreported is sent by the next start.
        progress.outbox.finish(within: configuration.outboxStopTimeout)
        cancelRefresher()
        releaseDiscovery()
        closeConsumerOnThread()
        if let error {
            logger.error("global table stopped: \(error.reason)", metadata: [LogMetadataKey.error: "\(error)"])
        }
        state.withLock { $0.finished(error) }.forEach(resume)
    }

    /// Reads the stored positions and the high watermarks and assigns every partition.
    private func prepare(_ partitions: [TopicPartition]) throws(GlobalTableError) -> Progress {
        let started = ContinuousClock.now
        let stored = try storedPositions()
        let deadline = started.advanced(by: configuration.startTimeout)
        var targets: [TopicPartition: Int64] = [:]
        var positions: [TopicPartition: Int64] = [:]
        for partition in partitions {
            let marks = try watermarks(partition, deadline: deadline)
            targets[partition] = marks.high
            guard let position = stored[partition] else { continue }
            if position > marks.high {
                logger.warning(
                    "stored position is past the end of the partition (was the topic re-created?); reading it from the beginning",
                    metadata: [LogMetadataKey.partition: "\(partition)", LogMetadataKey.offset: "\(position)", LogMetadataKey.highWatermark: "\(marks.high)"])
                continue
            }
            if position < marks.low {
                logger.warning(
                    "stored position is before the start of the log: records in between were deleted and are not applied",
                    metadata: [LogMetadataKey.partition: "\(partition)", LogMetadataKey.offset: "\(position)", LogMetadataKey.lowWatermark: "\(marks.low)"])
            }
            positions[partition] = position
        }
        if stopFlag.load(ordering: .acquiring) {
            throw GlobalTableError(code: .stopped, reason: "stopped while starting")
        }
        try assign(partitions, positions: positions)
        inbox.withLock { $0.assignedAtStart(partitions) }
        let catchUp = GlobalTableCatchUp(targets: targets, positions: positions)
        logger.info(
            "global table assigned; loading",
            metadata: [
                LogMetadataKey.topics: "\(topics.joined(separator: ","))", LogMetadataKey.partitions: "\(partitions.count)",
                LogMetadataKey.behind: "\(catchUp.lagDescription)",
            ])
        if let caughtUp = state.withLock({ $0.assigned(catchUp) }) {
            logCaughtUp(since: started)
            resume(caughtUp)
        }
        return Progress(
            assigned: partitions, positions: positions, started: started, logged: started,
            outbox: GlobalTableOutboxPublisher(sink: sink, configuration: configuration, logger: logger))
    }

    private func poll(_ start: Progress) -> GlobalTableError? {
        var progress = start
        while !stopFlag.load(ordering: .acquiring) {
            let added = inbox.withLock { $0.take() }
            if !added.isEmpty {
                do throws(GlobalTableError) {
                    let stored = try storedPositions()
                    for partition in added where progress.positions[partition] == nil {
                        progress.positions[partition] = stored[partition]
                    }
                    progress.assigned += added
                    try assign(progress.assigned, positions: progress.positions)
                } catch {
                    return error
                }
            }
            let events: [KafkaConsumerEvent]
            do {
                events = try consumer.pollBatch(maxMessages: configuration.maxBatchSize, timeout: configuration.pollTimeout)
            } catch {
                if error.isRetriable && !error.isFatal {
                    logger.warning("polling failed; retrying", metadata: [LogMetadataKey.error: "\(error)"])
                    Thread.sleep(forTimeInterval: configuration.retryBackoff.seconds)
                    continue
                }
                return GlobalTableError(code: .kafka, reason: "polling \(topics.joined(separator: ", ")) failed", underlying: error)
            }
            if !events.isEmpty, let error = apply(events, &progress) { return error }
            do { try progress.outbox.pump() } catch { return error }
        }
        return nil
    }

    /// Hands one poll's records to the sink, then moves the positions and the catch-up state.
    private func apply(_ events: [KafkaConsumerEvent], _ progress: inout Progress) -> GlobalTableError? {
        var records: [StreamRecord] = []
        records.reserveCapacity(events.count)
        var advanced: [TopicPartition: Int64] = [:]
        var ends: Set<TopicPartition> = []
        for event in events {
            switch event {
            case .message(let message):
                let record = StreamRecord(message)
                let partition = record.topicPartition
                if advanced[partition] == nil, let previous = progress.positions[partition], message.offset < previous {
                    logger.warning(
                        "partition went back to an earlier offset (log reset?); re-applying from there",
                        metadata: [
                            LogMetadataKey.partition: "\(partition)", LogMetadataKey.offset: "\(message.offset)", LogMetadataKey.previousOffset: "\(previous)",
                        ])
                }
                records.append(record)
                advanced[partition] = message.offset + 1
            case .partitionEOF(let end):
                ends.insert(TopicPartition(end.topicPartition))
            }
        }
        if !records.isEmpty {
            do {
                try sink.apply(records, positions: advanced)
            } catch {
                let ranges = Self.describe(records)
                return GlobalTableError(
                    code: .sink,
                    reason:
                        "the sink failed to apply \(records.count) records (\(ranges)); nothing of this batch is stored and the positions stay where they were",
                    underlying: error)
            }
            applied.add(records.count, ordering: .relaxed)
            progress.positions.merge(advanced) { $1 }
            progress.outbox.applied()
        }
        let (caughtUp, loading) = state.withLock { machine in
            (machine.applied(positions: advanced, ends: ends), machine.isCaughtUp ? [] : machine.progress)
        }
        if let caughtUp {
            logCaughtUp(since: progress.started)
            resume(caughtUp)
        } else if !loading.isEmpty && ContinuousClock.now - progress.logged >= .seconds(2) {
            progress.logged = .now
            logProgress(loading, since: progress.started)
        }
        return nil
    }

    private func storedPositions() throws(GlobalTableError) -> [TopicPartition: Int64] {
        do {
            return try sink.storedPositions()
        } catch {
            throw GlobalTableError(code: .sink, reason: "the sink could not read its stored positions", underlying: error)
        }
    }

    private func watermarks(_ partition: TopicPartition, deadline: ContinuousClock.Instant) throws(GlobalTableError) -> KafkaWatermarks {
        while true {
            let remaining = ContinuousClock.now.duration(to: deadline)
            do {
                return try consumer.watermarks(partition.kafka, timeout: max(remaining, .milliseconds(100)))
            } catch {
                if !error.isRetriable || remaining <= .zero || stopFlag.load(ordering: .acquiring) {
                    throw GlobalTableError(code: .kafka, reason: "reading the high watermark of \(partition) failed", underlying: error)
                }
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
    }

    private func assign(_ partitions: [TopicPartition], positions: [TopicPartition: Int64]) throws(GlobalTableError) {
        do {
            try consumer.assign(
                partitions.map {
                    KafkaTopicPartitionOffset($0.kafka, offset: positions[$0] ?? KafkaOffset.beginning)
                })
        } catch {
            throw GlobalTableError(code: .kafka, reason: "assigning \(partitions.count) partitions failed", underlying: error)
        }
    }

    private func closeConsumerOnThread() {
        do {
            try consumer.close()
        } catch {
            logger.warning("closing the global-table consumer failed", metadata: [LogMetadataKey.error: "\(error)"])
        }
    }

    private func logCaughtUp(since started: ContinuousClock.Instant) {
        logger.info(
            "global table caught up",
            metadata: [
                LogMetadataKey.topics: "\(topics.joined(separator: ","))", LogMetadataKey.records: "\(appliedRecordCount)",
                LogMetadataKey.seconds: "\(started.duration(to: .now).seconds)",
            ])
    }

    /// Records loaded of those to load, and the rate, while catching up.
    private func logProgress(_ loading: [GlobalTableProgress], since started: ContinuousClock.Instant) {
        let loaded = loading.reduce(0) { $0 + $1.loaded }
        let seconds = started.duration(to: .now).seconds
        logger.info(
            "loading global table",
            metadata: [
                LogMetadataKey.records: "\(loaded)", "toLoad": "\(loading.reduce(0) { $0 + $1.toLoad })",
                "recordsPerSecond": "\(seconds > 0 ? Int(Double(appliedRecordCount) / seconds) : 0)",
                "topics": "\(loading.map { "\($0.topic) \($0.loaded)/\($0.toLoad)" }.joined(separator: ", "))",
            ])
    }

    /// `t[0]@5…9, t[2]@0…3`: which offsets a failed batch held.
    private static func describe(_ records: [StreamRecord]) -> String {
        var ranges: [TopicPartition: (Int64, Int64)] = [:]
        for record in records {
            let partition = record.topicPartition
            let range = ranges[partition] ?? (record.offset, record.offset)
            ranges[partition] = (min(range.0, record.offset), max(range.1, record.offset))
        }
        return ranges.keys.sorted().map { "\($0)@\(ranges[$0]!.0)…\(ranges[$0]!.1)" }.joined(separator: ", ")
    }
}

extension Duration {
    /// The duration in seconds, for `TimeInterval` APIs and log lines.
    fileprivate var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
