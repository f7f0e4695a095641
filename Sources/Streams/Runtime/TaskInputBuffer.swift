import Kafka

/// A task's fetched, not yet processed records, one queue per input topic (the task's partition
/// of it). Records leave in event-time order across the task's topics: table records first; then
/// the earliest head by record timestamp — but only while every event topic either has a record
/// buffered or has nothing more to fetch, so that one topic fetched ahead of another cannot push
/// stream time past records that are still on their way (Kafka Streams' task idling, with
/// `max.task.idle.ms` = 0).
struct TaskInputBuffer {
    private var queues: [String: [KafkaConsumerMessage]] = [:]
    private var heads: [String: Int] = [:]

    mutating func append(_ message: KafkaConsumerMessage) {
        queues[message.topic, default: []].append(message)
    }

    func count(_ topic: String) -> Int { (queues[topic]?.count ?? 0) - (heads[topic] ?? 0) }

    var isEmpty: Bool { queues.keys.allSatisfy { count($0) == 0 } }

    /// The next record to process, or nil when the task must wait for a topic that still has
    /// records to fetch. `exhausted(topic)` says a topic has nothing more on the broker.
    mutating func next(tables: Set<String>, events: [String], exhausted: (String) -> Bool) -> KafkaConsumerMessage? {
        for topic in tables where count(topic) > 0 { return pop(topic) }
        var best: (topic: String, timestamp: Int64)?
        for topic in events {
            guard count(topic) > 0 else {
                if exhausted(topic) { continue }
                return nil
            }
            let head = queues[topic]![heads[topic, default: 0]]
            let timestamp = head.timestamp?.milliseconds ?? .min
            if best == nil || timestamp < best!.timestamp { best = (topic, timestamp) }
        }
        guard let best else { return nil }
        return pop(best.topic)
    }

    private mutating func pop(_ topic: String) -> KafkaConsumerMessage {
        let index = heads[topic, default: 0]
        let message = queues[topic]![index]
        if index + 1 == queues[topic]!.count {
            queues[topic] = []
            heads[topic] = 0
        } else {
            heads[topic] = index + 1
            if index > 4096 {  // drop what was consumed
                queues[topic]!.removeFirst(index + 1)
                heads[topic] = 0
            }
        }
        return message
    }
}
