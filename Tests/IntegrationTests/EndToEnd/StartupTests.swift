import Foundation
import Kafka
import Manufacturing
import Ops
import Streams
import TestSupport
import Testing

@Suite("A worker started before its cluster answers", .serialized)
struct StartupTests {
    static func allBrokers(_ cluster: InProcessKafkaCluster, up: Bool) throws {
        for id in Int32(1)...3 {
            if up { try cluster.bringBrokerUp(id) } else { try cluster.takeBrokerDown(id) }
        }
    }

    @Test(
        "with every broker down at start the worker stays up, live and not ready, saying why and trying again; when the brokers come back it loads master data and releases orders"
    )
    func waitsForTheCluster() async throws {
        let e2e = try EndToEnd()
        try Self.allBrokers(e2e.cluster, up: false)
        let worker = try e2e.worker("a")
        defer { worker.kill() }
        let waiting = try await e2e.eventually(timeout: .seconds(90)) { worker.output.contains("cannot start loading master data; trying again") }
        #expect(waiting, "log:\n\(worker.output.suffix(3000))")
        #expect(worker.process.isRunning, "the worker did not exit")
        let ready = try await worker.get("/readyz")
        #expect(ready.status == 503 && ready.body.contains("trying again"), "readiness says why: \(ready.body)")
        #expect(try await worker.get("/healthz").status == 200, "live: restarting it would not help")

        try Self.allBrokers(e2e.cluster, up: true)
        let sample = SampleData()
        try await e2e.send(try sample.masterData())
        try await e2e.send(try sample.orders())
        let released = try await e2e.eventually(timeout: .seconds(120)) { try await e2e.read(["mes.P100.production-release.v1"]).count >= 3 }
        #expect(released, "log:\n\(worker.output.suffix(3000))")
        #expect(try await worker.get("/readyz").status == 200)
        worker.terminate()
        #expect(worker.process.terminationReason == .exit && worker.process.terminationStatus == 0)
    }

    @Test("SIGTERM while the worker waits for an unreachable cluster ends it cleanly (exit 0, `stopped`), not through the shutdown deadline or a crash")
    func stopsWhileWaiting() async throws {
        let e2e = try EndToEnd()
        try Self.allBrokers(e2e.cluster, up: false)
        // A shutdown deadline longer than the test waits: a stop that waits for it (a service
        // deaf to the shutdown while master data cannot start) fails the terminate below.
        let worker = try e2e.worker("a", environment: ["MILLWRIGHT_SHUTDOWN_TIMEOUT": "10m"])
        defer { worker.kill() }
        let waiting = try await e2e.eventually(timeout: .seconds(90)) { worker.output.contains("cannot start loading master data; trying again") }
        #expect(waiting, "log:\n\(worker.output.suffix(3000))")
        worker.terminate(timeout: .seconds(60))
        #expect(worker.process.terminationReason == .exit && worker.process.terminationStatus == 0, "log:\n\(worker.output.suffix(3000))")
        #expect(worker.output.contains("stopped"))
        #expect(!worker.output.contains("shutdown deadline passed") && !worker.output.contains("Fatal error"))
    }
}
