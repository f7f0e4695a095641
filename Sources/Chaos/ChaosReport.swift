/// What a chaos run did and found, as the table it prints.
public struct ChaosReport: Sendable {
    public var profile: ChaosProfile
    public var orders = 0
    public var mesEvents = 0
    public var fuzzed = 0
    /// MES events sent with librdkafka's default partitioner (consistent_random), and without a key.
    public var consistentRandom = 0
    public var keyless = 0
    public var kills = 0
    public var tasksOpened = 0
    public var brokerFaults = 0
    public var injectedErrors = 0
    public var faultSeconds = 0.0
    public var wallSeconds = 0.0
    public var findings = ChaosFindings()
    /// Problems outside the outputs (a worker that did not stop cleanly).
    public var problems: [String] = []
    /// Resident memory per worker, MB, every 10 s (soak; nil while the worker was down).
    public var memorySamples: [String: [Int?]] = [:]
    /// Where the samples are (`memory.csv` in the run directory).
    public var memoryFile: String?
    /// Where the evidence of the last check is (`findings.txt` in the run directory).
    public var details: String?

    public init(profile: ChaosProfile) { self.profile = profile }

    public var passed: Bool { findings.complete && problems.isEmpty }

    public var table: String {
        let rows: [(String, String)] = [
            ("orders", "\(orders)"), ("MES events", "\(mesEvents)"), ("fuzzed inputs", "\(fuzzed)"),
            ("MES events by consistent_random / keyless", "\(consistentRandom) / \(keyless)"),
            ("workers killed (SIGKILL)", "\(kills)"), ("tasks opened (restores after rebalances)", "\(tasksOpened)"),
            ("broker faults (outages, latency)", "\(brokerFaults)"), ("injected request errors", "\(injectedErrors)"),
            ("releases", "\(findings.releases)"), ("postings", "\(findings.postings)"), ("quarantined", "\(findings.quarantines)"),
            ("of which events quarantined before their release was read", "\(findings.lateReleases)"),
            ("dead letters", "\(findings.deadLetters)"), ("lost", "\(findings.lost)"), ("duplicated", "\(findings.duplicated)"),
            ("wrong sums or bytes", "\(findings.wrongSums)"), ("unexplained", "\(findings.unexplained)"),
            ("wall time", "\(Int(wallSeconds)) s"),
        ]
        let width = rows.map(\.0.count).max() ?? 0
        var lines = rows.map { $0.0 + String(repeating: " ", count: width - $0.0.count) + "  " + $0.1 }
        for (worker, samples) in memorySamples.sorted(by: { $0.key < $1.key }) {
            let up = samples.compactMap { $0 }
            guard let first = up.first, let last = up.last, let peak = up.max() else { continue }
            lines.append("\(worker) RSS (MB, \(up.count) samples every 10 s): start \(first), peak \(peak), end \(last)")
        }
        if let memoryFile { lines.append("memory samples: \(memoryFile)") }
        if let details { lines.append("details of the last check: \(details)") }
        lines.append(passed ? "PASSED" : "FAILED")
        lines += findings.problems.map { "  - " + $0 }
        lines += problems.map { "  - " + $0 }
        return lines.joined(separator: "\n")
    }
}
