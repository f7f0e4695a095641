import Foundation
import Hummingbird
import HummingbirdTesting
import Manufacturing
import Metrics
import Ops
import Prometheus
import Streams
import Testing

/// A fixed health, as a worker would report it.
private struct FixedHealth: HealthSource {
    var snapshot: HealthSnapshot
    func healthSnapshot() -> HealthSnapshot { snapshot }
}

private func worker(
    _ processor: String, joined: Bool = true, restoring: [TaskRestoreProgress] = [], sinceProgress: Duration? = .seconds(1), failure: String? = nil
) -> StreamWorkerHealth {
    StreamWorkerHealth(
        processor: processor, thread: 0, running: failure == nil, stopping: false, failure: failure, sinceProgress: sinceProgress,
        joined: joined, assignedPartitions: [0, 1], restoring: restoring)
}

private let loaded = HealthSnapshot.MasterData(
    started: true, caughtUp: true, failure: nil, progress: [GlobalTableProgress(topic: "mdm.plant.v1", loaded: 3, toLoad: 3)])

@Suite("The worker's HTTP endpoints: /healthz, /readyz, /metrics")
struct OpsEndpointsTests {
    func test(_ snapshot: HealthSnapshot, metrics: MillwrightMetrics? = nil, _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void)
        async throws
    {
        let endpoints = OpsEndpoints(
            health: FixedHealth(snapshot: snapshot), metrics: metrics, livenessTimeout: .seconds(60),
            masterDataCounts: { MasterDataCounts(plants: 2, items: 5, boms: 1, routings: 4, rejected: 1, pendingDeadLetters: 1) })
        try await Application(router: endpoints.router()).test(.router, body)
    }

    @Test("/readyz is 200 with JSON once master data caught up, groups joined and nothing restores")
    func ready() async throws {
        try await test(HealthSnapshot(masterData: loaded, workers: [worker("release"), worker("confirmation")])) { client in
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json")
                let body = try JSONParser.parse(Array(response.body.readableBytesView))
                #expect(body["status"] == "ready")
                #expect(body["pending"] == .array([]))
            }
        }
    }

    @Test("/readyz is 503 while master data loads and a task restores, naming each with its progress")
    func notReady() async throws {
        let loading = HealthSnapshot.MasterData(
            started: true, caughtUp: false, failure: nil, progress: [GlobalTableProgress(topic: "mdm.item.v1", loaded: 40, toLoad: 100)])
        let restoring = worker("confirmation", restoring: [TaskRestoreProgress(partition: 3, restored: 120, toRestore: 900)])
        try await test(HealthSnapshot(masterData: loading, workers: [worker("release", joined: false), restoring])) { client in
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                let body = try JSONParser.parse(Array(response.body.readableBytesView))
                #expect(body["status"] == "not ready")
                guard case .array(let pending)? = body["pending"] else {
                    Issue.record("no pending list: \(body)")
                    return
                }
                #expect(pending.count == 3)
                #expect(pending[0]["part"] == "masterData")
                #expect(pending[0]["topics"] == [["topic": "mdm.item.v1", "loaded": 40, "toLoad": 100]])
                #expect(pending[1]["part"] == "release")
                #expect(pending[1]["pending"] == "joining the consumer group")
                #expect(pending[2]["pending"] == "restoring tasks")
                #expect(pending[2]["restoring"] == [["partition": 3, "restored": 120, "toRestore": 900]])
            }
        }
    }

    @Test(
        "/readyz lists every task whose changelog lost history its state needed: ready when rebuilt (allowStateLoss), not ready when its processor stopped on it"
    )
    func stateLoss() async throws {
        let loss = TaskStateLoss(partition: 3, changelog: "millwright.g.release.changelog.v1", gap: StateGap(needed: 0, logStart: 5_210), rebuilt: true)
        var rebuilt = worker("release")
        rebuilt.stateLosses = [loss]
        try await test(HealthSnapshot(masterData: loaded, workers: [rebuilt, worker("confirmation")])) { client in
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .ok, "rebuilt from what was left: ready, and said")
                let body = try JSONParser.parse(Array(response.body.readableBytesView))
                #expect(
                    body["stateLoss"] == [
                        [
                            "processor": "release", "partition": 3, "changelog": "millwright.g.release.changelog.v1", "neededOffset": 0,
                            "logStartOffset": 5_210, "missingOffsets": 5_210, "rebuilt": true,
                        ]
                    ])
            }
        }
        var stopped = worker("release", failure: "processor release, task 3: changelog … starts at offset 5210")
        stopped.stateLosses = [TaskStateLoss(partition: 3, changelog: loss.changelog, gap: loss.gap, rebuilt: false)]
        try await test(HealthSnapshot(masterData: loaded, workers: [stopped])) { client in
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                let body = try JSONParser.parse(Array(response.body.readableBytesView))
                guard case .array(let pending)? = body["pending"], case .array(let losses)? = body["stateLoss"] else {
                    Issue.record("no pending or stateLoss list: \(body)")
                    return
                }
                #expect(pending.first?["pending"] == "failed: processor release, task 3: changelog … starts at offset 5210")
                #expect(losses.first?["rebuilt"] == false)
            }
        }
        try await test(HealthSnapshot(masterData: loaded, workers: [worker("release")])) { client in
            try await client.execute(uri: "/readyz", method: .get) { response in
                let body = try JSONParser.parse(Array(response.body.readableBytesView))
                #expect(body["stateLoss"] == .array([]), "nothing lost: an empty list")
            }
        }
    }

    @Test("/healthz is 200 while every loop thread polled within the liveness timeout, 503 naming the one that did not or failed")
    func liveness() async throws {
        try await test(HealthSnapshot(masterData: loaded, workers: [worker("release"), worker("confirmation", sinceProgress: nil)])) { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok, "a thread that has not polled yet is starting, not dead")
                let body = try JSONParser.parse(Array(response.body.readableBytesView))
                #expect(body["status"] == "live")
            }
        }
        let stuck = HealthSnapshot(masterData: loaded, workers: [worker("release", sinceProgress: .seconds(61)), worker("confirmation", failure: "fenced")])
        try await test(stuck) { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                let text = String(buffer: response.body)
                #expect(text.contains("no poll for 61 s (limit 60 s)"))
                #expect(text.contains("failed: fenced"))
            }
        }
    }

    @Test("/metrics answers Prometheus text 0.0.4 with the registry's series and the process's own")
    func metrics() async throws {
        let metrics = MillwrightMetrics()
        metrics.registry.makeCounter(
            descriptor: .init(metricName: "millwright_dead_letters_total", unitName: "", helpText: "Dead letters."),
            labels: [("reason", "MALFORMED_JSON"), ("topic", "erp.order-approved.v1")]
        ).increment(by: Int64(2))
        try await test(HealthSnapshot(masterData: loaded, workers: [worker("release")]), metrics: metrics) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
                let text = String(buffer: response.body)
                #expect(text.contains("millwright_dead_letters_total{reason=\"MALFORMED_JSON\",topic=\"erp.order-approved.v1\"} 2"))
                #expect(text.contains("millwright_master_data_records{topic=\"mdm.item.v1\"} 5"))
                #expect(text.contains("millwright_master_data_rejected_records 1"))
                #expect(text.contains("millwright_master_data_dead_letters_pending 1"))
                #expect(text.contains("millwright_ready 1"))
                #expect(text.contains("# TYPE process_resident_memory_bytes gauge"))
                #expect(text.contains("process_cpu_seconds_total "))
            }
        }
    }

    @Test("without metrics there is no /metrics route: 404")
    func noMetrics() async throws {
        try await test(HealthSnapshot(masterData: loaded, workers: [])) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .notFound)
            }
        }
    }
}
