import Foundation
import Kafka
import Manufacturing
import Ops
import Streams
import TestSupport
import Testing

@Suite("A worker's probes, metrics and shutdown, as a child process on the in-process cluster", .serialized)
struct ObservabilityTests {
    /// `/metrics` parsed by Prometheus' reference parser (Python prometheus_client): sample → value.
    func scrape(_ worker: WorkerProcess) async throws -> [String: Double] {
        let (status, text) = try await worker.get("/metrics")
        #expect(status == 200)
        let parser = Process()
        parser.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("parse_metrics.py").path
        parser.arguments = ["python3", script]
        let input = Pipe()
        let output = Pipe()
        parser.standardInput = input
        parser.standardOutput = output
        try parser.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        parser.waitUntilExit()
        #expect(parser.terminationStatus == 0, "the reference parser read the exposition:\n\(text.prefix(2000))")
        return (try JSONSerialization.jsonObject(with: data) as? [String: Double]) ?? [:]
    }

    /// Sums the samples of `name` by the value of `label`.
    func sum(_ samples: [String: Double], _ name: String, by label: String) -> [String: Int] {
        var sums: [String: Int] = [:]
        for (key, value) in samples where key.hasPrefix(name + "{") {
            let labels = key.dropFirst(name.count + 1).dropLast().split(separator: ",")
            guard let match = labels.first(where: { $0.hasPrefix(label + "=") }) else { continue }
            sums[String(match.dropFirst(label.count + 1)), default: 0] += Int(value)
        }
        return sums
    }

    @Test("/readyz is 503 until the worker joined and restored, then 200; /metrics counts what was fed; SIGTERM exits 0")
    func probesMetricsAndShutdown() async throws {
        let e2e = try EndToEnd()
        let sample = SampleData()
        try await e2e.send(try sample.masterData())
        // The group coordinator answers every JoinGroup with COORDINATOR_LOAD_IN_PROGRESS (which
        // the client retries) until the errors are cleared below: the worker cannot have joined
        // when it is first asked, however long the test takes to ask.
        e2e.cluster.injectRequestErrors(.joinGroup, Array(repeating: .librdkafka(14), count: 10_000))
        let worker = try e2e.worker("observed")
        defer { worker.kill() }
        #expect(try await e2e.eventually(timeout: .seconds(30)) { worker.httpPort != nil }, "the worker logged its port:\n\(worker.output.suffix(2000))")

        let early = try await worker.get("/readyz")
        #expect(early.status == 503, "not ready before the group is joined: \(early.body)")
        #expect(early.body.contains("\"pending\""), "readiness says what it waits for: \(early.body)")
        #expect(try await worker.get("/healthz").status == 200, "live while starting")
        // Master data loaded, the processors start and wait for their groups: still not ready.
        let joining = try await e2e.eventually(timeout: .seconds(60)) {
            let readiness = try await worker.get("/readyz")
            return readiness.status == 503 && readiness.body.contains("joining the consumer group")
        }
        #expect(joining, "503 naming the group join while it cannot complete:\n\(worker.output.suffix(2000))")
        e2e.cluster.clearRequestErrors(.joinGroup)
        #expect(try await e2e.eventually(timeout: .seconds(60)) { try await worker.get("/readyz").status == 200 }, "ready:\n\(worker.output.suffix(3000))")

        try await e2e.send(try sample.orders())
        let expectedReleases = 3
        let fed = try await e2e.eventually {
            let releases = try await e2e.read(["mes.P100.production-release.v1"]).count
            let letters = try await e2e.read([DeadLetter.topic]).count
            let held = try await e2e.read([Topics.quarantine]).count
            return releases >= expectedReleases && letters >= 2 && held >= 2
        }
        #expect(fed, "outputs arrived; worker log:\n\(worker.output.suffix(3000))")
        // Shop-floor events for the released work orders (as `millwright dev` feeds them): postings.
        let shopFloor = sample.shopFloor(now: Int64(Date().timeIntervalSince1970 * 1000))
        try await e2e.send(shopFloor.main)
        try await Task.sleep(for: .seconds(2))
        try await e2e.send(shopFloor.closing)
        // Which kinds depends on timing (events older than the stream time the idle advance set
        // are late: ADJUSTMENT); the metrics must count whatever the topic holds, by kind.
        let arrived = try await e2e.eventually(timeout: .seconds(90)) { try await e2e.read([Topics.productionConfirmation]).count >= 3 }
        #expect(arrived, "postings arrived:\n\(worker.output.suffix(2000))")

        // What the topics hold (committed transactions only), by reason…
        let batches = try await e2e.committedBatches()
        let letters = e2e.committed(try await e2e.read([DeadLetter.topic]), batches: batches)
        var lettersByReason: [String: Int] = [:]
        for letter in letters { lettersByReason[letter.headers.last("dlq-reason")?.stringValue ?? "?", default: 0] += 1 }
        var heldByReason: [String: Int] = [:]
        let releases = e2e.committed(try await e2e.read(["mes.P100.production-release.v1"]), batches: batches).count
        var postingsByKind: [String: Int] = [:]
        for posting in e2e.committed(try await e2e.read([Topics.productionConfirmation]), batches: batches) {
            postingsByKind[try EventDecoder.decode(posting.value, as: ProductionConfirmation.self).get().data.kind.rawValue, default: 0] += 1
        }

        // … equals what /metrics counts (counted right after each commit: polled until it does).
        var samples: [String: Double] = [:]
        let counted = try await e2e.eventually(timeout: .seconds(20)) {
            // Outputs may still come (windows closing): the topics are read again each round.
            let batches = try await e2e.committedBatches()
            postingsByKind = [:]
            for posting in e2e.committed(try await e2e.read([Topics.productionConfirmation]), batches: batches) {
                postingsByKind[try EventDecoder.decode(posting.value, as: ProductionConfirmation.self).get().data.kind.rawValue, default: 0] += 1
            }
            heldByReason = [:]
            for held in e2e.committed(try await e2e.read([Topics.quarantine]), batches: batches) {
                heldByReason[try EventDecoder.decode(held.value, as: Quarantine.self).get().data.reason.rawValue, default: 0] += 1
            }
            samples = try await scrape(worker)
            return sum(samples, "millwright_dead_letters_total", by: "reason") == lettersByReason
                && sum(samples, "millwright_quarantined_total", by: "reason") == heldByReason
                && sum(samples, "millwright_releases_total", by: "plant") == ["P100": releases]
                && sum(samples, "millwright_postings_total", by: "kind") == postingsByKind
        }
        #expect(
            counted,
            """
            metrics equal the topics: dead letters \(sum(samples, "millwright_dead_letters_total", by: "reason")) vs \(lettersByReason), \
            quarantines \(sum(samples, "millwright_quarantined_total", by: "reason")) vs \(heldByReason), \
            releases \(sum(samples, "millwright_releases_total", by: "plant")) vs \(releases), \
            postings \(sum(samples, "millwright_postings_total", by: "kind")) vs \(postingsByKind)
            """)
        #expect(postingsByKind.values.reduce(0, +) >= 3, "postings were fed: \(postingsByKind)")
        #expect((samples["millwright_confirmation_lag_seconds_count{}"] ?? 0) == Double(postingsByKind.values.reduce(0, +)), "one lag observation per posting")
        #expect(!lettersByReason.isEmpty && !heldByReason.isEmpty && releases == expectedReleases)
        let inputs = sum(samples, "millwright_input_records_total", by: "topic")[Topics.orderApproved] ?? 0
        #expect(inputs == (try sample.orders()).count, "every fed order counted once as input")
        #expect((samples["millwright_transactions_total{outcome=committed,processor=release}"] ?? 0) >= 1)
        #expect((samples["millwright_ready{}"] ?? 0) == 1)
        #expect((samples["process_resident_memory_bytes{}"] ?? 0) > 0)

        let stopping = ContinuousClock.now
        worker.terminate()
        #expect(worker.process.terminationStatus == 0, "SIGTERM: drained and exited 0\n\(worker.output.suffix(2000))")
        #expect(ContinuousClock.now - stopping < .seconds(30), "within the default shutdown timeout")
        #expect(worker.output.contains("stopped"))
    }

    @Test("/readyz names a long changelog restore with its progress (503), then answers 200")
    func readinessDuringRestore() async throws {
        let e2e = try EndToEnd()
        // A changelog of 4 × 60,000 committed entries for the release tasks 0…3 (about 3 MB per
        // partition, under the in-process cluster's retention): each task restores its partition.
        let batch = StreamRecord.Header(key: "mw-batch", value: "seed:1")
        var records: [(record: OutputRecord, partition: Int32)] = []
        for partition in Int32(0)..<4 {
            for n in 0..<60_000 {
                records.append(
                    (
                        OutputRecord(
                            topic: e2e.changelog("release"), key: Array("\(ReleaseProcessor.storeName)\u{1F}seed-\(partition)-\(n)".utf8),
                            value: Array("x".utf8), headers: [batch]), partition
                    ))
            }
            records.append(
                (
                    OutputRecord(topic: e2e.changelog("release"), key: Array("\u{1F}commit".utf8), value: Array("seed:1".utf8), headers: [batch]),
                    partition
                ))
        }
        try await e2e.sendPartitioned(records)
        let worker = try e2e.worker("restoring")
        defer { worker.kill() }
        #expect(try await e2e.eventually(timeout: .seconds(30)) { worker.httpPort != nil })
        var sawRestoring = false
        var sawProgress = false
        var ready = false
        let deadline = ContinuousClock.now.advanced(by: .seconds(120))
        while ContinuousClock.now < deadline {
            let (status, body) = try await worker.get("/readyz")
            if status == 200 {
                ready = true
                break
            }
            #expect(status == 503)
            if body.contains("restoring tasks") {
                sawRestoring = true
                if body.contains("\"toRestore\":60001") { sawProgress = true }
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(sawRestoring, "/readyz said a task was restoring:\n\(worker.output.suffix(2000))")
        #expect(sawProgress, "with its records to restore (60,000 entries and the marker)")
        #expect(ready, "ready once restored")
        #expect(worker.output.contains("changelogRecords=60001"), "each task read its whole changelog")
    }

    @Test("a port already in use is a start-up error naming it, and the worker exits non-zero")
    func portInUse() async throws {
        let e2e = try EndToEnd()
        let first = try e2e.worker("first")
        defer { first.kill() }
        #expect(try await e2e.eventually(timeout: .seconds(30)) { first.httpPort != nil })
        let port = try #require(first.httpPort)
        let second = try WorkerProcess(
            bootstrap: e2e.bootstrap, group: e2e.group, stateDirectory: "\(e2e.root)/second", name: "second",
            extraArguments: ["--http-port", String(port)])
        defer { second.kill() }
        second.process.waitUntilExit()
        #expect(second.process.terminationStatus != 0)
        #expect(second.output.contains("http.port \(port) on 0.0.0.0 is already in use"), "\(second.output.suffix(2000))")
    }

    @Test("a SASL password from the configuration never appears in the output at trace level, nor in the failed connection's errors")
    func passwordNeverLogged() async throws {
        let e2e = try EndToEnd()
        let password = "Pw-\(UUID().uuidString.prefix(12))"
        // The in-process cluster speaks no SASL: the client's handshake fails and librdkafka reports it.
        let worker = try WorkerProcess(
            bootstrap: e2e.bootstrap, group: e2e.group, stateDirectory: "\(e2e.root)/sasl", name: "sasl",
            extraArguments: ["--log-level", "trace", "--shutdown-timeout", "3s"],
            environment: [
                "MILLWRIGHT_KAFKA_SECURITY_PROTOCOL": "sasl_plaintext", "MILLWRIGHT_KAFKA_SASL_MECHANISM": "PLAIN",
                "MILLWRIGHT_KAFKA_SASL_USERNAME": "plant", "MILLWRIGHT_SASL_PASSWORD": password,
                "MILLWRIGHT_KAFKA_DEBUG": "security,broker,conf",
            ])
        defer { worker.kill() }
        try await Task.sleep(for: .seconds(6))
        worker.terminate()
        let output = worker.output
        #expect(output.contains("trace") || output.contains("debug"), "it logged at trace level:\n\(output.suffix(1500))")
        #expect(output.lowercased().contains("sasl"), "librdkafka reported the SASL connection:\n\(output.suffix(1500))")
        #expect(!output.contains(password), "the password was logged")
    }
}
