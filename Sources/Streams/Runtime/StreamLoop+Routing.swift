import Foundation
import Kafka
import Logging

/// A repartitioned processor's repartition topic: made sure of before the worker joins its group,
/// partitioned like the processor's table.
extension StreamLoop {
    /// Makes sure the repartition topic exists (the topic preparer creates it from the catalog,
    /// as a changelog: never left to auto-creation) and has as many partitions as the processor's
    /// key-partitioned topic (its table), so that a forwarded record reaches the task that holds
    /// its key's state. A missing topic, or one partitioned otherwise, stops the worker with what
    /// to do.
    func prepareRouting(_ topic: String) throws(StreamsError) -> KeyRouting {
        if let preparer = worker.configuration.topicPreparer {
            try kafka { () throws(KafkaError) in try preparer.prepareChangelog(topic) }
        }
        let keyTopic = worker.definition.keyPartitionedTopic
        var listing: [KafkaTopicMetadata] = []
        // A topic just created reaches every broker's metadata within moments: asked a few times.
        for attempt in 0..<10 {
            listing = try kafka { () throws(KafkaError) in try consumer.topics() }
            if listing.contains(where: { $0.name == topic && !$0.partitions.isEmpty }) || worker.isStopping { break }
            if attempt < 9 { Thread.sleep(forTimeInterval: 0.5) }
        }
        let group = worker.configuration.group
        guard let partitions = listing.first(where: { $0.name == topic })?.partitions.count, partitions > 0 else {
            throw StreamsError(
                .configuration,
                "repartition topic \(topic) does not exist: create it before the worker starts — `millwright topics apply --group \(group)` on a real cluster, `millwright cluster --group \(group)` for the in-process one — with as many partitions as \(keyTopic ?? "the processor's inputs")"
            )
        }
        if let keyTopic, let keyPartitions = listing.first(where: { $0.name == keyTopic })?.partitions.count, keyPartitions != partitions {
            throw StreamsError(
                .configuration,
                "repartition topic \(topic) has \(partitions) partitions, but \(keyTopic) has \(keyPartitions): they must be equal, so that a forwarded record reaches the task holding its key. Delete \(topic) while no worker of group \(group) runs (it holds nothing once read) and create it with \(keyPartitions) partitions"
            )
        }
        logger.info("records on another task's partition are forwarded", metadata: ["repartitionTopic": "\(topic)", "partitions": "\(partitions)"])
        return KeyRouting(topic: topic, partitions: Int32(partitions))
    }
}
