import Kafka

/// A task's fetched, not yet processed records, one queue per input topic (the task's partition
/// of it). Records leave in event-time order across the task's topics: table records first; then
/// the earliest head by record timestamp — but only while every event topic either has a record
/// buffered or has nothing more to fetch, so that one topic fetched ahead of another cannot push
/// stream time past records that are still on their way (Kafka Streams' task idling, with
/// `max.task.idle.ms` = 0).
///
/// A task has a handful of topics: they are kept in arrays and found by a scan (a consumed
/// record's topic is the consumer's one string per topic, so each comparison is a pointer check),
/// not hashed for every record.
struct TaskInputBuffer {
    private var topics: [String] = []
    private var queues: [[KafkaConsumerMessage]] = []
    private var heads: [Int] = []

    private func slot(_ topic: String) -> Int? { topics.firstIndex(of: topic) }

    mutating func append(_ message: KafkaConsumerMessage) {
        if let i = slot(message.topic) {
            queues[i].append(message)
        } else {
            topics.append(message.topic)
            queues.append([message])
            heads.append(0)
        }
    }

    private func count(at i: Int) -> Int { queues[i].count - heads[i] }

    func count(_ topic: String) -> Int { slot(topic).map(count(at:)) ?? 0 }

    var isEmpty: Bool { topics.indices.allSatisfy { count(at: $0) == 0 } }

    /// The next record to process, or nil when the task must wait for a topic that still has
    /// records to fetch. `exhausted(topic)` says a topic has nothing more on the broker.
    mutating func next(tables: [String], events: [String], exhausted: (String) -> Bool) -> KafkaConsumerMessage? {
        for i in topics.indices where count(at: i) > 0 && tables.contains(topics[i]) { return pop(i) }
        var best: (slot: Int, timestamp: Int64)?
        for topic in events {
            guard let i = slot(topic), count(at: i) > 0 else {
                if exhausted(topic) { continue }
                return nil
            }
            let timestamp = queues[i][heads[i]].timestamp?.milliseconds ?? .min
            if best == nil || timestamp < best!.timestamp { best = (i, timestamp) }
        }
        guard let best else { return nil }
        return pop(best.slot)
    }

    private mutating func pop(_ i: Int) -> KafkaConsumerMessage {
        let index = heads[i]
        let message = queues[i][index]
        if index + 1 == queues[i].count {
            queues[i].removeAll(keepingCapacity: true)
            heads[i] = 0
        } else {
            heads[i] = index + 1
            if index > 4096 {  // drop what was consumed
                queues[i].removeFirst(index + 1)
                heads[i] = 0
            }
        }
        return message
    }
}
