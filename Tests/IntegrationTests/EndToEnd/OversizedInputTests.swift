import Foundation
import Kafka
import Manufacturing
import Ops
import Streams
import TestSupport
import Testing

@Suite("Input larger than a dead letter may be, through a worker process", .serialized)
struct OversizedInputTests {
    @Test(
        "a 1.5 MB poison MES event is dead-lettered as a truncated copy with dlq-truncated naming its size; the worker keeps running and dead-letters the next poison record"
    )
    func oversizedPoisonIsTruncated() async throws {
        let e2e = try EndToEnd()
        try await e2e.send(try SampleData().masterData())
        let worker = try e2e.worker("a")
        defer { worker.kill() }

        // A gateway that wrapped a huge blob and cut it off: MALFORMED_JSON, 1.5 MB. The test's own
        // producer may send it only with message.max.bytes raised (librdkafka's default is 1,000,000).
        let size = 1_500_000
        let head = Array(#"{"schema":"mes.operation-completed","schemaVersion":1,"data":{"note":""#.utf8)
        let huge = head + Array(repeating: UInt8(ascii: "x"), count: size - head.count)
        var configuration = TestKafka.producerConfiguration(e2e.cluster)
        configuration.client.additionalProperties["message.max.bytes"] = "2000000"
        let producer = try KafkaProducer(configuration: configuration, logger: TestKafka.logger("big"))
        let sent = try await producer.sendAndAwait(
            KafkaProducerMessage(
                topic: Topics.operationCompleted, partition: 0, key: Array("WO-HUGE-1".utf8), value: huge,
                headers: [KafkaHeader(key: "traceparent", value: "00-huge")]))
        // Then a small poison record on the same partition: the worker must get past the big one.
        let small = Array(#"{"schema":"mes.operation-completed""#.utf8)
        _ = try await producer.sendAndAwait(KafkaProducerMessage(topic: Topics.operationCompleted, partition: 0, key: Array("WO-SMALL-1".utf8), value: small))
        await producer.close()

        var letters: [KafkaConsumerMessage] = []
        let arrived = try await e2e.eventually(timeout: .seconds(90)) {
            letters = try await e2e.read([DeadLetter.topic]).filter {
                $0.headers.last(DeadLetter.HeaderName.originalTopic)?.stringValue == Topics.operationCompleted
            }
            return letters.count >= 2 || !worker.process.isRunning
        }
        #expect(arrived, "both dead letters arrived; worker log:\n\(worker.output.suffix(3000))")
        #expect(worker.process.isRunning, "the worker did not stop; log:\n\(worker.output.suffix(3000))")
        let big = try #require(letters.first { $0.keyString == "WO-HUGE-1" }, "the big record's dead letter")
        let value = big.value ?? []
        #expect(big.headers.last(DeadLetter.HeaderName.truncated)?.stringValue == String(size), "dlq-truncated: the original value's size")
        #expect(value.count < size && value == Array(huge.prefix(value.count)), "the value is the original's first bytes, cut")
        let sizeSent = DeadLetter.wireSize(key: big.key, value: big.value, headers: big.headers.map { StreamRecord.Header(key: $0.key, value: $0.value) })
        #expect(sizeSent <= DeadLetter.messageMaxBytes && value.count > 990_000, "as large as a producer sends, with the runtime's mw-batch header")
        #expect(big.headers.last(DeadLetter.HeaderName.reason)?.stringValue == "MALFORMED_JSON")
        #expect(big.headers.last(DeadLetter.HeaderName.originalOffset)?.stringValue == String(sent.offset))
        #expect(big.headers.last("traceparent")?.stringValue == "00-huge", "the original headers are kept")
        let next = letters.first { $0.keyString == "WO-SMALL-1" }
        #expect(next?.value == small, "the next poison record is dead-lettered whole, without dlq-truncated")
        #expect(next?.headers.last(DeadLetter.HeaderName.truncated) == nil)
        #expect(try await worker.get("/healthz").status == 200)

        // An operator sees it is a truncated copy, and it is never redriven as if it were the input.
        let connection = ["--bootstrap-servers", e2e.bootstrap, "--group", e2e.group]
        let id = "\(DeadLetter.topic)/\(big.partition)/\(big.offset)"
        let listed = try millwright(["dlq", "list", "--topic", Topics.operationCompleted] + connection)
        #expect(listed.output.contains("\(id)  MALFORMED_JSON") && listed.output.contains("truncated (first bytes of 1500000)"), "\(listed.output)")
        let redrive = try millwright(["dlq", "redrive", "--id", id, "--execute"] + connection)
        #expect(redrive.status == 0 && redrive.output.contains("\(id)  truncated copy (dlq-truncated): not redriven"), "\(redrive.output)")
        let redriven = try await e2e.read([Topics.operationCompleted]).filter { $0.headers.last(DeadLetterTool.redrivenFromHeader) != nil }
        #expect(redriven.isEmpty, "nothing sent back to the input topic")
        worker.terminate()
        #expect(worker.process.terminationStatus == 0)
    }
}
