import Foundation
import Manufacturing
import Streams
import TestSupport

/// Builds MES events and work orders for the processor tests.
enum Shop {
    static let t0: Int64 = 1_795_766_400_000  // 2026-11-27T08:00:00.000Z, a window boundary

    static func minutes(_ m: Double) -> Int64 { t0 + Int64(m * 60_000) }

    static func workOrder(_ id: String = "WO-4711-10", ordered: Double = 100, due: Int64 = minutes(24 * 60)) -> WorkOrder {
        let release =
            #"{"workOrderId":"\#(id)","orderId":"4711","plant":"P100","itemId":"GB-200","orderedQty":\#(ordered),"uom":"EA","dueDate":"\#(Timestamp(milliseconds: due).rfc3339)","components":[{"itemId":"HS-200","qtyPer":1,"uom":"EA"},{"itemId":"OIL","qtyPer":0.5,"uom":"L"}],"finalOperationSeq":30}"#
        return WorkOrder(json: Array(release.utf8))!
    }

    static func envelope<P: EventPayload>(_ data: P, id: String, correlation: String = "crm-req-4711") -> [UInt8] {
        Envelope(
            eventId: id, correlationId: correlation, occurredAt: Timestamp(milliseconds: t0), source: EventSource(system: "MES", plant: "P100"), data: data
        ).bytes
    }

    /// A fresh event id (UUIDs: tests run in parallel).
    static func nextId() -> String { "ev-\(UUID().uuidString)" }

    static func completed(_ wo: String = "WO-4711-10", op: Int = 30, good: Double, at: Int64, final: Bool = true, id: String? = nil) -> (
        topic: String, key: String, value: [UInt8]
    ) {
        let event = OperationCompleted(
            workOrderId: wo, operationSeq: op, workCenter: "WC-\(op)", plant: "P100", goodQty: good, uom: "EA", completedAt: Timestamp(milliseconds: at),
            final: final)
        return (Topics.operationCompleted, wo, envelope(event, id: id ?? nextId()))
    }

    static func scrap(_ wo: String = "WO-4711-10", op: Int = 20, qty: Double, at: Int64, id: String? = nil) -> (topic: String, key: String, value: [UInt8]) {
        let event = ScrapReported(
            workOrderId: wo, operationSeq: op, plant: "P100", scrapQty: qty, uom: "EA", reasonCode: "DAMAGE", reportedAt: Timestamp(milliseconds: at))
        return (Topics.scrapReported, wo, envelope(event, id: id ?? nextId()))
    }

    static func driver(settings: ProcessingSettings = ProcessingSettings(), workOrders: [WorkOrder] = [workOrder()], wallClock: Int64 = minutes(0)) throws
        -> ProcessorTestDriver
    {
        let driver = ProcessorTestDriver(processor: ConfirmationProcessor(settings: settings), wallClock: wallClock, idleTimeout: settings.idleTimeout)
        for wo in workOrders {
            try driver.pipe(topic: Topics.workOrders, key: wo.workOrderId, value: envelope(wo, id: "work-order:\(wo.workOrderId)"))
        }
        return driver
    }

    static func postings(_ driver: ProcessorTestDriver) throws -> [ProductionConfirmation] {
        try driver.drainOutputs(topic: Topics.productionConfirmation).map { try EventDecoder.decode($0.value, as: ProductionConfirmation.self).get().data }
    }

    static func quarantines(_ driver: ProcessorTestDriver) throws -> [Quarantine] {
        try driver.drainOutputs(topic: Topics.quarantine).map { try EventDecoder.decode($0.value, as: Quarantine.self).get().data }
    }

    static func statuses(_ driver: ProcessorTestDriver) throws -> [OrderStatus] {
        try driver.drainOutputs(topic: Topics.erpOrderStatus).map { try EventDecoder.decode($0.value, as: OrderStatus.self).get().data }
    }
}

extension ProcessorTestDriver {
    func pipe(_ event: (topic: String, key: String, value: [UInt8])) throws {
        try pipe(topic: event.topic, key: event.key, value: event.value)
    }
}
