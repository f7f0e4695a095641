import Kafka
import Logging

/// Rebuilds a task's stores and positions from its changelog partition: a record counts when a
/// commit marker follows it and no abort note names its batch (see ``ChangelogFormat``).
///
/// The restore streams: each batch goes to the store as soon as it is settled, so a restore holds
/// at most the records of the batch being read and of the one before it — not the partition. A
/// batch is settled when the *next* commit marker is read (or the partition's end): an abort note
/// comes after the batch it names, in the same writer's next transaction on that partition, and
/// that transaction's marker comes after the note. A batch larger than ``maxHeldBytes`` (on a
/// compacted changelog, every record before the first marker that compaction kept is one batch)
/// is not held: its records are counted, and read a second time from the broker once it is
/// settled.
struct ChangelogRestorer {
    var client: KafkaClientConfiguration
    var logger: Logger
    var timeout: Duration = .seconds(60)
    /// Changelog bytes (keys and values) held at most while their batch is not settled; a batch
    /// past it is read again when it settles. Default 16 MiB.
    var maxHeldBytes: Int = 16 << 20

    /// A store entry as the changelog logs it (`nil`: deleted).
    typealias Change = (store: String, key: String, value: [UInt8]?)

    struct Result {
        var streamTime: Int64 = .min
        var positions: [String: Int64] = [:]
        var appliedBatches = 0
        /// Store entries applied.
        var appliedChanges = 0
        var skippedRecords = 0
        /// Store keys written after the last commit marker, or in an aborted batch: their records
        /// did not commit. The new owner writes their committed values again, so compaction
        /// converges on the truth.
        var uncommittedKeys: [(store: String, key: String)] = []
        /// Changelog records read (a batch read twice counts once).
        var recordsRead = 0
        /// The offset after the last commit marker read (where the next delta starts).
        var committedThrough: Int64 = 0
        /// The most changelog bytes held at once, waiting for their batch to settle.
        var peakHeldBytes = 0
        /// Batches read a second time because they outgrew ``ChangelogRestorer/maxHeldBytes``.
        var rereadBatches = 0
    }

    /// A consumer on the partition and its watermarks as of now. Blocks.
    func open(topic: String, partition: Int32) throws(KafkaError) -> Session {
        try Session(restorer: self, topic: topic, partition: partition)
    }

    /// A session on a changelog partition read by something other than a consumer of the cluster
    /// (a benchmark's log, compacted as Kafka's log cleaner would): the same restore.
    func open(topic: String, partition: Int32, reader: any ChangelogReader, watermarks: KafkaWatermarks) -> Session {
        Session(restorer: self, topic: topic, partition: partition, reader: reader, watermarks: watermarks)
    }

    /// One partition's restore: its watermarks (for the caller's ``RestorePlan``), then
    /// ``restore(from:aborted:apply:settled:progress:)``. Close it when done.
    final class Session {
        let topic: String
        let partition: Int32
        /// Log start (low) and end (high) offsets when the session opened; the restore reads to
        /// that end.
        let watermarks: KafkaWatermarks
        private let restorer: ChangelogRestorer
        private let consumer: any ChangelogReader
        private var tp: KafkaTopicPartition { KafkaTopicPartition(topic: topic, partition: partition) }

        fileprivate init(restorer: ChangelogRestorer, topic: String, partition: Int32) throws(KafkaError) {
            self.restorer = restorer
            self.topic = topic
            self.partition = partition
            var configuration = KafkaConsumerConfiguration(client: restorer.client, groupID: nil)
            configuration.isolationLevel = .readCommitted
            configuration.enablePartitionEOF = true
            let consumer = try KafkaConsumer(configuration: configuration, logger: restorer.logger)
            self.consumer = consumer
            do {
                watermarks = try consumer.watermarks(KafkaTopicPartition(topic: topic, partition: partition), timeout: .seconds(10))
            } catch {
                try? consumer.close()
                guard error.code == .unknownPartition || error.code == .unknownTopicOrPartition else { throw error }
                throw KafkaError(
                    code: error.code,
                    reason:
                        "changelog \(topic) has no partition \(partition) (\(error.reason)): a task's changelog partition is its input partition, so the changelog needs the inputs' partition count — create it with the catalog's (`millwright topics apply --group <group>`)"
                )
            }
        }

        fileprivate init(restorer: ChangelogRestorer, topic: String, partition: Int32, reader: any ChangelogReader, watermarks: KafkaWatermarks) {
            self.restorer = restorer
            self.topic = topic
            self.partition = partition
            consumer = reader
            self.watermarks = watermarks
        }

        func close() { try? consumer.close() }

        /// Records since a region's start, held while they fit (`records`), else only counted.
        private struct Region {
            var start: Int64
            var records: [(offset: Int64, key: String, value: [UInt8]?)]? = []
            var count = 0
            var bytes = 0
        }

        /// Reads from `start` to the end of ``watermarks``, applying each settled batch. Blocks.
        /// - Parameters:
        ///   - aborted: batch ids known to have aborted (this process's own, whose abort notes may
        ///     not be written yet).
        ///   - apply: each committed store change, in log order, as its batch settles.
        ///   - settled: after each settled batch: the offset after its marker (the state applied
        ///     so far is current to it), the stream time and positions so far.
        ///   - progress: before each poll, the records read and to read (from `start` to the end).
        func restore(
            from start: Int64, aborted: Set<String> = [], apply: (Change) -> Void,
            settled: (_ through: Int64, _ streamTime: Int64, _ positions: [String: Int64]) -> Void = { _, _, _ in },
            progress: (_ read: Int64, _ total: Int64) -> Void = { _, _ in }
        ) throws(KafkaError) -> Result {
            let end = watermarks.high
            var result = Result()
            result.committedThrough = start
            guard end > start else { return result }
            let deadline = ContinuousClock.now.advanced(by: restorer.timeout)
            let maxHeld = restorer.maxHeldBytes
            var aborted = aborted
            var open = Region(start: start)
            var marked: (region: Region, batch: String, marker: Int64)?
            var held = 0
            var position = start
            var reposition = false

            func applyRecord(key: String, value: [UInt8]?) {
                if key == ChangelogFormat.positionsKey {
                    if let value, let decoded = ChangelogFormat.decodePositions(value) {
                        result.streamTime = max(result.streamTime, decoded.streamTime)
                        result.positions.merge(decoded.positions) { max($0, $1) }
                    }
                } else if let (store, storeKey) = ChangelogFormat.split(key) {
                    apply((store, storeKey, value))
                    result.appliedChanges += 1
                }
            }
            func skipRecord(key: String) {
                if let split = ChangelogFormat.split(key) { result.uncommittedKeys.append(split) }
            }
            /// The batch before a marker just read (or the end): applied unless aborted.
            func settle(_ batch: (region: Region, batch: String, marker: Int64)) throws(KafkaError) {
                let skip = aborted.contains(batch.batch)
                if let records = batch.region.records {
                    held -= batch.region.bytes
                    for record in records {
                        if skip { skipRecord(key: record.key) } else { applyRecord(key: record.key, value: record.value) }
                    }
                } else {
                    result.rereadBatches += 1
                    reposition = true
                    try reread(from: batch.region.start, to: batch.marker, deadline: deadline) { key, value in
                        if skip { skipRecord(key: key) } else { applyRecord(key: key, value: value) }
                    }
                }
                if skip { result.skippedRecords += batch.region.count } else { result.appliedBatches += 1 }
                settled(batch.marker + 1, result.streamTime, result.positions)
            }

            try consumer.assign([KafkaTopicPartitionOffset(tp, offset: start > 0 ? start : KafkaOffset.beginning)])
            reading: while position < end {
                if ContinuousClock.now > deadline {
                    throw KafkaError(
                        code: .timedOut, reason: "restore of \(tp): read \(position) of \(end) within \(restorer.timeout)", isRetriable: true)
                }
                progress(position - start, end - start)
                for event in try consumer.pollBatch(maxMessages: 5_000, timeout: .milliseconds(200)) {
                    switch event {
                    case .partitionEOF(let eof):
                        position = max(position, eof.offset)
                        if position >= end { break reading }
                    case .message(let message):
                        // After a batch was read again, the fetch may still hand out what it had.
                        guard message.offset >= position, message.offset < end else { continue }
                        position = message.offset + 1
                        result.recordsRead += 1
                        let key = message.keyString ?? ""
                        if key == ChangelogFormat.commitKey {
                            // Everything before a commit marker is its batch (see ChangelogFormat);
                            // the marker settles the batch before it.
                            if let previous = marked { try settle(previous) }
                            marked = (open, message.valueString ?? "", message.offset)
                            open = Region(start: message.offset + 1)
                            result.committedThrough = message.offset + 1
                        } else if key == ChangelogFormat.abortKey {
                            if let batch = message.valueString { aborted.insert(batch) }
                        } else {
                            open.count += 1
                            guard open.records != nil else { continue }
                            let value = message.value
                            let size = key.utf8.count + (value?.count ?? 0) + 48
                            open.records?.append((message.offset, key, value))
                            open.bytes += size
                            held += size
                            result.peakHeldBytes = max(result.peakHeldBytes, held)
                            if held > maxHeld {
                                // Too much to hold: count only, and read these batches again.
                                open.records = nil
                                open.bytes = 0
                                marked?.region.records = nil
                                marked?.region.bytes = 0
                                held = 0
                            }
                        }
                    }
                }
                if reposition {
                    reposition = false
                    if position < end { try consumer.assign([KafkaTopicPartitionOffset(tp, offset: position)]) }
                }
            }
            if let last = marked { try settle(last) }
            // What follows the last marker never committed.
            if let records = open.records {
                for record in records { skipRecord(key: record.key) }
            } else {
                try reread(from: open.start, to: end, deadline: deadline) { key, _ in skipRecord(key: key) }
            }
            result.skippedRecords += open.count
            return result
        }

        /// Reads `from..<to` again (a batch too large to hold), passing each record's key and value.
        private func reread(from: Int64, to: Int64, deadline: ContinuousClock.Instant, _ body: (String, [UInt8]?) -> Void) throws(KafkaError) {
            guard to > from else { return }
            try consumer.assign([KafkaTopicPartitionOffset(tp, offset: from)])
            var position = from
            reading: while position < to {
                if ContinuousClock.now > deadline {
                    throw KafkaError(
                        code: .timedOut, reason: "restore of \(tp): read \(from)..<\(to) again, at \(position), within \(restorer.timeout)",
                        isRetriable: true)
                }
                for event in try consumer.pollBatch(maxMessages: 5_000, timeout: .milliseconds(200)) {
                    switch event {
                    case .partitionEOF(let eof):
                        position = max(position, eof.offset)
                        if position >= to { break reading }
                    case .message(let message):
                        guard message.offset >= position else { continue }
                        guard message.offset < to else { break reading }
                        position = message.offset + 1
                        let key = message.keyString ?? ""
                        if key != ChangelogFormat.abortKey && key != ChangelogFormat.commitKey { body(key, message.value) }
                    }
                }
            }
        }
    }
}

/// What a restore reads a changelog partition with: a consumer of the cluster (the worker), or a
/// log held elsewhere (the state-growth benchmark's compacted changelog, which outgrows
/// librdkafka's in-process cluster). Records in offset order from the assigned offset
/// (`KafkaOffset.beginning`: the log start); a `partitionEOF` at the end of the log.
public protocol ChangelogReader: AnyObject {
    func assign(_ positions: [KafkaTopicPartitionOffset]) throws(KafkaError)
    func pollBatch(maxMessages: Int, timeout: Duration) throws(KafkaError) -> [KafkaConsumerEvent]
    func close() throws(KafkaError)
}

extension KafkaConsumer: ChangelogReader {}
