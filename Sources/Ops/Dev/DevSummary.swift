import Foundation

/// The one-screen summary `millwright dev` redraws every second: what the simulator sent, what
/// the worker committed (from its own Prometheus series, the numbers an operator scrapes), rates
/// over the last interval, lag, and where to look next. Pure: snapshots in, text out.
public struct DevSummary: Sendable {
    /// The counters and gauges the summary shows, summed over their labels.
    public struct Snapshot: Sendable, Hashable {
        public var sent = 0
        public var inputs = 0.0
        public var outputs = 0.0
        public var releases = 0.0
        public var postings = 0.0
        public var quarantined = 0.0
        public var deadLetters = 0.0
        public var lag = 0.0
        public var releasesByPlant: [String: Double] = [:]
        public var quarantinedByReason: [String: Double] = [:]

        public init() {}

        /// Reads the worker's exposition text (Prometheus 0.0.4) and what was sent.
        public init(metrics: String, sent: Int) {
            self.sent = sent
            for line in metrics.split(separator: "\n") where !line.hasPrefix("#") {
                guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]), value.isFinite else { continue }
                let series = line[..<space]
                let name = series.prefix { $0 != "{" }
                switch name {
                case "millwright_input_records_total": inputs += value
                case "millwright_output_records_total": outputs += value
                case "millwright_releases_total":
                    releases += value
                    releasesByPlant[Self.label("plant", in: series) ?? "?", default: 0] += value
                case "millwright_postings_total": postings += value
                case "millwright_quarantined_total":
                    quarantined += value
                    quarantinedByReason[Self.label("reason", in: series) ?? "?", default: 0] += value
                case "millwright_dead_letters_total": deadLetters += value
                case "millwright_consumer_lag_records": lag += value
                default: break
                }
            }
        }

        static func label(_ name: String, in series: Substring) -> String? {
            guard let range = series.range(of: "\(name)=\"") else { return nil }
            let rest = series[range.upperBound...]
            return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
        }
    }

    public var previous = Snapshot()
    public var current = Snapshot()
    /// Seconds between the two snapshots.
    public var interval = 1.0

    public init() {}

    /// Takes a new snapshot: rates are against the one before.
    public mutating func update(_ snapshot: Snapshot, interval: Double) {
        previous = current
        current = snapshot
        self.interval = max(interval, 0.001)
    }

    func rate(_ key: KeyPath<Snapshot, Double>) -> Int { Int(((current[keyPath: key] - previous[keyPath: key]) / interval).rounded()) }

    /// The screen: a fixed set of lines (`footer` under them: addresses, how to stop).
    public func render(title: String, footer: [String]) -> String {
        let sentRate = Int((Double(current.sent - previous.sent) / interval).rounded())
        func count(_ value: Double) -> String { String(Int(value)) }
        func padded(_ text: String, _ width: Int) -> String { text.count >= width ? text : text + String(repeating: " ", count: width - text.count) }
        let plants = current.releasesByPlant.sorted { $0.key < $1.key }.map { "\($0.key) \(count($0.value))" }.joined(separator: ", ")
        let reasons = current.quarantinedByReason.sorted { $0.key < $1.key }.map { "\($0.key) \(count($0.value))" }.joined(separator: ", ")
        var screen = [
            title,
            "",
            padded("sent by the simulator", 26) + padded(String(current.sent), 12) + "\(sentRate)/s",
            padded("inputs committed", 26) + padded(count(current.inputs), 12) + "\(rate(\.inputs))/s",
            padded("outputs committed", 26) + padded(count(current.outputs), 12) + "\(rate(\.outputs))/s",
            padded("releases to MES", 26) + padded(count(current.releases), 12) + (plants.isEmpty ? "" : "(\(plants))"),
            padded("postings to ERP", 26) + padded(count(current.postings), 12) + "\(rate(\.postings))/s",
            padded("quarantined", 26) + padded(count(current.quarantined), 12) + (reasons.isEmpty ? "" : "(\(reasons))"),
            padded("dead letters", 26) + count(current.deadLetters),
            padded("consumer lag (records)", 26) + count(current.lag),
            "",
        ]
        screen += footer
        return screen.joined(separator: "\n") + "\n"
    }
}
