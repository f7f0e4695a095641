import ArgumentParser
import BenchmarkSupport
import CAllocator
import Foundation
import Manufacturing
import Streams
import Synchronization
import TestSupport

/// Issue 16's benchmark: work orders through release and confirmation over months of event time
/// on one worker's tasks — the real processors, task stores on disk, state cache, changelog
/// records and restore — without the broker (the in-process cluster keeps ~5 MB per partition and
/// never compacts; Docs/performance.md says what that leaves out). Reports RSS every 10 s (CSV,
/// and an SVG plot), the throughput of the last tenth of the inputs against the first, the
/// compacted changelog per partition against the live work orders, and the time to reopen every
/// task from its state directory and from the compacted changelog alone.
@main
struct StateGrowthBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "StateGrowthBenchmark")

    @Option(help: "Work orders approved, each released, produced and completed.") var workOrders = 1_000_000
    @Option(help: "Days of event time the run spans.") var days = 180
    @Option(help: "MES events per work order, on average (±20 %).") var eventsPerOrder = 30
    @Option(help: "Percent of the (non-final) MES events that arrive late: 10 min to 2 h after their event time, past the grace.")
    var latePercent = 3.0
    @Option(help: "The workload's seed.") var seed: UInt64 = 16
    @Option(help: "Partitions (tasks per processor).") var partitions: Int32 = 12
    @Option(help: "Inputs between two commits (a worker commits every 100 ms: ~10,000 events at its rate).") var commitEvery = 10_000
    @Option(help: "The worker's stateCacheBytes.") var stateCacheBytes = 32 << 20
    @Option(help: "A checkpoint (store entries, changelog sizes) every this many days of event time.") var checkpointDays = 10
    @Option(help: "Seconds of wall time between two RSS samples.") var rssInterval = 10.0
    @Option(help: "Where the tasks' state and the changelog go (removed at the end unless --keep).") var directory: String?
    @Option(help: "The RSS samples (CSV).") var csv = "/tmp/state-growth-rss.csv"
    @Option(help: "An SVG plot of RSS over event time.") var svg: String?
    @Flag(help: "Keep the directory.") var keep = false
    @Flag(help: "At each checkpoint, the processors' in-memory state too (schedules, resident work orders, open windows).") var showSizes = false

    func run() throws {
        let directory = directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("state-growth-\(getpid())").path
        try? FileManager.default.removeItem(atPath: directory)
        let workload = StateGrowthWorkload(workOrders: workOrders, days: days, eventsPerOrder: eventsPerOrder, latePercent: latePercent, seed: seed)
        var options = StateGrowthRun.Options(workload: workload, directory: directory)
        options.partitions = partitions
        options.commitEvery = commitEvery
        options.stateCacheBytes = stateCacheBytes
        options.checkpointDays = checkpointDays
        say(
            "state growth: \(workOrders) work orders over \(days) days of event time, ~\(eventsPerOrder) events each, \(latePercent) % late, seed \(seed); \(partitions) partitions × (release + confirmation), commit every \(commitEvery) inputs, stateCacheBytes \(stateCacheBytes)"
        )
        say("allocator: \(String(cString: millwright_allocator_defaults()))")
        let sampler = RSSSampler(interval: rssInterval)
        sampler.start()
        let machineBefore = BenchmarkSupport.machineBusySeconds() ?? 0
        let cpuBefore = BenchmarkSupport.cpuSeconds() ?? 0
        let wallBefore = ContinuousClock.now

        let run = try StateGrowthRun(options)
        say(
            "| day | inputs | live work orders | retirement records (confirmation) | ledger entries (release) | store entries | compacted changelog per partition, release / confirmation (KB, mean) | appended (MB, all partitions) | cache MB |"
        )
        say("|---|---|---|---|---|---|---|---|---|")
        try run.run(
            sampleEvery: 10_000,
            sampled: { sample in sampler.progress(inputs: sample.inputs, day: sample.day, phase: "run") },
            checkpointed: { c in
                let ledger = c.entries["releases/", default: 0]
                func meanKB(_ sizes: [CompactedChangelog.Size]) -> Int { sizes.map(\.bytes).reduce(0, +) / max(1, sizes.count) / 1024 }
                let appended = (c.releaseAppended + c.confirmationAppended).reduce(0, +)
                if showSizes {
                    say(
                        "    in memory: " + c.processorSizes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                            + ", cache entries \(c.cacheEntries)")
                }
                say(
                    "| \(String(format: "%.1f", c.day)) | \(c.inputs) | \(c.liveWorkOrders) | \(c.retirementRecords) | \(ledger) (\(c.ledgerRetirementRecords) retired) | \(c.totalEntries) | \(meanKB(c.releaseLog)) / \(meanKB(c.confirmationLog)) | \(appended >> 20) | \(String(format: "%.1f", Double(c.cacheBytes) / 1_048_576)) |"
                )
            })
        let runSeconds = (ContinuousClock.now - wallBefore).seconds
        let cpu = (BenchmarkSupport.cpuSeconds() ?? 0) - cpuBefore
        let machine = (BenchmarkSupport.machineBusySeconds() ?? 0) - machineBefore
        say(
            String(
                format:
                    "run: %d inputs (%d late) in %.0f s wall (%.1f s at checkpoints); process CPU %.0f s, machine busy %.0f core-s of %.0f (others' share ~%.0f %%)",
                run.inputs, run.lateInputs, runSeconds, runSeconds - (run.samples.last?.seconds ?? runSeconds), cpu, machine,
                runSeconds * Double(ProcessInfo.processInfo.activeProcessorCount), max(0, (machine - cpu) / max(1, machine) * 100)))
        say("outputs: " + run.outputs.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))

        // Throughput: the first and the last tenth of the inputs.
        let samples = run.samples
        if let last = samples.last, samples.count >= 20 {
            func at(_ inputs: Int) -> StateGrowthRun.Sample { samples.first { $0.inputs >= inputs } ?? last }
            let first = at(last.inputs / 10)
            let lastStart = at(last.inputs * 9 / 10)
            func rate(_ a: StateGrowthRun.Sample?, _ b: StateGrowthRun.Sample, _ seconds: KeyPath<StateGrowthRun.Sample, Double>) -> Double {
                Double(b.inputs - (a?.inputs ?? 0)) / max(1e-9, b[keyPath: seconds] - (a?[keyPath: seconds] ?? 0))
            }
            let firstWall = rate(nil, first, \.seconds)
            let lastWall = rate(lastStart, last, \.seconds)
            let firstTask = rate(nil, first, \.taskSeconds)
            let lastTask = rate(lastStart, last, \.taskSeconds)
            say(
                String(
                    format:
                        "throughput, first 10 %% of the inputs: %.0f/s (tasks alone %.0f/s); last 10 %%: %.0f/s (tasks alone %.0f/s): last/first %.0f %% (tasks alone %.0f %%)",
                    firstWall, firstTask, lastWall, lastTask, lastWall / firstWall * 100, lastTask / firstTask * 100))
            say(
                String(
                    format: "time: tasks %.0f s, changelog compaction (SQLite) %.0f s, input generation and routing %.0f s", last.taskSeconds,
                    last.changelogSeconds, last.seconds - last.taskSeconds - last.changelogSeconds))
        }
        if let end = run.checkpoints.last {
            let releaseBytes = end.releaseLog.map(\.bytes)
            let confirmationBytes = end.confirmationLog.map(\.bytes)
            say(
                "changelog per partition at the end, compacted: release \(releaseBytes.min()! >> 10)–\(releaseBytes.max()! >> 10) KB, confirmation \(confirmationBytes.min()! >> 10)–\(confirmationBytes.max()! >> 10) KB; appended before compaction: release \((end.releaseAppended.reduce(0, +) / end.releaseAppended.count) >> 20) MB, confirmation \((end.confirmationAppended.reduce(0, +) / end.confirmationAppended.count) >> 20) MB per partition; live work orders \(end.liveWorkOrders) (\(end.liveWorkOrders / Int(partitions)) per partition)"
            )
        }

        // Restarts: a clean stop, then every task opened from its state directory; then every task
        // opened in an empty directory, from the compacted changelog alone.
        try run.stop()
        try run.changelog.prepareForReading()
        sampler.progress(inputs: run.inputs, day: Double(days), phase: "restart-local")
        let local = try timedReopen(run, directory: StateGrowthRun.stateDirectory(directory))
        say(
            String(
                format: "restart on its own state directory: %.2f s (%d tasks, %d local entries read, %d changelog records)", local.seconds, local.tasks,
                local.localEntries, local.changelogRecords))
        sampler.progress(inputs: run.inputs, day: Double(days), phase: "restart-empty")
        let empty = try timedReopen(run, directory: directory + "/empty")
        say(
            String(
                format:
                    "restart on an empty state directory (the compacted changelog alone): %.2f s (%d changelog records, %d entries applied, %d batches read twice)",
                empty.seconds, empty.changelogRecords, empty.appliedChanges, empty.rereadBatches))
        say(
            local.entries == empty.entries
                ? "restored state: the same \(empty.entries.values.reduce(0, +)) entries as the task's own files"
                : "restored state DIFFERS: own files \(local.entries), from the changelog \(empty.entries)")
        sampler.stop()
        say(String(format: "RSS: peak %.0f MB (VmHWM %@ MB)", sampler.peak, BenchmarkSupport.peakRSSMegabytes().map(String.init) ?? "n/a"))
        try sampler.writeCSV(csv)
        say("RSS samples: \(csv)")
        if let svg {
            try sampler.writeSVG(
                svg,
                title:
                    "\(workOrders) work orders over \(days) days, ~\(eventsPerOrder) events each, one worker (release + confirmation, \(partitions) partitions)",
                retentionDay: Double(ProcessingSettings().workOrderRetention + StateGrowthWorkload.maxLifetime) / Double(ProcessingSettings.day), days: days)
            say("RSS plot: \(svg)")
        }
        if !keep { try? FileManager.default.removeItem(atPath: directory) }
    }

    struct Reopened {
        var seconds: Double
        var tasks: Int
        var localEntries = 0
        var changelogRecords = 0
        var appliedChanges = 0
        var rereadBatches = 0
        var entries: [String: Int] = [:]
    }

    func timedReopen(_ run: StateGrowthRun, directory: String) throws -> Reopened {
        let began = ContinuousClock.now
        let opened = try run.reopen(directory: directory)
        var result = Reopened(seconds: (ContinuousClock.now - began).seconds, tasks: opened.count)
        for task in opened {
            result.localEntries += task.reopening.localEntries
            result.changelogRecords += task.reopening.changelogRecords
            result.appliedChanges += task.reopening.appliedChanges
            result.rereadBatches += task.reopening.rereadBatches
            for (kind, count) in try task.harness.storedEntryCounts() { result.entries[kind, default: 0] += count }
            try task.harness.closeStateFile()
        }
        return result
    }
}

/// This process's resident memory every `interval` seconds of wall time, on its own thread.
final class RSSSampler: @unchecked Sendable {  // the samples and progress are under `lock`
    struct Sample {
        var seconds: Double
        var rssMB: Double
        var inputs: Int
        var day: Double
        var phase: String
    }
    let interval: Double
    private let lock = NSLock()
    private var samples: [Sample] = []
    private var inputs = 0
    private var day = 0.0
    private var phase = "start"
    private let stopped = Atomic<Bool>(false)
    private let began = ContinuousClock.now
    private var thread: Thread?

    init(interval: Double) { self.interval = interval }

    static func rssMB() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "")
        else { return 0 }
        return kilobytes / 1024
    }

    func progress(inputs: Int, day: Double, phase: String) {
        lock.lock()
        defer { lock.unlock() }
        self.inputs = inputs
        self.day = day
        self.phase = phase
    }

    private func take() {
        let rss = Self.rssMB()
        lock.lock()
        defer { lock.unlock() }
        samples.append(Sample(seconds: (ContinuousClock.now - began).seconds, rssMB: rss, inputs: inputs, day: day, phase: phase))
    }

    func start() {
        let thread = Thread { [self] in
            take()
            var next = ContinuousClock.now.advanced(by: .seconds(interval))
            while !stopped.load(ordering: .relaxed) {
                Thread.sleep(forTimeInterval: 0.2)
                if ContinuousClock.now >= next {
                    take()
                    next = next.advanced(by: .seconds(interval))
                }
            }
        }
        self.thread = thread
        thread.start()
    }

    func stop() {
        take()
        stopped.store(true, ordering: .relaxed)
    }

    var peak: Double {
        lock.lock()
        defer { lock.unlock() }
        return samples.map(\.rssMB).max() ?? 0
    }

    func writeCSV(_ path: String) throws {
        lock.lock()
        let rows = samples.map { String(format: "%.1f,%.1f,%d,%.2f,%@", $0.seconds, $0.rssMB, $0.inputs, $0.day, $0.phase) }
        lock.unlock()
        try (["seconds,rss_mb,inputs,event_day,phase"] + rows).joined(separator: "\n").appending("\n").write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// A line plot of RSS (MB) over event time (days) of the run's samples; the restarts' samples
    /// at the right edge; the 150 MB target and the end of the first retention period marked.
    func writeSVG(_ path: String, title: String, retentionDay: Double, days: Int) throws {
        lock.lock()
        let points = samples
        lock.unlock()
        let width = 900.0
        let height = 460.0
        let left = 70.0
        let right = 30.0
        let top = 50.0
        let bottom = 60.0
        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        let maxMB = max(200, ((points.map(\.rssMB).max() ?? 0) / 50).rounded(.up) * 50)
        func x(_ day: Double) -> Double { left + day / Double(days) * plotWidth }
        func y(_ mb: Double) -> Double { top + plotHeight - mb / maxMB * plotHeight }
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(width / 2)" y="22" text-anchor="middle" font-size="14">RSS of one worker's tasks, sampled every \(Int(interval)) s</text>
            <text x="\(width / 2)" y="38" text-anchor="middle" font-size="11" fill="#555">\(title)</text>

            """
        // Grid and axes.
        var mb = 0.0
        while mb <= maxMB {
            svg += "<line x1=\"\(left)\" y1=\"\(y(mb))\" x2=\"\(left + plotWidth)\" y2=\"\(y(mb))\" stroke=\"#eee\"/>\n"
            svg += "<text x=\"\(left - 8)\" y=\"\(y(mb) + 4)\" text-anchor=\"end\">\(Int(mb))</text>\n"
            mb += 25
        }
        var day = 0
        while day <= days {
            svg += "<line x1=\"\(x(Double(day)))\" y1=\"\(top + plotHeight)\" x2=\"\(x(Double(day)))\" y2=\"\(top + plotHeight + 5)\" stroke=\"black\"/>\n"
            svg += "<text x=\"\(x(Double(day)))\" y=\"\(top + plotHeight + 20)\" text-anchor=\"middle\">\(day)</text>\n"
            day += days >= 100 ? 20 : 10
        }
        svg += "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(top + plotHeight)\" stroke=\"black\"/>\n"
        svg += "<line x1=\"\(left)\" y1=\"\(top + plotHeight)\" x2=\"\(left + plotWidth)\" y2=\"\(top + plotHeight)\" stroke=\"black\"/>\n"
        svg +=
            "<text x=\"\(left + plotWidth / 2)\" y=\"\(height - 15)\" text-anchor=\"middle\">event time (days since the first approval; the run's wall time is compressed)</text>\n"
        svg += "<text transform=\"translate(18 \(top + plotHeight / 2)) rotate(-90)\" text-anchor=\"middle\">RSS (MB)</text>\n"
        // Target and first retention period.
        svg += "<line x1=\"\(left)\" y1=\"\(y(150))\" x2=\"\(left + plotWidth)\" y2=\"\(y(150))\" stroke=\"#c00\" stroke-dasharray=\"6 4\"/>\n"
        svg += "<text x=\"\(left + plotWidth - 4)\" y=\"\(y(150) - 6)\" text-anchor=\"end\" fill=\"#c00\">target: peak ≤ 150 MB</text>\n"
        if retentionDay < Double(days) {
            svg +=
                "<line x1=\"\(x(retentionDay))\" y1=\"\(top)\" x2=\"\(x(retentionDay))\" y2=\"\(top + plotHeight)\" stroke=\"#888\" stroke-dasharray=\"3 3\"/>\n"
            svg +=
                "<text x=\"\(x(retentionDay) + 4)\" y=\"\(top + 14)\" fill=\"#555\">first work orders retired (14 d after completion)</text>\n"
        }
        let run = points.filter { $0.phase == "run" || $0.phase == "start" }
        let line = run.map { String(format: "%.1f,%.1f", x($0.day), y($0.rssMB)) }.joined(separator: " ")
        svg += "<polyline fill=\"none\" stroke=\"#1f5fbf\" stroke-width=\"1.5\" points=\"\(line)\"/>\n"
        for sample in points where sample.phase.hasPrefix("restart") {
            svg += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#e08000\"/>\n", x(Double(days)), y(sample.rssMB))
        }
        if points.contains(where: { $0.phase.hasPrefix("restart") }) {
            svg +=
                "<text x=\"\(left + plotWidth - 4)\" y=\"\(top + plotHeight - 8)\" text-anchor=\"end\" fill=\"#e08000\">● during the restarts after the run</text>\n"
        }
        svg += "</svg>\n"
        try svg.write(toFile: path, atomically: true, encoding: .utf8)
    }
}

/// A line on standard output, unbuffered (the run's table shows as it goes).
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
