import Foundation
import Kafka
import Manufacturing
import Streams
import TestSupport
import Testing

@Suite("A worker process whose changelog lost history")
struct StateLossWorkerTests {
    /// Writes 8 MB of committed release ledger entries to partition 0 of the group's release
    /// changelog: the in-process cluster keeps ~5 MB per partition, so its log start moves past 0.
    static func truncate(_ e2e: EndToEnd) async throws -> Int64 {
        let changelog = e2e.changelog("release")
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(e2e.cluster), logger: TestKafka.logger("seed"))
        let value = [UInt8](repeating: 0x7B, count: 10_000)
        for chunk in 0..<8 {
            var batch: [KafkaProducerMessage] = []
            for n in chunk * 100..<(chunk + 1) * 100 {
                let header = [KafkaHeader(key: "mw-batch", value: "seed:\(n)")]
                batch.append(
                    KafkaProducerMessage(
                        topic: changelog, partition: 0, key: Array("\(ReleaseProcessor.storeName)\u{1F}WO-\(n)-10".utf8), value: value, headers: header))
                batch.append(
                    KafkaProducerMessage(topic: changelog, partition: 0, key: Array("\u{1F}commit".utf8), value: Array("seed:\(n)".utf8), headers: header))
            }
            _ = try await producer.send(batch: batch)
        }
        await producer.close()
        let consumer = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(e2e.cluster, group: nil), logger: TestKafka.logger("w"))
        let low = try await consumer.watermarks(KafkaTopicPartition(topic: changelog, partition: 0)).low
        try await consumer.close()
        return low
    }

    @Test(
        "a truncated changelog stops the worker with an error naming the processor, the task and the gap (exit non-zero); with MILLWRIGHT_ALLOW_STATE_LOSS=true it gets ready, /readyz lists the loss and millwright_state_loss_total counts it"
    )
    func truncatedChangelog() async throws {
        let e2e = try EndToEnd()
        let low = try await Self.truncate(e2e)
        #expect(low > 0, "the cluster dropped the oldest records")

        let strict = try e2e.worker("strict")
        defer { strict.kill() }
        let exited = try await e2e.eventually(timeout: .seconds(90)) { !strict.process.isRunning }
        #expect(exited, "the worker stopped:\n\(strict.output.suffix(3000))")
        strict.process.waitUntilExit()
        #expect(strict.process.terminationStatus != 0)
        let output = strict.output
        #expect(output.contains("changelog history missing"), "\(output.suffix(3000))")
        #expect(
            output.contains("worker failed:")
                && output.contains("processor release, task 0: changelog \(e2e.changelog("release")) partition 0 starts at offset \(low)"),
            "\(output.suffix(3000))")
        #expect(output.contains("MILLWRIGHT_ALLOW_STATE_LOSS=true"))

        let lenient = try e2e.worker("lenient", environment: ["MILLWRIGHT_ALLOW_STATE_LOSS": "true"])
        defer { lenient.kill() }
        #expect(try await e2e.eventually(timeout: .seconds(90)) { (try? await lenient.get("/readyz").status) == 200 }, "\(lenient.output.suffix(3000))")
        let body = try JSONParser.parse(Array(try await lenient.get("/readyz").body.utf8))
        guard case .array(let losses)? = body["stateLoss"] else {
            Issue.record("no stateLoss in /readyz: \(body)")
            return
        }
        #expect(
            losses == [
                [
                    "processor": "release", "partition": 0, "changelog": .string(e2e.changelog("release")), "neededOffset": 0,
                    "logStartOffset": .number(Double(low), isInteger: true), "missingOffsets": .number(Double(low), isInteger: true), "rebuilt": true,
                ]
            ])
        let metrics = try await lenient.get("/metrics").body
        #expect(
            metrics.contains("millwright_state_loss_total{processor=\"release\"} 1"), "\(metrics.split(separator: "\n").filter { $0.contains("state_loss") })")
        #expect(metrics.contains("millwright_state_loss_total{processor=\"confirmation\"} 0"))
        #expect(lenient.output.contains("rebuilding from what is left (allowStateLoss)"))
        lenient.terminate()
        #expect(lenient.process.terminationStatus == 0)
    }
}
