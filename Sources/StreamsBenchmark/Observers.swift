import ArgumentParser
import BenchmarkSupport
import Foundation
import Kafka
import Logging
import Manufacturing
import Ops
import Streams
import Synchronization
import TestSupport

/// A consumer of the benchmark's own, reading a 12-partition topic from its beginning.
///
/// It waits at most 5 ms for a fetch: the in-process cluster answers a fetch that finds nothing
/// only after fetch.wait.max.ms, even if records come meanwhile. With the default 100 ms the
/// first and the last commit were each seen 0–100 ms late (the measured window moved by up to
/// ±100 ms), and every posting up to 100 ms late in the latency.
func observingConsumer(bootstrap: String, topic: String, logger: Logger) throws -> KafkaConsumer {
    var configuration = KafkaConsumerConfiguration(bootstrapServers: [bootstrap])
    configuration.fetchWaitMax = .milliseconds(5)
    let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
    try consumer.assign((0..<12).map { KafkaTopicPartitionOffset(topic: topic, partition: Int32($0), offset: KafkaOffset.beginning) })
    return consumer
}

/// Follows a processor's changelog `read_committed` on a thread of its own: per partition, the
/// input positions of the last batch whose commit marker came (what committed, outputs included).
final class CommittedProgress: Sendable {
    private struct State {
        var pending: [Int32: [String: Int64]] = [:]
        var committed: [Int32: [String: Int64]] = [:]
    }

    private let state = Mutex(State())
    private let stopped = Atomic<Bool>(false)

    init(bootstrap: String, changelog: String, logger: Logger) throws {
        let consumer = try observingConsumer(bootstrap: bootstrap, topic: changelog, logger: logger)
        startNamedThread("bench-progress") { [self] in
            while !stopped.load(ordering: .relaxed) {
                guard let events = try? consumer.pollBatch(maxMessages: 10_000, timeout: .milliseconds(10)) else { break }
                state.withLock { s in
                    for event in events {
                        guard case .message(let m) = event else { continue }
                        switch ChangelogRecord(key: m.key, value: m.value) {
                        case .positions(let positions)?: s.pending[m.partition] = positions
                        case .commit?: if let positions = s.pending.removeValue(forKey: m.partition) { s.committed[m.partition] = positions }
                        default: break
                        }
                    }
                }
            }
            try? consumer.close()
        }
    }

    /// Input records of these topics committed so far, over all partitions.
    func committed(of topics: Set<String>) -> Int64 {
        state.withLock { s in s.committed.values.reduce(0) { sum, positions in sum + positions.filter { topics.contains($0.key) }.values.reduce(0, +) } }
    }

    func stop() { stopped.store(true, ordering: .relaxed) }
}

/// Reads a topic `read_committed` from its beginning on a thread of its own and notes when each
/// key's first record arrived (wall clock, ms) and its timestamp.
final class CommittedReader: Sendable {
    struct Arrival: Sendable {
        var received: Int64
        var timestamp: Int64
    }

    private let arrivals = Mutex<[String: Arrival]>([:])
    private let stopped = Atomic<Bool>(false)
    /// Set once a poll came back empty after records had come (or a second of empty polls).
    private let caughtUp = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    init(bootstrap: String, topic: String, logger: Logger) throws {
        let consumer = try observingConsumer(bootstrap: bootstrap, topic: topic, logger: logger)
        startNamedThread("bench-reader") { [self] in
            var emptyPolls = 0
            while !stopped.load(ordering: .relaxed) {
                guard let events = try? consumer.pollBatch(maxMessages: 10_000, timeout: .milliseconds(20)) else { break }
                emptyPolls = events.isEmpty ? emptyPolls + 1 : 0
                // At the end: an empty poll after records came, or a second of nothing (an empty topic).
                if events.isEmpty && (!arrivals.withLock({ $0.isEmpty }) || emptyPolls >= 50) { caughtUp.store(true, ordering: .relaxed) }
                let now = Int64(Date().timeIntervalSince1970 * 1000)
                arrivals.withLock { seen in
                    for event in events {
                        guard case .message(let m) = event, let key = m.keyString, seen[key] == nil, let ts = m.timestamp?.milliseconds else { continue }
                        seen[key] = Arrival(received: now, timestamp: ts)
                    }
                }
            }
            try? consumer.close()
            finished.signal()
        }
    }

    /// Waits until the reader has read what the topic held when it started.
    func waitUntilCaughtUp(timeout: Duration) async throws {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while !caughtUp.load(ordering: .relaxed) {
            guard ContinuousClock.now < deadline else { throw BenchmarkError("the latency reader did not catch up within \(timeout)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Waits until every key arrived or the timeout passed, stops the reader, and returns the
    /// arrivals of those keys.
    func waitFor(keys: Set<String>, timeout: Duration) async throws -> [String: Arrival] {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if arrivals.withLock({ seen in keys.allSatisfy { seen[$0] != nil } }) { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        stopped.store(true, ordering: .relaxed)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async { [finished] in
                finished.wait()
                continuation.resume()
            }
        }
        return arrivals.withLock { seen in seen.filter { keys.contains($0.key) } }
    }
}

/// Outputs per input event: postings and status events, from the topics each output record went to.
struct OutputCount {
    var postings = 0
    var erpStatus = 0
    var crmStatus = 0
    var inputs: Int

    init(_ topics: some Sequence<String>, inputs: Int) {
        self.inputs = inputs
        for topic in topics {
            switch topic {
            case Topics.productionConfirmation: postings += 1
            case Topics.erpOrderStatus: erpStatus += 1
            case Topics.crmOrderStatus: crmStatus += 1
            default: break
            }
        }
    }

    var report: String {
        let n = Double(max(1, inputs))
        return String(
            format: "outputs: %d postings (%.3f per input event), status events %d to ERP and %d to CRM (%.3f per input event)", postings, Double(postings) / n,
            erpStatus, crmStatus, Double(erpStatus + crmStatus) / n)
    }
}

/// The outputs' sizes per topic: mean value bytes and headers, and what they take packed in a
/// transaction (``OutputBatch``: key, value, header names and values, framing).
struct OutputSizes {
    var perTopic: [String: (count: Int, bytes: Int, packed: Int, headers: Int)] = [:]

    init(_ outputs: [OutputRecord]) {
        for output in outputs {
            var entry = perTopic[output.topic] ?? (0, 0, 0, 0)
            entry.count += 1
            entry.bytes += output.value?.count ?? 0
            entry.packed += OutputBatch([output]).byteCount
            entry.headers += output.headers.count
            perTopic[output.topic] = entry
        }
    }

    var report: String {
        "outputs, mean value bytes (packed bytes) and headers: "
            + perTopic.sorted { $0.key < $1.key }.map { topic, e in
                let n = Double(max(1, e.count))
                return String(format: "%@ %.0f B (%.0f), %.1f", topic, Double(e.bytes) / n, Double(e.packed) / n, Double(e.headers) / n)
            }.joined(separator: "; ")
    }
}

/// Reads the postings and both status topics `read_committed` from their beginning once, up to
/// their end, and returns each record's topic (what the committed transactions wrote so far).
enum OutputCounter {
    static func count(bootstrap: String, logger: Logger) async throws -> [String] {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: [bootstrap])
        configuration.fetchWaitMax = .milliseconds(5)
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        let topics = [Topics.productionConfirmation, Topics.erpOrderStatus, Topics.crmOrderStatus]
        try consumer.assign(topics.flatMap { t in (0..<12).map { KafkaTopicPartitionOffset(topic: t, partition: Int32($0), offset: KafkaOffset.beginning) } })
        var seen: [String] = []
        var emptyPolls = 0
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        // Done after 25 empty polls in a row (≥ 0.5 s with nothing new).
        while emptyPolls < 25, ContinuousClock.now < deadline {
            let events = try await consumer.pollBatch(maxMessages: 10_000, timeout: .milliseconds(20))
            emptyPolls = events.isEmpty ? emptyPolls + 1 : 0
            for event in events { if case .message(let m) = event { seen.append(m.topic) } }
        }
        try await consumer.close()
        return seen
    }
}
