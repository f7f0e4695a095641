import Foundation
import Kafka
import Manufacturing
import Ops
import Streams
import TestSupport
import Testing

@Suite("Clearing exceptions as an operator: quarantine release and dead-letter redrive against a worker process", .serialized)
struct ExceptionToolTests {
    @Test(
        "a quarantined order still failing stays; after its BOM revision is fixed one release goes to MES, once; a redriven dead letter arrives with identical bytes, once"
    )
    func releaseAndRedrive() async throws {
        let e2e = try EndToEnd()
        let sample = SampleData()
        try await e2e.send(try sample.masterData())
        let worker = try WorkerProcess(
            bootstrap: e2e.bootstrap, group: e2e.group, stateDirectory: "\(e2e.root)/ops", name: "ops",
            environment: ["MILLWRIGHT_READ_TOKEN": "plant-read", "MILLWRIGHT_ADMIN_TOKEN": "plant-admin"])
        defer { worker.kill() }
        try await e2e.send(try sample.orders())
        let settled = try await e2e.eventually {
            let releases = try await e2e.read(["mes.P100.production-release.v1"]).count
            let held = try await e2e.read([Topics.quarantine]).count
            let letters = try await e2e.read([DeadLetter.topic]).count
            return releases >= 3 && held >= 2 && letters >= 2
        }
        #expect(settled, "the worker released, quarantined and dead-lettered the sample:\n\(worker.output.suffix(2000))")
        let connection = ["--bootstrap-servers", e2e.bootstrap, "--group", e2e.group]
        // The worker's operator API lists the same quarantine (read token), and refuses without one.
        #expect(try await worker.get("/api/v1/quarantine").status == 401)
        let viaAPI = try await worker.get("/api/v1/quarantine", token: "plant-read")
        #expect(viaAPI.status == 200 && viaAPI.body.contains("UNKNOWN_BOM_REVISION") && viaAPI.body.contains("UOM_NOT_CONVERTIBLE"), "\(viaAPI.body)")
        #expect(!worker.output.contains("plant-admin") && !worker.output.contains("plant-read"), "tokens are never logged")

        let listed = try millwright(["quarantine", "list", "--format", "json"] + connection)
        #expect(listed.status == 0, "\(listed.output)")
        let entries = try JSONParser.parse(Array(listed.output.utf8))
        guard case .array(let open) = entries else {
            Issue.record("not a JSON list: \(listed.output)")
            return
        }
        #expect(open.count == 2, "two orders are quarantined: \(listed.output)")
        let bomEntry = open.first { $0["reason"] == "UNKNOWN_BOM_REVISION" }
        guard case .string(let id)? = bomEntry?["id"] else {
            Issue.record("no UNKNOWN_BOM_REVISION entry: \(listed.output)")
            return
        }
        #expect(id.hasPrefix("\(Topics.orderApproved)/"))

        // Master data not fixed yet: re-checked, still failing, nothing re-injected.
        let early = try millwright(["quarantine", "release", "--id", id, "--execute"] + connection)
        #expect(early.status == 0, "\(early.output)")
        #expect(early.output.contains("still fails: UNKNOWN_BOM_REVISION"), "\(early.output)")
        let ordersBefore = try await e2e.read([Topics.orderApproved]).count

        // ERP fixes master data: BOM GB-200 revision C, released.
        let bomB = try String(contentsOf: EndToEnd.catalog.appendingPathComponent("examples/mdm.bom.v1/valid-01-gb-200-rev-b-released.json"), encoding: .utf8)
        let bomC = bomB.replacingOccurrences(of: "\"revision\": \"B\"", with: "\"revision\": \"C\"")
            .replacingOccurrences(of: "9fb606a0-01bb-5983-a160-fe0c35117fec", with: UUID().uuidString.lowercased())
        try await e2e.send([OutputRecord(topic: "mdm.bom.v1", key: "GB-200:C", value: Array(bomC.utf8))])

        let dry = try millwright(["quarantine", "release", "--id", id] + connection)
        #expect(dry.output.contains("would release") && dry.output.contains("dry run: nothing changed"), "\(dry.output)")
        let released = try millwright(["quarantine", "release", "--id", id, "--execute"] + connection)
        #expect(released.status == 0 && released.output.contains("\(id)  released"), "\(released.output)")
        let reinjected = try await e2e.read([Topics.orderApproved])
        #expect(reinjected.count == ordersBefore + 1, "one record re-injected into the original topic")
        #expect(
            reinjected.last { $0.headers.last(QuarantineTool.releasedFromHeader) != nil }?.headers.last(QuarantineTool.releasedFromHeader)?.stringValue == id)

        let workOrder = "WO-4500012399-10"
        let arrived = try await e2e.eventually { try await e2e.read(["mes.P100.production-release.v1"]).contains { $0.keyString == workOrder } }
        #expect(arrived, "the fixed order is released:\n\(worker.output.suffix(2000))")

        // The same entry again: nothing.
        let again = try millwright(["quarantine", "release", "--id", id, "--execute"] + connection)
        #expect(again.output.contains("no quarantine entry matches") || again.output.contains("already handled"), "\(again.output)")
        #expect(try await e2e.read([Topics.orderApproved]).count == ordersBefore + 1, "nothing re-injected a second time")
        try await Task.sleep(for: .seconds(2))
        let batches = try await e2e.committedBatches()
        let releases = e2e.committed(try await e2e.read(["mes.P100.production-release.v1"]), batches: batches)
        #expect(releases.filter { $0.keyString == workOrder }.count == 1, "exactly one release of the fixed order")

        // Dead letters: redrive one, unchanged, once.
        let letters = try millwright(["dlq", "list"] + connection)
        #expect(letters.output.hasPrefix("2 dead letters"), "\(letters.output)")
        let letter = try #require(try await e2e.read([DeadLetter.topic]).first)
        let letterID = "\(DeadLetter.topic)/\(letter.partition)/\(letter.offset)"
        let redrive = try millwright(["dlq", "redrive", "--id", letterID, "--execute"] + connection)
        #expect(redrive.status == 0 && redrive.output.contains("\(letterID)  redriven"), "\(redrive.output)")
        let redriven = try await e2e.read([Topics.orderApproved]).filter { $0.headers.last(DeadLetterTool.redrivenFromHeader)?.stringValue == letterID }
        #expect(redriven.count == 1)
        #expect(redriven.first?.value == letter.value, "the original bytes, unchanged")
        #expect(redriven.first?.key == letter.key)
        let twice = try millwright(["dlq", "redrive", "--id", letterID, "--execute"] + connection)
        #expect(twice.output.contains("already redriven"), "\(twice.output)")
        #expect(try await e2e.read([Topics.orderApproved]).filter { $0.headers.last(DeadLetterTool.redrivenFromHeader) != nil }.count == 1, "redriven once")

        let audits = try await e2e.read([Topics.audit]).compactMap { try? JSONParser.parse($0.value ?? []) }
        let actions = audits.compactMap { audit -> String? in if case .string(let action)? = audit["data"]?["action"] { action } else { nil } }
        #expect(actions.sorted() == ["DEAD_LETTER_REDRIVE", "QUARANTINE_RELEASE"], "one audit record per executed action (keys on different partitions)")
    }
}
