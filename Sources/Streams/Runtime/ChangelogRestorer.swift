import Kafka
import Logging

/// Rebuilds a task's stores and positions from its changelog partition: a record counts when a
/// commit marker follows it and no abort note names its batch (see ``ChangelogFormat``).
struct ChangelogRestorer {
    var client: KafkaClientConfiguration
    var logger: Logger
    var timeout: Duration = .seconds(60)

    struct Result {
        var entries: [(store: String, key: String, value: [UInt8]?)] = []
        var streamTime: Int64 = .min
        var positions: [String: Int64] = [:]
        var appliedBatches = 0
        var skippedRecords = 0
        /// Store keys written after the last commit marker: their records did not commit. The new
        /// owner writes their committed values again, so compaction converges on the truth.
        var uncommittedKeys: [(store: String, key: String)] = []
        /// Changelog records read.
        var recordsRead = 0
        /// The offset after the last commit marker read (where the next delta starts).
        var committedThrough: Int64 = 0
        /// The start offset was past the end of the log: local state does not match this
        /// changelog (for example a new cluster); restore from the beginning instead.
        var startBeyondEnd = false
    }

    /// Reads from `start` (a previous restore's `committedThrough`, or 0) to the partition's end
    /// as of now. Blocks.
    /// - Parameter aborted: batch ids known to have aborted (this process's own, whose abort
    ///   notes may not be written yet).
    /// - Parameter progress: called after each batch read, with the records read and the records
    ///   to read (from `start` to the end), on the calling thread.
    func restore(
        topic: String, partition: Int32, from start: Int64 = 0, aborted: Set<String> = [],
        progress: (_ read: Int64, _ total: Int64) -> Void = { _, _ in }
    ) throws(KafkaError) -> Result {
        var configuration = KafkaConsumerConfiguration(client: client, groupID: nil)
        configuration.isolationLevel = .readCommitted
        configuration.enablePartitionEOF = true
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        defer { try? consumer.close() }
        let tp = KafkaTopicPartition(topic: topic, partition: partition)
        let end = try consumer.watermarks(tp, timeout: .seconds(10)).high
        var result = Result()
        result.committedThrough = start
        if start > end {
            result.startBeyondEnd = true
            return result
        }
        guard end > start else { return result }
        try consumer.assign([KafkaTopicPartitionOffset(tp, offset: start > 0 ? start : KafkaOffset.beginning)])
        var pending: [KafkaConsumerMessage] = []
        // Batches with a commit marker, applied at the end: an abort note comes after its batch.
        var marked: [(batch: String, records: [KafkaConsumerMessage])] = []
        var aborted = aborted
        var position: Int64 = start
        let deadline = ContinuousClock.now.advanced(by: timeout)
        reading: while position < end {
            if ContinuousClock.now > deadline {
                throw KafkaError(code: .timedOut, reason: "restore of \(tp): read \(position) of \(end) within \(timeout)", isRetriable: true)
            }
            progress(position - start, end - start)
            for event in try consumer.pollBatch(maxMessages: 5_000, timeout: .milliseconds(200)) {
                switch event {
                case .partitionEOF(let eof):
                    position = max(position, eof.offset)
                    if position >= end { break reading }
                case .message(let message):
                    position = message.offset + 1
                    result.recordsRead += 1
                    let key = message.keyString
                    if key == ChangelogFormat.commitKey {
                        result.committedThrough = message.offset + 1
                        // Everything before a commit marker is its batch (see ChangelogFormat).
                        marked.append((message.valueString ?? "", pending))
                        pending = []
                    } else if key == ChangelogFormat.abortKey {
                        if let batch = message.valueString { aborted.insert(batch) }
                    } else {
                        pending.append(message)
                    }
                }
            }
        }
        var skipped = pending
        for (batch, records) in marked {
            if aborted.contains(batch) {
                skipped += records
                continue
            }
            for record in records { apply(record, to: &result) }
            result.appliedBatches += 1
        }
        result.skippedRecords += skipped.count
        result.uncommittedKeys = skipped.compactMap { $0.keyString.flatMap(ChangelogFormat.split) }
        return result
    }

    private func apply(_ message: KafkaConsumerMessage, to result: inout Result) {
        guard let key = message.keyString else { return }
        if key == ChangelogFormat.positionsKey {
            if let value = message.value, let decoded = ChangelogFormat.decodePositions(value) {
                result.streamTime = max(result.streamTime, decoded.streamTime)
                result.positions.merge(decoded.positions) { max($0, $1) }
            }
        } else if let (store, storeKey) = ChangelogFormat.split(key) {
            result.entries.append((store, storeKey, message.value))
        }
    }
}
