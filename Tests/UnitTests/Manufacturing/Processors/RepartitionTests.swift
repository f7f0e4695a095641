import Foundation
import Manufacturing
import Streams
import TestSupport
import Testing

/// MES events on a partition whose task does not hold their work order (a producer with another
/// partitioner, another key, or none) through the processor test driver: two tasks of four
/// partitions, the repartition topic between them played by hand.
@Suite("Confirmation repartitioning through the processor test driver")
struct RepartitionTests {
    static let routing = KeyRouting(topic: "millwright.t.confirmation.repartition.v1", partitions: 4)

    /// A work order id whose owning task is `partition`.
    static func workOrder(ownedBy partition: Int32, _ n: Int = 0) -> String {
        (0...).lazy.map { "WO-R\($0)-10" }.filter { routing.owner(ofKey: $0) == partition }.dropFirst(n).first { _ in true }!
    }

    static func task(_ partition: Int32, workOrders: [String] = []) throws -> ProcessorTestDriver {
        var settings = ProcessingSettings()
        settings.parkingTimeout = 30_000
        let driver = ProcessorTestDriver(
            processor: ConfirmationProcessor(settings: settings), partition: partition, wallClock: Shop.minutes(0), routing: routing)
        for id in workOrders {
            try driver.pipe(topic: Topics.workOrders, key: id, value: Shop.envelope(Shop.workOrder(id, ordered: 10), id: "work-order:\(id)"))
        }
        _ = driver.drainOutputs()
        return driver
    }

    /// The forwarded output as the owning task reads it from the repartition topic.
    static func read(_ output: OutputRecord, offset: Int64) -> StreamRecord {
        StreamRecord(
            topic: output.topic, partition: output.partition ?? -1, offset: offset, key: output.key, value: output.value, headers: output.headers,
            timestamp: output.timestamp)
    }

    @Test(
        "an event on another task's partition is forwarded once, unchanged, keyed and partitioned by its work order, whatever its own key; the owner posts it and names where it was produced"
    )
    func forwardedToOwner() throws {
        let id = Self.workOrder(ownedBy: 2)
        let wrong = try Self.task(0)
        let event = Shop.completed(id, good: 10, at: Shop.minutes(1))
        let input = StreamRecord(
            topic: event.topic, partition: 0, offset: 41, key: nil, value: event.value, headers: [.init(key: "correlationId", value: "c-9")],
            timestamp: Shop.minutes(1))
        try wrong.pipe(input)
        let forwarded = wrong.drainOutputs()
        #expect(forwarded.count == 1, "only the forwarded copy: no posting, no status, no quarantine")
        guard let copy = forwarded.first else { return }
        #expect(copy.topic == Self.routing.topic && copy.partition == 2 && copy.key == Array(id.utf8))
        #expect(copy.value == event.value, "the event's bytes are unchanged")
        #expect(copy.timestamp == Shop.minutes(1))
        #expect(RecordOrigin(headers: copy.headers) == RecordOrigin(topic: Topics.operationCompleted, partition: 0, offset: 41))
        #expect(copy.headers.contains { $0.key == "correlationId" && $0.stringValue == "c-9" }, "the producer's headers go along")
        #expect(copy.tally?.name == "millwright_repartitioned_records_total" && copy.tally?.labels.first?.value == Topics.operationCompleted)

        // Read again (a replay, a restart before the group commit): not forwarded twice.
        try wrong.pipe(input)
        try wrong.advanceWallClock(by: 60_000)
        #expect(wrong.drainOutputs().isEmpty, "a record read again forwards nothing, and nothing was parked at the wrong task")

        let owner = try Self.task(2, workOrders: [id])
        try owner.pipe(Self.read(copy, offset: 0))
        let postings = try Shop.postings(owner)
        #expect(postings.map(\.kind) == [.milestone] && postings.first?.goodsReceiptQty == 10)
    }

    @Test("a second copy of a forwarded event (an aborted forwarding the cluster still showed) changes nothing")
    func secondCopySkipped() throws {
        let id = Self.workOrder(ownedBy: 1)
        let wrong = try Self.task(3)
        try wrong.pipe(Shop.scrap(id, qty: 2, at: Shop.minutes(1)))
        try wrong.pipe(Shop.completed(id, op: 10, good: 4, at: Shop.minutes(2), final: false))
        let copies = wrong.drainOutputs()
        #expect(copies.count == 2)
        let owner = try Self.task(1, workOrders: [id])
        for (offset, copy) in (copies + copies).enumerated() { try owner.pipe(Self.read(copy, offset: Int64(offset))) }
        try owner.pipe(Shop.completed(id, op: 10, good: 1, at: Shop.minutes(40), final: false))  // closes the first window
        let postings = try Shop.postings(owner)
        #expect(postings.count == 1)
        #expect(postings.first?.eventCount == 2 && postings.first?.scrapQty == 2 && postings.first?.operations.first?.goodQty == 4)
    }

    @Test(
        "a forwarded event whose work order never comes is quarantined by its owner as UNKNOWN_WORK_ORDER, naming the topic, partition and offset it was produced at"
    )
    func forwardedUnknownQuarantined() throws {
        let id = Self.workOrder(ownedBy: 3)
        let wrong = try Self.task(0)
        try wrong.pipe(
            StreamRecord(
                topic: Topics.operationCompleted, partition: 0, offset: 7, key: Array("other-key".utf8),
                value: Shop.completed(id, good: 1, at: Shop.minutes(1)).value))
        let copy = try #require(wrong.drainOutputs().first)
        let owner = try Self.task(3)
        try owner.pipe(Self.read(copy, offset: 0))
        try owner.advanceWallClock(by: 31_000)
        let held = try Shop.quarantines(owner)
        #expect(held.map(\.reason) == [.unknownWorkOrder])
        #expect(held.first?.originalTopic == Topics.operationCompleted && held.first?.originalPartition == 0 && held.first?.originalOffset == 7)
    }

    @Test("an event already on its work order's partition takes the direct path; a processor without routing takes every record where it is")
    func directPath() throws {
        let id = Self.workOrder(ownedBy: 1)
        let right = try Self.task(1, workOrders: [id])
        try right.pipe(Shop.completed(id, good: 10, at: Shop.minutes(1)))
        let outputs = right.drainOutputs()
        #expect(!outputs.contains { $0.topic == Self.routing.topic })
        #expect(outputs.contains { $0.topic == Topics.productionConfirmation })

        let other = Self.workOrder(ownedBy: 2)
        let unrouted = try Shop.driver(workOrders: [Shop.workOrder(other, ordered: 10)])
        try unrouted.pipe(Shop.completed(other, good: 10, at: Shop.minutes(1)))
        #expect(try Shop.postings(unrouted).count == 1, "without routing (a single-partition test, a processor not repartitioned) nothing is forwarded")
    }
}
