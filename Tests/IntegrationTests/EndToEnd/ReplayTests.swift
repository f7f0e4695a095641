import Foundation
import Kafka
import Manufacturing
import Ops
import Streams
import TestSupport
import Testing

/// `millwright <arguments>` as a child process: exit status and everything it printed.
func millwright(_ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = WorkerProcess.executable
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MILLWRIGHT_") }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

@Suite("Replay as an operator runs it: worker processes, a clean stop, offsets reset, a restart", .serialized)
struct ReplayTests {
    func committedOffsets(_ e2e: EndToEnd, group: String, topics: [String]) async throws -> [Int64] {
        let reset = OffsetReset(client: KafkaClientConfiguration(bootstrapServers: e2e.bootstrap), logger: TestKafka.logger("lag"))
        return try await reset.lag(group: group, topics: topics).map { $0.committed ?? -1 }
    }

    /// A cluster holding the sample master data and orders and a workload of 6 work orders × 20
    /// MES events (their table first).
    static func loadedCluster() async throws -> (e2e: EndToEnd, sample: SampleData, events: Int) {
        let e2e = try EndToEnd()
        let sample = SampleData()
        try await e2e.send(try sample.masterData())
        try await e2e.send(try sample.orders())
        let work = EndToEndTests.workload(workOrders: 6, eventsPerWorkOrder: 20)
        try await e2e.send(work.table)
        try await e2e.send(work.events)
        return (e2e, sample, work.events.count)
    }

    /// Committed postings to ERP, and those held back as OVER_CONFIRMATION.
    func postings(_ e2e: EndToEnd) async throws -> [ProductionConfirmation] {
        let batches = try await e2e.committedBatches()
        var postings: [ProductionConfirmation] = []
        for m in e2e.committed(try await e2e.read([Topics.productionConfirmation, Topics.quarantine]), batches: batches) {
            if m.topic == Topics.productionConfirmation {
                postings.append(try EventDecoder.decode(m.value, as: ProductionConfirmation.self).get().data)
                continue
            }
            let held = try EventDecoder.decode(m.value, as: Quarantine.self).get().data
            guard held.reason == .overConfirmation, case .object(let original) = held.original else { continue }
            postings.append(try EventDecoder.decode(JSONWriter.bytes(.object(original)), as: ProductionConfirmation.self).get().data)
        }
        return postings
    }

    func lag(_ e2e: EndToEnd, group: String, topics: [String]) async throws -> Int64 {
        let reset = OffsetReset(client: KafkaClientConfiguration(bootstrapServers: e2e.bootstrap), logger: TestKafka.logger("lag"))
        return try await reset.lag(group: group, topics: topics).reduce(0) { $0 + $1.lag }
    }

    @Test("run, stop with SIGTERM, reset both processors to earliest, start again: input read again, no release or postingId twice, the reset audited")
    func replayAfterCleanStop() async throws {
        let (e2e, sample, events) = try await Self.loadedCluster()
        let first = try e2e.worker("first")
        defer { first.kill() }
        let releaseTopics = OffsetReset.inputs["release"]!
        let confirmationTopics = OffsetReset.inputs["confirmation"]!
        let caughtUp = try await e2e.eventually(timeout: .seconds(90)) {
            let release = try await lag(e2e, group: "\(e2e.group).release", topics: releaseTopics)
            let confirmation = try await lag(e2e, group: "\(e2e.group).confirmation", topics: confirmationTopics)
            return release == 0 && confirmation == 0
        }
        #expect(caughtUp, "the first run committed all input:\n\(first.output.suffix(3000))")
        // Open windows close on the idle advance (3 s of quiet here): every event posted.
        var before: [ProductionConfirmation] = []
        let posted = try await e2e.eventually(timeout: .seconds(60)) {
            before = try await postings(e2e)
            return before.reduce(0) { $0 + $1.eventCount } == events
        }
        #expect(posted, "every event posted before the stop: \(before.reduce(0) { $0 + $1.eventCount }) of \(events)")
        first.terminate()
        #expect(first.process.terminationStatus == 0)

        // The operator's reset, right after the clean stop.
        for processor in ["release", "confirmation"] {
            let dry = try millwright(["offsets", "reset", "--bootstrap-servers", e2e.bootstrap, "--group", e2e.group, "--processor", processor, "--to", "-2h"])
            #expect(dry.status == 0, "a duration back with a leading dash parses: \(dry.output)")
            #expect(dry.output.contains("dry run: nothing changed"))
            let reset = try millwright([
                "offsets", "reset", "--bootstrap-servers", e2e.bootstrap, "--group", e2e.group, "--processor", processor, "--to", "earliest", "--execute",
            ])
            #expect(reset.status == 0, "the reset of a cleanly stopped group is applied:\n\(reset.output)")
            #expect(reset.output.contains("audit record"))
        }
        #expect(
            try await committedOffsets(e2e, group: "\(e2e.group).release", topics: releaseTopics).allSatisfy { $0 == 0 }, "release offsets back at the start")
        #expect(try await committedOffsets(e2e, group: "\(e2e.group).confirmation", topics: confirmationTopics).allSatisfy { $0 == 0 })
        #expect(try await lag(e2e, group: "\(e2e.group).release", topics: releaseTopics) == Int64(try sample.orders().count))

        let audits = try await e2e.read([Topics.audit])
        #expect(audits.count == 2, "one audit record per executed reset")
        for audit in audits {
            let envelope = try JSONParser.parse(audit.value ?? [])
            #expect(envelope["schema"] == "ops.audit")
            #expect(envelope["data"]?["action"] == "OFFSET_RESET")
            #expect(envelope["data"]?["target"] == "earliest")
            if case .string(let user)? = envelope["data"]?["user"] { #expect(!user.isEmpty) } else { Issue.record("no user in \(envelope)") }
            if case .array(let plan)? = envelope["data"]?["plan"] { #expect(!plan.isEmpty) } else { Issue.record("no plan in \(envelope)") }
        }

        // Start again on the same state: the input is read again, to the end.
        let second = try WorkerProcess(bootstrap: e2e.bootstrap, group: e2e.group, stateDirectory: "\(e2e.root)/first", name: "second")
        defer { second.kill() }
        let replayed = try await e2e.eventually(timeout: .seconds(90)) {
            let release = try await lag(e2e, group: "\(e2e.group).release", topics: releaseTopics)
            let confirmation = try await lag(e2e, group: "\(e2e.group).confirmation", topics: confirmationTopics)
            return release == 0 && confirmation == 0
        }
        #expect(replayed, "the replay caught up:\n\(second.output.suffix(3000))")
        let processed = second.output.contains("task restored")
        #expect(processed)
        let batches = try await e2e.committedBatches()
        let releases = e2e.committed(try await e2e.read(["mes.P100.production-release.v1"]), batches: batches)
        #expect(releases.count == 3 && Set(releases.compactMap(\.keyString)).count == 3, "no work order released twice: \(releases.compactMap(\.keyString))")
        var after: [ProductionConfirmation] = []
        _ = try await e2e.eventually(timeout: .seconds(20)) {
            after = try await postings(e2e)
            return after.reduce(0) { $0 + $1.eventCount } >= events
        }
        let ids = after.map(\.postingId)
        #expect(Set(ids).count == ids.count, "no postingId twice to ERP after the replay")
        #expect(after.reduce(0) { $0 + $1.eventCount } == events, "every event still in exactly one posting")
        second.terminate()
        #expect(second.process.terminationStatus == 0)
    }

    @Test("a reset while a worker runs is refused and changes nothing")
    func refusedWhileLive() async throws {
        let e2e = try EndToEnd()
        try await e2e.send(try SampleData().masterData())
        let worker = try e2e.worker("live")
        defer { worker.kill() }
        let ready = try await e2e.eventually(timeout: .seconds(60)) {
            guard worker.httpPort != nil else { return false }
            return try await worker.get("/readyz").status == 200
        }
        #expect(ready, "the worker is up:\n\(worker.output.suffix(2000))")
        let before = try await committedOffsets(e2e, group: "\(e2e.group).release", topics: OffsetReset.inputs["release"]!)
        let reset = try millwright([
            "offsets", "reset", "--bootstrap-servers", e2e.bootstrap, "--group", e2e.group, "--processor", "release", "--to=-1h", "--execute",
        ])
        #expect(reset.status != 0, "\(reset.output)")
        #expect(reset.output.contains("has live members"), "\(reset.output)")
        #expect(try await committedOffsets(e2e, group: "\(e2e.group).release", topics: OffsetReset.inputs["release"]!) == before)
        #expect(try await e2e.read([Topics.audit]).isEmpty, "nothing audited")
    }
}
