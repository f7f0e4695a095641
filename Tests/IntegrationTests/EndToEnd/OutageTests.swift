import Foundation
import Kafka
import Manufacturing
import Ops
import Streams
import TestSupport
import Testing

@Suite("A worker process through a whole-cluster outage", .serialized)
struct OutageTests {
    @Test(
        "every broker down for 2 minutes mid-stream: the worker does not exit and stays live, says it cannot reach the cluster in readiness, and once the brokers are back is ready again with every event posted exactly once, sums exact"
    )
    func twoMinuteOutage() async throws {
        let e2e = try EndToEnd()
        try await e2e.send(try SampleData().masterData())
        let work = EndToEndTests.workload(workOrders: 24, eventsPerWorkOrder: 20)
        try await e2e.send(work.table)
        let worker = try e2e.worker("a", environment: EndToEndTests.underLoad)
        defer { worker.kill() }
        let half = work.events.count / 2
        try await e2e.send(Array(work.events[..<half]))
        let ready = try await e2e.eventually(timeout: .seconds(120)) { (try? await worker.get("/readyz"))?.status == 200 }
        #expect(ready, "ready before the outage:\n\(worker.output.suffix(3000))")

        let brokers: [Int32] = [1, 2, 3]
        for broker in brokers { try e2e.cluster.takeBrokerDown(broker) }
        let down = ContinuousClock.now
        var saidUnreachable = false
        var problems: [String] = []
        while ContinuousClock.now - down < .seconds(120) {
            if !worker.process.isRunning { break }
            if let readiness = try? await worker.get("/readyz"), readiness.status == 503, readiness.body.contains("cannot reach the Kafka cluster") {
                saidUnreachable = true
            }
            if let live = try? await worker.get("/healthz"), live.status != 200 { problems.append("not live: \(live.body)") }
            try await Task.sleep(for: .seconds(3))
        }
        #expect(worker.process.isRunning, "the worker did not exit during the outage:\n\(worker.output.suffix(4000))")
        #expect(saidUnreachable, "readiness said the cluster cannot be reached:\n\(worker.output.suffix(3000))")
        #expect(problems.isEmpty, "live all along: \(problems.prefix(3))")

        for broker in brokers { try e2e.cluster.bringBrokerUp(broker) }
        try await e2e.send(Array(work.events[half...]))
        let back = try await e2e.eventually(timeout: .seconds(180)) { (try? await worker.get("/readyz"))?.status == 200 }
        #expect(back, "ready again after the outage:\n\(worker.output.suffix(3000))")
        try await EndToEndTests.checkExactlyOnce(e2e, events: work.events.count, goodsReceipt: work.goodsReceipt, scrap: work.scrap) { worker.output }
        #expect(worker.process.isRunning)
    }
}
