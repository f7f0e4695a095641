import Foundation
import Kafka
import Streams
import Synchronization
import TestSupport
import Testing

/// Counts the table rows its task has read; its first wall-clock timer forwards that count.
private final class TableClockProcessor: StreamProcessor {
    var rows = 0
    var reported = false

    func initialize(context: any ProcessorContext) throws {
        context.schedule(.wallClock, every: 1) { [unowned self] _, context in
            guard !reported else { return }
            reported = true
            context.forward(OutputRecord(topic: "ticks", key: "p\(context.partition)", value: Array("\(rows)".utf8)))
        }
    }

    func process(_ record: StreamRecord, context: any ProcessorContext) throws {
        if record.topic == "table" { rows += 1 }
    }
}

/// A new task's events wait until its tables are read to where they were at assignment; its
/// wall-clock timers wait too. In the 30-minute chaos soak, a worker that took over a
/// confirmation task quarantined shop-floor events as UNKNOWN_WORK_ORDER seven seconds later:
/// their parking timeout had passed while the partition changed hands, and the parking timer
/// fired before the work-order table, with their release in it, had been read.
@Suite("Wall-clock timers of a task wait for its tables")
struct TableCatchUpClockTests {
    @Test("a task's first wall-clock timer sees every table row that was there when the task was assigned")
    func timersWaitForTables() async throws {
        let cluster = try TestKafka.cluster()
        var configuration = StreamWorkerTests.configuration(cluster)
        configuration.wallClockInterval = .milliseconds(10)  // the timers fire at the first loop turns
        let definition = ProcessorDefinition(name: "clock", inputTopics: ["table", "in"], tableTopics: ["table"]) { _ in TableClockProcessor() }
        for topic in ["table", "in", "ticks", definition.changelogTopic(group: configuration.group)] { try cluster.createTopic(topic, partitions: 1) }
        let rows = 100_000
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger("p"))
        for start in stride(from: 0, to: rows, by: 10_000) {
            _ = try await producer.send(
                batch: (start..<start + 10_000).map { KafkaProducerMessage(topic: "table", partition: 0, key: "row-\($0)", value: "r") })
        }
        _ = try await producer.send(batch: [KafkaProducerMessage(topic: "in", partition: 0, key: "e", value: "event")])
        await producer.close()

        let worker = try StreamWorker(definition: definition, configuration: configuration, logger: TestKafka.logger("w"))
        try worker.start()
        let ticks = try await StreamWorkerTests.outputs(cluster, count: 1, topic: "ticks", partitions: 1)
        await worker.stop()
        #expect(worker.failure == nil)
        #expect(ticks == ["\(rows)"], "the first timer came after all \(rows) table rows, not before")
    }
}
