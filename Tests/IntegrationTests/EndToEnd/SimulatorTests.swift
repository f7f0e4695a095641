import Foundation
import Kafka
import Manufacturing
import Ops
import Streams
import TestSupport
import Testing

@Suite("The plant simulator through a worker, and the commands that start from any folder", .serialized)
struct SimulatorTests {
    @Test(
        "a simulated run through the in-process cluster and a worker: releases per plant, quarantines by reason, dead letters, and each work order's postings add up to what was simulated"
    )
    func simulatedRunAddsUp() async throws {
        let e2e = try EndToEnd()
        try e2e.cluster.createTopic("mes.P200.production-release.v1", partitions: 12, replicationFactor: 1)
        // Six hours ago, so every window has closed by the wall clock (the idle advance), with
        // more of each kind of trouble than the defaults give in 60 orders.
        var settings = PlantSimulation.Settings(seed: 7, start: Int64(Date().timeIntervalSince1970 * 1000) - 6 * 3_600_000)
        settings.orderLimit = 60
        settings.badOrderShare = 0.15
        settings.overDeliveryShare = 0.08
        settings.unknownWorkOrderShare = 0.05
        settings.poisonShare = 0.02
        var simulation = PlantSimulation(settings: settings)
        try await e2e.send(simulation.masterData())
        let worker = try e2e.worker("a", environment: ["MILLWRIGHT_PARKING_TIMEOUT": "20s"])
        defer { worker.kill() }
        let events = simulation.drain()
        try await e2e.send(events.map(\.record))
        let expected = simulation.expected
        #expect(!expected.overDeliveries.isEmpty && expected.unknownWorkOrderEvents > 0 && !expected.poison.isEmpty, "the run has each kind of trouble")

        let releaseTopics = ["mes.P100.production-release.v1", "mes.P200.production-release.v1"]
        let quarantinesWanted = expected.quarantinedOrders.values.reduce(0, +) + expected.unknownWorkOrderEvents + expected.overDeliveries.count
        let done = try await e2e.eventually(timeout: .seconds(120)) {
            let held = try await e2e.read([Topics.quarantine]).count
            let postings = try await e2e.read([Topics.productionConfirmation])
            let posted = Set(postings.compactMap(\.keyString))
            return held >= quarantinesWanted && expected.goodsReceipt.keys.allSatisfy(posted.contains)
        }
        #expect(done, "outputs arrived; worker log:\n\(worker.output.suffix(3000))")
        try await Task.sleep(for: .seconds(5))  // windows the idle advance closes last

        let batches = try await e2e.committedBatches()
        let releases = e2e.committed(try await e2e.read(releaseTopics), batches: batches)
        for plant in ["P100", "P200"] {
            #expect(releases.filter { $0.topic == "mes.\(plant).production-release.v1" }.count == expected.releases[plant] ?? 0, "releases to \(plant)")
        }
        let quarantines = try e2e.committed(try await e2e.read([Topics.quarantine]), batches: batches).map {
            try EventDecoder.decode($0.value, as: Quarantine.self).get().data
        }
        for (reason, count) in expected.quarantinedOrders {
            #expect(quarantines.filter { $0.reason.rawValue == reason }.count == count, "\(reason)")
        }
        #expect(quarantines.filter { $0.reason == .unknownWorkOrder }.count == expected.unknownWorkOrderEvents)
        let overConfirmed = Set(quarantines.filter { $0.reason == .overConfirmation }.compactMap { $0.original["data"]?["workOrderId"]?.stringValue })
        #expect(overConfirmed == expected.overDeliveries, "every over-reported work order has a posting held back, and only those")
        let letters = try await e2e.read([DeadLetter.topic])
        for (topic, count) in expected.poison {
            #expect(letters.filter { $0.headers.last(DeadLetter.HeaderName.originalTopic)?.stringValue == topic }.count == count, "poison on \(topic)")
        }

        var goodsReceipt: [String: Double] = [:]
        var scrap: [String: Double] = [:]
        var postingIds: [String] = []
        for message in e2e.committed(try await e2e.read([Topics.productionConfirmation]), batches: batches) {
            let posting = try EventDecoder.decode(message.value, as: ProductionConfirmation.self).get().data
            goodsReceipt[posting.workOrderId, default: 0] += posting.goodsReceiptQty
            scrap[posting.workOrderId, default: 0] += posting.scrapQty
            postingIds.append(posting.postingId)
        }
        #expect(Set(postingIds).count == postingIds.count, "no postingId twice")
        for (workOrder, quantity) in expected.goodsReceipt {
            #expect(goodsReceipt[workOrder] == quantity, "goods receipt of \(workOrder)")
            #expect(scrap[workOrder] ?? 0 == expected.scrap[workOrder] ?? 0, "scrap of \(workOrder)")
        }
        worker.terminate()
        #expect(worker.process.terminationStatus == 0)
    }

    @Test(
        "`millwright cluster` and `millwright dev` start from a folder that is not the repository: the catalog is in the binary; dev's summary shows the simulated plants' releases and postings, and it stops cleanly"
    )
    func startsFromAnyFolder() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(TestKafka.uniqueName("elsewhere")).path
        let cluster = try WorkerProcess(
            arguments: ["cluster", "--brokers", "1", "--group", "millwright,line-2"], directory: folder, name: "cluster", environment: [:])
        defer { cluster.kill() }
        let started = try await EndToEnd.poll(timeout: .seconds(30)) { cluster.output.contains("created ") }
        #expect(started && cluster.output.contains("millwright.work-orders.v1"), "cluster log:\n\(cluster.output)")
        for changelog in [
            "millwright.millwright.release.changelog.v1", "millwright.millwright.confirmation.changelog.v1", "millwright.line-2.release.changelog.v1",
            "millwright.line-2.confirmation.changelog.v1",
        ] {
            #expect(cluster.output.contains("\(changelog) (12 partitions)"), "each group's changelogs, with the catalog's partitions:\n\(cluster.output)")
        }
        cluster.terminate()
        #expect(cluster.process.terminationStatus == 0)

        let dev = try WorkerProcess(
            arguments: ["dev", "--duration", "40", "--speed", "120", "--rate", "80", "--http-port", "0"], directory: folder, name: "dev", environment: [:])
        defer { dev.kill() }
        let ended = try await EndToEnd.poll(timeout: .seconds(150)) { !dev.process.isRunning }
        #expect(ended, "dev stopped after its duration; log:\n\(dev.output.suffix(3000))")
        #expect(dev.process.terminationStatus == 0)
        let last = dev.output.components(separatedBy: "(end)").last ?? ""
        func count(_ label: String) -> Int {
            last.split(separator: "\n").first { $0.hasPrefix(label) }.flatMap { $0.dropFirst(label.count).split(separator: " ").first }.flatMap { Int($0) }
                ?? -1
        }
        #expect(count("releases to MES") > 0, "releases:\n\(last)")
        #expect(count("postings to ERP") > 0, "postings:\n\(last)")
        #expect(count("sent by the simulator") > 100)
        #expect(dev.output.contains("catalog built in"))
        // A clean stop logs no error: no client left to find the cluster gone.
        let afterEnd = dev.output.components(separatedBy: "(end)").dropFirst().joined()
        #expect(!afterEnd.contains("Connection refused"), "errors after the stop:\n\(afterEnd.suffix(2000))")
    }
}
