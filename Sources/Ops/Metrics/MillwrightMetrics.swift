import CoreMetrics
import Foundation
import Manufacturing
import Prometheus

/// The worker's Prometheus registry: what the stream runtime reports through swift-metrics, plus
/// gauges read at each scrape (process, master data, probes). `/metrics` serves ``scrape()``.
///
/// - Important: Thread-safe. ``bootstrap()`` installs the registry as swift-metrics' backend and
///   may run once per process; tests make their own with ``init(registry:)``.
public final class MillwrightMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let masterDataRows: [MasterDataKind: Prometheus.Gauge]
    private let masterDataRejected: Prometheus.Gauge
    private let masterDataDeadLettersPending: Prometheus.Gauge
    private let masterDataCaughtUp: Prometheus.Gauge
    private let live: Prometheus.Gauge
    private let ready: Prometheus.Gauge
    private let started = Date()

    /// Buckets of the duration histograms whose range is not the default 5 ms … 10 s.
    public static let durationBuckets: [String: [Duration]] = [
        "millwright_confirmation_lag_seconds": [
            .seconds(60), .seconds(300), .seconds(900), .seconds(1_200), .seconds(1_800), .seconds(3_600), .seconds(7_200),
            .seconds(21_600), .seconds(86_400),
        ],
        "millwright_input_commit_latency_seconds": [
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .seconds(5), .seconds(30), .seconds(300), .seconds(3_600),
        ],
        "millwright_restore_duration_seconds": [
            .milliseconds(10), .milliseconds(100), .seconds(1), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(300),
        ],
    ]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var rows: [MasterDataKind: Prometheus.Gauge] = [:]
        for kind in MasterDataKind.allCases {
            rows[kind] = registry.makeGauge(
                descriptor: .init(
                    metricName: "millwright_master_data_records", unitName: "", helpText: "Rows in the local master-data cache, per master-data topic."),
                labels: [("topic", kind.topic)])
        }
        masterDataRows = rows
        masterDataRejected = registry.makeGauge(
            descriptor: .init(
                metricName: "millwright_master_data_rejected_records", unitName: "",
                helpText: "Master-data records that failed validation and were not applied."))
        masterDataDeadLettersPending = registry.makeGauge(
            descriptor: .init(
                metricName: "millwright_master_data_dead_letters_pending", unitName: "",
                helpText: "Rejected master-data records whose dead letter the cluster has not acknowledged yet."))
        masterDataCaughtUp = registry.makeGauge(
            descriptor: .init(
                metricName: "millwright_master_data_caught_up", unitName: "", helpText: "1 once master data has caught up with the high watermarks at start."))
        live = registry.makeGauge(descriptor: .init(metricName: "millwright_live", unitName: "", helpText: "1 while /healthz answers 200."))
        ready = registry.makeGauge(descriptor: .init(metricName: "millwright_ready", unitName: "", helpText: "1 while /readyz answers 200."))
    }

    /// Makes a registry and installs it as swift-metrics' backend, with the histogram buckets
    /// above. Once per process.
    public static func bootstrap() -> MillwrightMetrics {
        let metrics = MillwrightMetrics()
        var factory = PrometheusMetricsFactory(registry: metrics.registry)
        factory.durationHistogramBuckets = durationBuckets
        MetricsSystem.bootstrap(factory)
        return metrics
    }

    /// The exposition text: the registry's series after refreshing the scrape-time gauges, then
    /// the process's own (`process_*`, as Prometheus' client libraries name them).
    public func scrape(health: HealthSnapshot?, livenessTimeout: Duration, masterData: MasterDataCounts?) -> [UInt8] {
        if let health {
            masterDataCaughtUp.set(Int64(health.masterData.caughtUp ? 1 : 0))
            live.set(Int64(Probes.liveness(health, timeout: livenessTimeout).healthy ? 1 : 0))
            ready.set(Int64(Probes.readiness(health).healthy ? 1 : 0))
        }
        if let masterData {
            for (kind, gauge) in masterDataRows { gauge.set(Int64(masterData[kind])) }
            masterDataRejected.set(Int64(masterData.rejected))
            masterDataDeadLettersPending.set(Int64(masterData.pendingDeadLetters))
        }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16_384)
        registry.emit(into: &buffer)
        buffer += Array(ProcessMetrics.read(started: started).exposition.utf8)
        return buffer
    }
}
