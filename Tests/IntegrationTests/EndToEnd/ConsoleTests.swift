import Foundation
import Kafka
import Manufacturing
import Ops
import Streams
import TestSupport
import Testing

/// Runs `console_browser.py` (headless Chromium over the DevTools protocol): what the page showed,
/// and what its actions answered.
func browseConsole(url: String, plant: String, token: String, screenshot: String, extra: [String] = []) throws -> JSONValue {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("console_browser.py").path
    // A bound on the whole browser run: a browser that hangs fails the test instead of stalling CI.
    process.arguments =
        ["timeout", "--kill-after=10", "300", "python3", script, "--url", url, "--plant", plant, "--token", token, "--screenshot", screenshot] + extra
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    let failure = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0, let page = try? JSONParser.parse(Array(data)) else {
        throw WorkerProcessError("the browser run failed (\(process.terminationStatus)): \(String(decoding: failure, as: UTF8.self).suffix(3000))")
    }
    return page
}

extension JSONValue {
    var int: Int? { if case .number(let n, _) = self { Int(n) } else { nil } }
    var double: Double? { if case .number(let n, _) = self { n } else { nil } }
    var text: String? { if case .string(let s) = self { s } else { nil } }
    var list: [JSONValue] { if case .array(let a) = self { a } else { [] } }
}

@Suite("The console in a real headless browser, against a worker that processed the sample, and `millwright console`", .serialized)
struct ConsoleTests {
    /// Where screenshots go for people to look at: `.build/console/`.
    static let screenshots = Repository.root.appendingPathComponent(".build/console")

    @Test(
        "the page shows the run's numbers (quarantines by reason and age, dead letters, lag, postings, lag p50/p95, on-time share, at-risk orders); a redrive clicked in it takes effect; a replay from it is refused while the worker runs and executed from `millwright console` once it is stopped"
    )
    func consoleShowsTheRunAndActs() async throws {
        let e2e = try EndToEnd()
        let sample = SampleData()
        try await e2e.send(try sample.masterData())
        let tokens = ["MILLWRIGHT_READ_TOKEN": "plant-read", "MILLWRIGHT_ADMIN_TOKEN": "plant-admin"]
        let worker = try WorkerProcess(bootstrap: e2e.bootstrap, group: e2e.group, stateDirectory: "\(e2e.root)/console", name: "worker", environment: tokens)
        defer { worker.kill() }
        try await e2e.send(try sample.orders())
        #expect(try await e2e.eventually { try await e2e.read(["mes.P100.production-release.v1"]).count >= 3 }, "released:\n\(worker.output.suffix(2000))")
        let shopFloor = sample.shopFloor(now: Int64(Date().timeIntervalSince1970 * 1000))
        try await e2e.send(shopFloor.main)
        try await Task.sleep(for: .seconds(2))
        try await e2e.send(shopFloor.closing)
        // Settled: the adjustment of the late scrap (the at-risk order) is out; two orders and the
        // over-delivery are quarantined (the event of an unknown work order stays parked: 10 min).
        let settled = try await e2e.eventually(timeout: .seconds(90)) {
            let status = try await e2e.read([Topics.erpOrderStatus]).compactMap { try? JSONParser.parse($0.value ?? []) }
            let atRisk = status.contains { $0["data"]?["atRisk"] == .bool(true) }
            let held = try await e2e.read([Topics.quarantine]).count
            let letters = try await e2e.read([DeadLetter.topic]).count
            return atRisk && held >= 3 && letters >= 3
        }
        #expect(settled, "the sample's outputs are out:\n\(worker.output.suffix(3000))")
        try await Task.sleep(for: .seconds(3))  // the last transaction commits, the console's reader reads it

        // What the run produced, read from the topics (committed transactions only).
        let batches = try await e2e.committedBatches()
        let postings = e2e.committed(try await e2e.read([Topics.productionConfirmation]), batches: batches)
        var lags: [Int64] = []
        for posting in postings {
            let json = try JSONParser.parse(posting.value ?? [])
            guard json["data"]?["plant"] == "P100", let start = json["data"]?["windowStart"]?.text else { continue }
            lags.append(max(0, posting.timestamp!.milliseconds - (try Timestamp(rfc3339: start)).milliseconds))
        }
        lags.sort()
        let releases = e2e.committed(try await e2e.read(["mes.P100.production-release.v1"]), batches: batches)
        let letters = e2e.committed(try await e2e.read([DeadLetter.topic]), batches: batches)
        var heldByReason: [String: Set<String>] = [:]
        for record in e2e.committed(try await e2e.read([Topics.quarantine]), batches: batches) {
            let data = try JSONParser.parse(record.value ?? [])["data"]
            guard let reason = data?["reason"]?.text else { continue }
            let id =
                data?["original"]?["data"]?["postingId"]?.text
                ?? "\(data?["originalTopic"]?.text ?? "")/\(data?["originalPartition"]?.int ?? -1)/\(data?["originalOffset"]?.int ?? -1)"
            heldByReason[reason, default: []].insert(id)
        }
        var latestStatus: [String: JSONValue] = [:]
        for record in e2e.committed(try await e2e.read([Topics.erpOrderStatus]), batches: batches).sorted(by: {
            ($0.partition, $0.offset) < ($1.partition, $1.offset)
        }) {
            if let data = try JSONParser.parse(record.value ?? [])["data"], let order = data["orderId"]?.text { latestStatus[order] = data }
        }
        let atRisk = latestStatus.filter { $0.value["atRisk"] == .bool(true) && $0.value["plant"] == "P100" }
        let client = KafkaClientConfiguration(bootstrapServers: e2e.bootstrap)
        let reset = OffsetReset(client: client, logger: TestKafka.logger("lag"))
        let lag = try await reset.lag(group: "\(e2e.group).confirmation", topics: OffsetReset.inputs["confirmation"]!).reduce(0) { $0 + $1.lag }
        let releaseLag = try await reset.lag(group: "\(e2e.group).release", topics: OffsetReset.inputs["release"]!).reduce(0) { $0 + $1.lag }

        try FileManager.default.createDirectory(at: Self.screenshots, withIntermediateDirectories: true)
        let letter = try #require(letters.first)
        let letterID = "\(DeadLetter.topic)/\(letter.partition)/\(letter.offset)"
        let url = "http://127.0.0.1:\(try #require(worker.httpPort))"
        let run = try browseConsole(
            url: url, plant: "P100", token: "plant-admin", screenshot: Self.screenshots.appendingPathComponent("plant-P100.png").path,
            extra: ["--redrive", letterID, "--replay-processor", "release", "--replay-to", "earliest"])
        let page = try #require(run["before"])
        let metrics = try #require(page["metrics"])
        #expect(page["title"] == "Plant P100" && page["error"] == .null, "\(page)")
        #expect(run["address"]?.text?.contains("token") == false, "the token is taken out of the address")
        #expect(page["externalResources"]?.list.isEmpty == true, "no external assets: \(page)")
        #expect(page["svgCount"]?.int == 1, "the throughput chart is inline SVG")

        #expect(metrics["postings-last-hour"]?.int == lags.count, "postings: page \(metrics), topic \(lags.count)")
        #expect(page["postingBars"]?.list.compactMap(\.int).reduce(0, +) == lags.count, "the chart's bars add up to the postings")
        #expect(page["postingBars"]?.list.count == 60, "one bar a minute over the hour")
        #expect(metrics["releases-last-hour"]?.int == releases.count && releases.count == 3)
        #expect(page["releaseBars"]?.list.compactMap(\.int).reduce(0, +) == releases.count)
        let p50 = try #require(ConsoleFeedState.percentile(lags, 0.5))
        let p95 = try #require(ConsoleFeedState.percentile(lags, 0.95))
        #expect(metrics["lag-p50"]?.double.map { Int64(($0 * 1000).rounded()) } == p50, "p50: page \(metrics), topic \(p50) ms")
        #expect(metrics["lag-p95"]?.double.map { Int64(($0 * 1000).rounded()) } == p95, "p95: page \(metrics), topic \(p95) ms")
        let onTime = Double(lags.filter { $0 <= 30 * 60_000 }.count) / Double(lags.count)
        #expect(metrics["on-time-share"]?.double == onTime, "share within 30 min: page \(metrics), topic \(onTime)")
        #expect(metrics["dead-letters-open"]?.int == letters.count)
        #expect(Set(page["deadLetters"]?.list.compactMap(\.text) ?? []).count == letters.count)
        let openHeld = heldByReason.values.reduce(0) { $0 + $1.count }
        #expect(metrics["quarantine-open"]?.int == openHeld, "quarantines: page \(metrics), topic \(heldByReason)")
        for (reason, ids) in heldByReason {
            // The run took minutes: every entry is in the first age bucket.
            #expect(page["reasons"]?[reason]?.list.compactMap(\.int) == [ids.count, 0, 0, 0], "\(reason): \(page["reasons"] ?? .null)")
        }
        #expect(metrics["lag-total"]?.int == Int(lag + releaseLag), "lag: page \(metrics), group \(lag) + \(releaseLag)")
        #expect(page["lag"]?["confirmation"]?.int == Int(lag) && page["lag"]?["release"]?.int == Int(releaseLag))
        #expect(metrics["at-risk-count"]?.int == atRisk.count && atRisk.count == 1, "at risk: page \(metrics), topic \(atRisk.keys)")
        #expect(page["atRisk"]?.list.first?["order"]?.text == atRisk.keys.first)
        #expect(page["atRisk"]?.list.first?["reasons"]?.list == [.string("SCRAP_OVER_TOLERANCE")])

        // The redrive clicked in the page: the letter's bytes are back on their topic, once, and
        // the entry is gone from the page.
        #expect(run["action"]?.text?.contains("redriven: \(letterID)") == true, "\(run["action"] ?? .null)")
        let redriven = try await e2e.read([letter.headers.last(DeadLetter.HeaderName.originalTopic)?.stringValue ?? ""])
            .filter { $0.headers.last(DeadLetterTool.redrivenFromHeader)?.stringValue == letterID }
        #expect(redriven.count == 1 && redriven.first?.value == letter.value, "redriven once, identical bytes")
        #expect(run["after"]?["deadLetters"]?.list.contains(.string(letterID)) == false, "the redriven letter left the list")
        // A replay from the worker's own console: previewed, then refused (its group has this worker).
        #expect(run["replay"]?.text?.contains("group \(e2e.group).release, to earliest") == true, "\(run["replay"] ?? .null)")
        #expect(run["replay"]?.text?.contains("refused: this worker runs release") == true, "\(run["replay"] ?? .null)")
        #expect(!worker.output.contains("plant-admin"), "the token is never logged")

        // Stopped cleanly, the worker leaves the group; `millwright console` executes the replay.
        worker.terminate()
        let before = try await reset.lag(group: "\(e2e.group).release", topics: [Topics.orderApproved])
        let console = try WorkerProcess.console(bootstrap: e2e.bootstrap, group: e2e.group, directory: "\(e2e.root)/console", environment: tokens)
        defer { console.kill() }
        #expect(try await e2e.eventually(timeout: .seconds(30)) { console.httpPort != nil }, "\(console.output)")
        let replay = try browseConsole(
            url: "http://127.0.0.1:\(try #require(console.httpPort))", plant: "P100", token: "plant-admin",
            screenshot: Self.screenshots.appendingPathComponent("console-replay.png").path, extra: ["--replay-processor", "release", "--replay-to", "earliest"])
        #expect(replay["replay"]?.text?.contains("reset (") == true, "executed: \(replay["replay"] ?? .null)\n\(console.output.suffix(2000))")
        #expect(replay["before"]?["metrics"]?["postings-last-hour"]?.int == lags.count, "`millwright console` reads the same outputs")
        let after = try await reset.lag(group: "\(e2e.group).release", topics: [Topics.orderApproved])
        #expect(before.contains { ($0.committed ?? 0) > 0 }, "the worker had committed offsets: \(before)")
        for partition in after {
            let marks = try await KafkaAdminClient(configuration: client, logger: TestKafka.logger("marks")).watermarks(partition.partition)
            #expect(partition.committed == marks.low, "\(partition.partition) is back at the beginning: \(after)")
        }
        let audits = try await e2e.read([Topics.audit]).compactMap { try? JSONParser.parse($0.value ?? []) }
        let resetAudit = audits.first { $0["data"]?["action"] == "OFFSET_RESET" }
        #expect(resetAudit?["data"]?["user"]?.text?.hasPrefix("api-admin") == true, "audited as the API's admin: \(audits)")
        console.terminate()
        #expect(console.process.terminationStatus == 0, "the console stops cleanly on SIGTERM:\n\(console.output.suffix(1000))")
    }
}
