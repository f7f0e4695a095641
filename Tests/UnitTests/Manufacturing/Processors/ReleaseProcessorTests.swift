import Foundation
import Manufacturing
import Streams
import TestSupport
import Testing

@Suite("Production release through the processor test driver")
struct ReleaseProcessorTests {
    static func driver(_ masterData: InMemoryMasterData) -> ProcessorTestDriver {
        ProcessorTestDriver(processor: ReleaseProcessor(masterData: masterData), wallClock: Shop.t0)
    }

    static func pipeExample(_ driver: ProcessorTestDriver, _ file: String) throws {
        try driver.pipe(
            topic: Topics.orderApproved, key: "order", value: try Examples.bytes(Topics.orderApproved, file), headers: [.init(key: "traceparent", value: "t-1")]
        )
    }

    @Test("a mixed batch: releases to the plant's topic, quarantines with the reason, dead letters for poison")
    func mixedBatch() throws {
        let driver = Self.driver(try Examples.masterData())
        var expected: [String: Int] = ["release": 0, "quarantine": 0, "dead": 0]
        for (file, label) in try Examples.expectations(Topics.orderApproved) {
            try Self.pipeExample(driver, file)
            if label != "valid" { expected["dead", default: 0] += 1 }
        }
        let releases = driver.drainOutputs(topic: "mes.P100.production-release.v1")
        let quarantines = try Shop.quarantines(driver)
        let deadLetters = driver.drainOutputs(topic: DeadLetter.topic)
        let workOrders = driver.drainOutputs(topic: Topics.workOrders)
        #expect(releases.count == 3, "valid-01, -02 and -03 release")
        #expect(workOrders.count == releases.count, "each release is recorded for the confirmation side")
        #expect(quarantines.map(\.reason).sorted() == [.unknownBomRevision, .uomNotConvertible])
        #expect(deadLetters.count == expected["dead"])
        for release in releases {
            let text = String(decoding: release.value ?? [], as: UTF8.self)
            #expect(!text.contains("customer") && !text.contains("Hofmann"), "no customer data in a release")
            #expect(release.headers.contains { $0.key == "causation-id" })
        }
        let statuses = try Shop.statuses(driver)
        #expect(statuses.filter { $0.status == .released }.count == 3)
        #expect(statuses.filter { $0.status == .quarantined }.count == 2)
        #expect(statuses.filter { $0.status == .quarantined }.allSatisfy { $0.workOrderId == nil && $0.plant == nil })
    }

    @Test("the same order processed again (replay, or ERP resends) is never released twice")
    func neverTwice() throws {
        let driver = Self.driver(try Examples.masterData())
        try Self.pipeExample(driver, "valid-01-gb-200-120-ea.json")
        try Self.pipeExample(driver, "valid-01-gb-200-120-ea.json")
        #expect(driver.drainOutputs(topic: "mes.P100.production-release.v1").count == 1)
        // After a restart on the same store, too.
        let restarted = ProcessorTestDriver(processor: ReleaseProcessor(masterData: try Examples.masterData()), wallClock: Shop.t0, stores: driver.stores)
        try Self.pipeExample(restarted, "valid-01-gb-200-120-ea.json")
        #expect(restarted.drainOutputs(topic: "mes.P100.production-release.v1").isEmpty)
    }

    @Test("an order quarantined before a master-data fix is released when processed again")
    func quarantinedThenFixed() throws {
        var masterData = try Examples.masterData()
        let driver = Self.driver(masterData)
        try Self.pipeExample(driver, "valid-04-unknown-bom-revision-c.json")
        #expect(try Shop.quarantines(driver).map(\.reason) == [.unknownBomRevision])
        // ERP engineering releases revision C; the operator replays the order.
        let order = try Examples.decode(Topics.orderApproved, "valid-04-unknown-bom-revision-c.json", as: OrderApproved.self).data
        var bom = try #require(masterData.bom(itemId: order.itemId, revision: "B"))
        bom.revision = "C"
        masterData.boms[bom.key] = bom
        let fixed = ProcessorTestDriver(processor: ReleaseProcessor(masterData: masterData), wallClock: Shop.t0, stores: driver.stores)
        try Self.pipeExample(fixed, "valid-04-unknown-bom-revision-c.json")
        #expect(fixed.drainOutputs(topic: "mes.\(order.plant).production-release.v1").count == 1)
    }

    @Test("input read again (crash before the group commit, or a replay) publishes no second dead letter or quarantine; a fixed order is released")
    func readAgain() throws {
        var masterData = try Examples.masterData()
        let driver = Self.driver(masterData)
        let poison = StreamRecord(topic: Topics.orderApproved, partition: 0, offset: 0, key: Array("order".utf8), value: Array("{not json".utf8))
        let unknownRevision = StreamRecord(
            topic: Topics.orderApproved, partition: 0, offset: 1, key: Array("order".utf8),
            value: try Examples.bytes(Topics.orderApproved, "valid-04-unknown-bom-revision-c.json"))
        try driver.pipe(poison)
        try driver.pipe(unknownRevision)
        #expect(driver.drainOutputs(topic: DeadLetter.topic).count == 1)
        #expect(try Shop.quarantines(driver).count == 1)
        _ = driver.drainOutputs()

        // The same offsets again, on the state the first pass committed.
        let again = ProcessorTestDriver(processor: ReleaseProcessor(masterData: masterData), wallClock: Shop.t0, stores: driver.stores)
        try again.pipe(poison)
        try again.pipe(unknownRevision)
        #expect(again.drainOutputs().isEmpty, "no second dead letter, quarantine or QUARANTINED status")

        // A new record at the next offset is processed as usual.
        try again.pipe(StreamRecord(topic: Topics.orderApproved, partition: 0, offset: 2, key: Array("order".utf8), value: Array("{still not json".utf8)))
        #expect(again.drainOutputs(topic: DeadLetter.topic).count == 1)

        // Master data fixed, the operator replays: the order is released now.
        let order = try Examples.decode(Topics.orderApproved, "valid-04-unknown-bom-revision-c.json", as: OrderApproved.self).data
        var bom = try #require(masterData.bom(itemId: order.itemId, revision: "B"))
        bom.revision = "C"
        masterData.boms[bom.key] = bom
        let fixed = ProcessorTestDriver(processor: ReleaseProcessor(masterData: masterData), wallClock: Shop.t0, stores: again.stores)
        try fixed.pipe(unknownRevision)
        #expect(fixed.drainOutputs(topic: "mes.\(order.plant).production-release.v1").count == 1)
    }

    @Test("every output of the processors validates against its JSON Schema")
    func outputsValidate() throws {
        let directory = try Examples.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var outputs: [OutputRecord] = []
        let release = Self.driver(try Examples.masterData())
        for (file, label) in try Examples.expectations(Topics.orderApproved) where label == "valid" { try Self.pipeExample(release, file) }
        outputs += release.drainOutputs()
        let confirmations = try Shop.driver(workOrders: [Shop.workOrder(ordered: 40, due: Shop.minutes(30))])
        try confirmations.pipe(Shop.completed(op: 10, good: 40, at: Shop.minutes(1), final: false))
        try confirmations.pipe(Shop.scrap(qty: 5, at: Shop.minutes(2)))
        try confirmations.pipe(Shop.completed(good: 30, at: Shop.minutes(3)))
        try confirmations.pipe(Shop.completed(op: 10, good: 1, at: Shop.minutes(40), final: false))
        try confirmations.pipe(Shop.completed(good: 20, at: Shop.minutes(41)))  // over tolerance
        try confirmations.pipe(Shop.scrap(qty: 1, at: Shop.minutes(4)))  // late: adjustment
        try confirmations.pipe(Shop.completed("WO-UNKNOWN-1", good: 1, at: Shop.minutes(42)))
        try confirmations.advanceWallClock(by: 3_600_000)
        outputs += confirmations.drainOutputs()
        var written = 0
        for (index, output) in outputs.enumerated() where output.topic != Topics.workOrders && output.topic != DeadLetter.topic {
            let schema = try #require(output.headers.last { $0.key == "schema" }?.stringValue)
            try Data(output.value ?? []).write(to: directory.appendingPathComponent("\(schema).v1.output-\(index).json"))
            written += 1
        }
        let kinds = Set(outputs.compactMap { $0.headers.last { $0.key == "schema" }?.stringValue })
        #expect(kinds.isSuperset(of: ["mes.production-release", "ops.quarantine", "erp.order-status", "crm.order-status", "erp.production-confirmation"]))
        let (status, output) = try Examples.validateWithJSONSchema(directory)
        #expect(status == 0, "\(written) outputs; validator said:\n\(output.split(separator: "\n").filter { $0.contains("FAIL") }.joined(separator: "\n"))")
    }
}
