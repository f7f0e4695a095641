import Foundation
import Kafka
import Logging

/// The input scheduler: records leave a task's buffer in order, tables before events, within the
/// transaction's budget; backpressure pauses a partition that runs ahead.
extension StreamLoop {
    // MARK: Metrics

    /// Consumer lag of every input partition this thread reads (the high watermark librdkafka
    /// last saw − the next offset to process) and the size of its tasks' state.
    func publishMetrics() {
        var lag: [KafkaTopicPartition: Int64] = [:]
        for partition in tasks.keys {
            for tp in inputPartitions([partition]) {
                guard let high = try? consumer.cachedWatermarks(tp).high, high >= 0 else { continue }
                let position = (try? consumer.position([tp]).first?.offset).flatMap { $0 >= 0 ? $0 : nil }
                lag[tp] = max(0, high - (position ?? startOffsets[tp] ?? 0))
            }
        }
        var states: [String: Int] = ["store_entries": 0, "tasks": tasks.count]
        for task in tasks.values {
            states["store_entries", default: 0] += task.storeEntries
            for (name, value) in task.processor.stateSizes() { states[name, default: 0] += value }
        }
        worker.metrics.publish(lag: lag, states: states)
    }

    // MARK: Input order

    /// Processes the task's buffered records in order until it must wait for a topic, `budget`
    /// records were processed, or the task's outputs reached `outputLimit` bytes (the rest waits
    /// for the next transaction).
    func drain(_ task: StreamTask, partition: Int32, now: Int64, budget: Int, outputLimit: Int = .max) throws(StreamsError) -> Int {
        // Taken out of the dictionary while it drains: changed in place, not copied.
        guard budget > 0, var buffer = buffers.removeValue(forKey: partition) else { return 0 }
        defer { buffers[partition] = buffer }
        guard !buffer.isEmpty else { return 0 }
        // While the task's tables catch up, only table records leave the buffer.
        let flowing = tableCatchUp[partition] == nil ? eventTopics : []
        var processed = 0
        // Whether a topic has nothing more to fetch cannot change before the next poll: asked once.
        var known: [String: Bool] = [:]
        func topicExhausted(_ topic: String) -> Bool {
            if let answer = known[topic] { return answer }
            let answer = exhausted(topic, partition)
            known[topic] = answer
            return answer
        }
        while let message = buffer.next(tables: tableTopics, events: flowing, exhausted: topicExhausted) {
            var record = StreamRecord(message)
            if message.topic == routing?.topic { record.origin = RecordOrigin(headers: record.headers) }
            do {
                try task.process(record, now: now)
            } catch {
                throw StreamsError(
                    .processor,
                    "processor \(worker.definition.name) failed on \(message.topic)[\(message.partition)]@\(message.offset): \(error)")
            }
            processed += 1
            if processed == budget || task.outputBytes >= outputLimit { break }
        }
        return processed
    }

    /// True when the partition has nothing more to fetch (its fetch position reached the high
    /// watermark librdkafka last saw) or is paused for a table catch-up of another kind.
    func exhausted(_ topic: String, _ partition: Int32) -> Bool {
        let tp = KafkaTopicPartition(topic: topic, partition: partition)
        if tableCatchUp[partition] != nil { return false }
        guard let high = try? consumer.cachedWatermarks(tp).high, high >= 0 else { return false }
        let position = (try? consumer.position([tp]).first?.offset) ?? -1
        return max(position, startOffsets[tp] ?? 0) >= high
    }

    /// Pauses event partitions whose task holds many unprocessed records; resumes them when
    /// drained. Bounds memory when one topic runs far ahead of another.
    func applyBackpressure() throws(StreamsError) {
        var pause: [KafkaTopicPartition] = []
        var resume: [KafkaTopicPartition] = []
        for (partition, buffer) in buffers {
            for topic in eventTopics {
                let tp = KafkaTopicPartition(topic: topic, partition: partition)
                let count = buffer.count(topic)
                if count > worker.configuration.maxBufferedRecordsPerPartition && !pausedForBackpressure.contains(tp) {
                    pause.append(tp)
                    pausedForBackpressure.insert(tp)
                } else if count < worker.configuration.maxBufferedRecordsPerPartition / 5 && pausedForBackpressure.contains(tp) {
                    resume.append(tp)
                    pausedForBackpressure.remove(tp)
                }
            }
        }
        if !pause.isEmpty {
            logger.debug("input paused: its task holds too many records", metadata: ["partitions": "\(pause.map { "\($0.topic)[\($0.partition)]" })"])
            try kafka { () throws(KafkaError) in try consumer.pause(pause) }
        }
        if !resume.isEmpty {
            logger.debug("input resumed", metadata: ["partitions": "\(resume.map { "\($0.topic)[\($0.partition)]" })"])
            try kafka { () throws(KafkaError) in try consumer.resume(resume) }
        }
    }

    // MARK: Tables first

    /// Holds a new task's event records in its buffer until its table partitions have been read
    /// to the end they had at assignment: a released work order is known before the shop-floor
    /// events for it. (Holding, not pausing: chosen when librdkafka 2.0.2 took about half a second
    /// to fetch again after a resume, before resumes woke the fetchers; holding needs no round at
    /// all, and the buffer's backpressure still bounds what is held.)
    func holdEventsUntilTablesCaughtUp(_ partition: Int32) throws(StreamsError) {
        let tables = tableTopics
        guard !tables.isEmpty else { return }
        var targets: [String: Int64] = [:]
        for topic in tables {
            let tp = KafkaTopicPartition(topic: topic, partition: partition)
            let end = try kafka { () throws(KafkaError) in try consumer.watermarks(tp, timeout: .seconds(10)).high }
            if end > startOffsets[tp] ?? 0 { targets[topic] = end }
        }
        guard !targets.isEmpty else { return }
        tableCatchUp[partition] = targets
    }

    func resumeCaughtUpTasks() throws(StreamsError) {
        for (partition, targets) in tableCatchUp {
            let positions = try kafka { () throws(KafkaError) in
                try consumer.position(targets.keys.map { KafkaTopicPartition(topic: $0, partition: partition) })
            }
            let caughtUp = positions.allSatisfy { max($0.offset, startOffsets[$0.topicPartition] ?? 0) >= (targets[$0.topic] ?? 0) }
            // Fetched is not processed: table rows still in the task's buffer (a turn's budget
            // ran out) are not in its state yet.
            let buffered = targets.keys.contains { buffers[partition]?.count($0) ?? 0 > 0 }
            guard caughtUp && !buffered else { continue }
            tableCatchUp[partition] = nil
            logger.debug("table caught up; events flow", metadata: ["partition": "\(partition)"])
        }
    }
}
