import Kafka
import Metrics
import Synchronization

/// One loop thread's metrics, through swift-metrics (a no-op until the process bootstraps a
/// backend: `millwright run` bootstraps Prometheus). Every series carries the processor's name.
///
/// Nothing here runs per record: the loop counts in its tasks, and the counts reach the metrics
/// once per transaction, on the committer thread, after the commit (so they count committed work:
/// a transaction that aborts and is processed again is counted once). Gauges are set by the loop
/// thread about once a second.
///
/// - Important: ``committed(_:)`` runs on the committer thread only, ``publish(lag:states:)`` and
///   the rebalance and restore methods on the loop thread only; each keeps its own cache of
///   metric objects. The metric objects themselves are thread-safe.
final class StreamMetrics: @unchecked Sendable {
    // @unchecked: `committerCache` is touched by the committer thread only and `loopCache` by the
    // loop thread only (see the type's comment); every other member is immutable.
    let processor: String
    /// The loop thread's number: a label of its gauges, which other threads of the processor set too.
    let thread: String
    private let committedTransactions: Counter
    private let abortedTransactions: Counter
    private let transactionDuration: Timer
    private let inputCommitLatency: Timer
    private let restoredRecords: Counter
    private let restoreDuration: Timer
    private let stateLosses: Counter
    private let rebalanceCounters: [String: Counter]
    private var committerCache = Cache()
    private var loopCache = Cache()

    private struct Cache {
        var counters: [String: Counter] = [:]
        var timers: [String: Timer] = [:]
        var gauges: [String: Gauge] = [:]
        /// Tallies' counters by name and labels as the outputs carry them: found without building
        /// a key string per output (a posting every few input events).
        var tallies: [TallyKey: Counter] = [:]
    }

    private struct TallyKey: Hashable {
        var name: String
        var labels: [OutputTally.Label]
    }

    init(processor: String, thread: Int) {
        self.processor = processor
        self.thread = String(thread)
        let dimensions = [("processor", processor)]
        committedTransactions = Counter(label: "millwright_transactions_total", dimensions: dimensions + [("outcome", "committed")])
        abortedTransactions = Counter(label: "millwright_transactions_total", dimensions: dimensions + [("outcome", "aborted")])
        transactionDuration = Timer(label: "millwright_transaction_duration_seconds", dimensions: dimensions)
        inputCommitLatency = Timer(label: "millwright_input_commit_latency_seconds", dimensions: dimensions)
        restoredRecords = Counter(label: "millwright_restored_records_total", dimensions: dimensions)
        restoreDuration = Timer(label: "millwright_restore_duration_seconds", dimensions: dimensions)
        stateLosses = Counter(label: "millwright_state_loss_total", dimensions: dimensions)
        var rebalances: [String: Counter] = [:]
        for kind in ["assigned", "revoked", "lost"] {
            rebalances[kind] = Counter(label: "millwright_rebalances_total", dimensions: dimensions + [("event", kind)])
        }
        rebalanceCounters = rebalances
    }

    // MARK: Committer thread

    /// What one committed transaction did, from the tasks' work.
    struct Committed {
        var duration: Duration
        /// Wall clock of the commit, ms since the epoch.
        var committedAt: Int64
        /// Input records per topic.
        var consumed: [String: Int] = [:]
        /// Outputs per topic.
        var produced: [String: Int] = [:]
        /// The oldest input timestamp of each task (ms since the epoch).
        var oldestInputs: [Int64] = []
        var tallies: [OutputTally] = []
    }

    func committed(_ commit: Committed) {
        committedTransactions.increment()
        transactionDuration.recordNanoseconds(Int64(commit.duration.wholeMilliseconds) * 1_000_000)
        for oldest in commit.oldestInputs {
            inputCommitLatency.recordMilliseconds(max(0, commit.committedAt - oldest))
        }
        for (topic, count) in commit.consumed {
            counter(&committerCache, "millwright_input_records_total", [("processor", processor), ("topic", topic)]).increment(by: count)
        }
        for (topic, count) in commit.produced {
            counter(&committerCache, "millwright_output_records_total", [("processor", processor), ("topic", topic)]).increment(by: count)
        }
        // Counted per series first, then one increment each.
        var counts: [TallyKey: Int] = [:]
        var lagTimer: (name: String, timer: Timer)?
        for tally in commit.tallies {
            counts[TallyKey(name: tally.name, labels: tally.labels), default: 0] += 1
            if let eventTime = tally.eventTime, let histogram = tally.lagHistogram {
                if lagTimer?.name != histogram { lagTimer = (histogram, timer(&committerCache, histogram, [])) }
                lagTimer?.timer.recordMilliseconds(max(0, commit.committedAt - eventTime))
            }
        }
        for (key, count) in counts {
            let counter: Counter
            if let cached = committerCache.tallies[key] {
                counter = cached
            } else {
                counter = Counter(label: key.name, dimensions: key.labels.map { ($0.name, $0.value) })
                committerCache.tallies[key] = counter
            }
            counter.increment(by: count)
        }
    }

    /// A transaction that aborted (committer outcome, read on the loop thread).
    func aborted() { abortedTransactions.increment() }

    // MARK: Loop thread

    func rebalance(_ event: String) { rebalanceCounters[event]?.increment() }

    /// A task rebuilt from a changelog whose history was cut short (`allowStateLoss`).
    func stateLost() { stateLosses.increment() }

    func restored(records: Int, duration: Duration) {
        restoredRecords.increment(by: records)
        restoreDuration.recordNanoseconds(Int64(duration.wholeMilliseconds) * 1_000_000)
    }

    /// Consumer lag per input partition this thread reads, and the state of its tasks. A partition
    /// this thread no longer reads loses its series (another worker reports it).
    func publish(lag: [KafkaTopicPartition: Int64], states: [String: Int]) {
        var seen = Set<String>()
        for (partition, value) in lag {
            let key = "lag|\(partition.topic)|\(partition.partition)"
            seen.insert(key)
            gauge(
                key, "millwright_consumer_lag_records",
                [("processor", processor), ("thread", thread), ("topic", partition.topic), ("partition", String(partition.partition))]
            )
            .record(value)
        }
        for (name, value) in states {
            gauge("state|\(name)", "millwright_processor_state", [("processor", processor), ("thread", thread), ("state", name)]).record(value)
        }
        for (key, gauge) in loopCache.gauges where key.hasPrefix("lag|") && !seen.contains(key) {
            gauge.destroy()
            loopCache.gauges[key] = nil
        }
    }

    /// Each broker's connection state (1 up, 0 not) and average round-trip time, from the group
    /// member's librdkafka statistics (its polling thread: the loop thread, inside a poll).
    func publish(_ statistics: KafkaStatistics) {
        for broker in statistics.brokers where broker.nodeID >= 0 {
            let dimensions = [("processor", processor), ("broker", String(broker.nodeID))]
            gauge("up|\(broker.nodeID)", "millwright_kafka_broker_up", dimensions).record(broker.isUp ? 1 : 0)
            if let rtt = broker.averageRTTMicroseconds {
                gauge("rtt|\(broker.nodeID)", "millwright_kafka_broker_rtt_seconds", dimensions).record(Double(rtt) / 1_000_000)
            }
        }
    }

    /// Removes this thread's gauges (the thread stops).
    func removeGauges() {
        for gauge in loopCache.gauges.values { gauge.destroy() }
        loopCache.gauges = [:]
    }

    // MARK: Caches

    private func counter(_ cache: inout Cache, _ name: String, _ dimensions: [(String, String)]) -> Counter {
        let key = cacheKey(name, dimensions)
        if let counter = cache.counters[key] { return counter }
        let counter = Counter(label: name, dimensions: dimensions)
        cache.counters[key] = counter
        return counter
    }

    private func timer(_ cache: inout Cache, _ name: String, _ dimensions: [(String, String)]) -> Timer {
        let key = cacheKey(name, dimensions)
        if let timer = cache.timers[key] { return timer }
        let timer = Timer(label: name, dimensions: dimensions)
        cache.timers[key] = timer
        return timer
    }

    private func gauge(_ key: String, _ name: String, _ dimensions: [(String, String)]) -> Gauge {
        if let gauge = loopCache.gauges[key] { return gauge }
        let gauge = Gauge(label: name, dimensions: dimensions)
        loopCache.gauges[key] = gauge
        return gauge
    }

    private func cacheKey(_ name: String, _ dimensions: [(String, String)]) -> String {
        dimensions.reduce(name) { "\($0)|\($1.0)=\($1.1)" }
    }
}
