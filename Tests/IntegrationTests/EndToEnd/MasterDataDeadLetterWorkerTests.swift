import Foundation
import Kafka
import Manufacturing
import Ops
import Streams
import TestSupport
import Testing

@Suite("Bad master data through a worker process", .serialized)
struct MasterDataDeadLetterWorkerTests {
    @Test(
        "a bad item record is dead-lettered by the worker, once, counted in millwright_dead_letters_total by reason and topic with none pending; the last good version still releases orders; a restarted worker does not dead-letter it again"
    )
    func badItemThroughAWorker() async throws {
        let e2e = try EndToEnd()
        let sample = SampleData()
        try await e2e.send(try sample.masterData())
        // ERP sends GB-200 again with a BOX conversion of 0: the version before must stay.
        let good = String(decoding: try Examples.bytes(MasterDataTopic.item, "valid-01-gb-200-gearbox.json"), as: UTF8.self)
        let bad = Array(good.replacingOccurrences(of: "\"BOX\": 4", with: "\"BOX\": 0").utf8)
        #expect(bad != Array(good.utf8))
        try await e2e.send([OutputRecord(topic: MasterDataTopic.item, key: "GB-200", value: bad, headers: [.init(key: "traceparent", value: "00-mdm")])])
        let worker = try e2e.worker("a")
        defer { worker.kill() }
        try await e2e.send(try sample.orders())
        func masterDataLetters() async throws -> [KafkaConsumerMessage] {
            try await e2e.read([DeadLetter.topic]).filter { $0.headers.last(DeadLetter.HeaderName.originalTopic)?.stringValue == MasterDataTopic.item }
        }
        let done = try await e2e.eventually {
            let releases = try await e2e.read(["mes.P100.production-release.v1"]).count
            let letters = try await masterDataLetters().count
            return releases >= 3 && letters >= 1
        }
        #expect(done, "releases and the dead letter arrived; worker log:\n\(worker.output.suffix(3000))")
        let letters = try await masterDataLetters()
        #expect(letters.count == 1)
        #expect(letters.first?.value == bad && letters.first?.keyString == "GB-200", "the record's bytes and key, unchanged")
        #expect(letters.first?.headers.last(DeadLetter.HeaderName.reason)?.stringValue == "INVALID_FIELD")
        #expect(letters.first?.headers.last(DeadLetter.HeaderName.error)?.stringValue == "data.uomConversions.BOX: must be > 0, found 0")
        #expect(letters.first?.headers.last("traceparent")?.stringValue == "00-mdm")
        let boxOrder = try await e2e.read(["mes.P100.production-release.v1"]).compactMap {
            try? EventDecoder.decode($0.value, as: ProductionRelease.self).get().data
        }
        .first { $0.orderId == "4500012346" }
        #expect(boxOrder?.quantity == 20, "5 BOX released as 20 EA: the last good version of GB-200 (BOX 4) answered")

        let counted = try await e2e.eventually(timeout: .seconds(30)) {
            let metrics = try await worker.get("/metrics").body
            return metrics.contains("millwright_dead_letters_total{reason=\"INVALID_FIELD\",topic=\"mdm.item.v1\"} 1")
                && metrics.contains("millwright_master_data_dead_letters_pending 0") && metrics.contains("millwright_master_data_rejected_records 1")
        }
        let series = try await worker.get("/metrics").body.split(separator: "\n").filter { $0.contains("master_data") || $0.contains("dead_letters") }
        #expect(counted, "the dead letter is counted and nothing is pending:\n\(series.joined(separator: "\n"))")
        worker.terminate()
        #expect(worker.process.terminationStatus == 0)

        let again = try e2e.worker("a")
        defer { again.kill() }
        #expect(try await e2e.eventually { (try? await again.get("/readyz").status) == 200 }, "restarted:\n\(again.output.suffix(2000))")
        try await Task.sleep(for: .seconds(2))
        #expect(try await masterDataLetters().count == 1, "the restarted worker does not dead-letter it again")
        again.terminate()
    }
}
