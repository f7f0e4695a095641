import Foundation
import Manufacturing
import Streams

/// A seeded sample for `millwright dev` and the end-to-end tests: a plant's master data and
/// orders (from `topics/examples`), and shop-floor events for the work orders they release —
/// including input that must be quarantined or dead-lettered.
public struct SampleData: Sendable {
    /// The catalog, whose `examples` hold the master data and orders.
    public var catalog: CatalogFiles

    public init(catalog: CatalogFiles = .embedded) {
        self.catalog = catalog
    }

    /// Every valid master-data example, keyed by its natural key.
    public func masterData() throws -> [OutputRecord] {
        var records: [OutputRecord] = []
        func add<P: EventPayload>(_ topic: String, _ type: P.Type, key: (P) -> String) throws {
            for bytes in try files(topic, valid: true) {
                let event = try EventDecoder.decode(bytes, as: type).get()
                records.append(OutputRecord(topic: topic, key: key(event.data), value: bytes))
            }
        }
        try add("mdm.plant.v1", Plant.self) { $0.key }
        try add("mdm.item.v1", Item.self) { $0.key }
        try add("mdm.bom.v1", BillOfMaterials.self) { $0.key }
        try add("mdm.routing.v1", Routing.self) { $0.key }
        return records
    }

    /// The order examples: five valid ones (three release, two quarantine) and two poison ones.
    public func orders() throws -> [OutputRecord] {
        var records: [OutputRecord] = []
        for bytes in try files(Topics.orderApproved, valid: true) {
            let order = try EventDecoder.decode(bytes, as: OrderApproved.self).get()
            records.append(OutputRecord(topic: Topics.orderApproved, key: order.data.orderId, value: bytes))
        }
        for name in ["invalid-MALFORMED_JSON-truncated.json", "invalid-INVALID_FIELD-quantity-negative.json"] {
            let bytes = try file("examples/\(Topics.orderApproved)/\(name)")
            records.append(OutputRecord(topic: Topics.orderApproved, key: "poison-\(name)", value: bytes))
        }
        return records
    }

    /// Shop-floor events for the released work orders, 90 to 40 minutes before `now`
    /// (`main`), then (`closing`) one at `now` that moves stream time so their windows close and
    /// a scrap report later than the grace period: completions to the ordered quantity
    /// (milestones), scrap, an over-delivery (quarantine), an event of an unknown work order
    /// (quarantined after the parking timeout), a poison event and an adjustment whose scrap puts
    /// its order at risk (SCRAP_OVER_TOLERANCE). Send `closing`
    /// after `main` has been processed.
    public func shopFloor(now: Int64) -> (main: [OutputRecord], closing: [OutputRecord]) {
        var records: [OutputRecord] = []
        var n = 0
        func at(_ minutesBeforeNow: Double) -> Timestamp { Timestamp(milliseconds: now - Int64(minutesBeforeNow * 60_000)) }
        func completed(_ wo: String, _ op: Int, _ good: Double, _ minutes: Double, final: Bool) {
            n += 1
            let event = OperationCompleted(
                workOrderId: wo, operationSeq: op, workCenter: "WC-\(op)", plant: "P100", goodQty: good, uom: "EA", completedAt: at(minutes), final: final)
            records.append(
                Envelope(
                    eventId: "sample-mes-\(n)", correlationId: "mes-\(wo)", occurredAt: at(minutes), source: EventSource(system: "MES", plant: "P100"),
                    data: event
                )
                .outputRecord(topic: Topics.operationCompleted, key: wo, causationId: "sample", timestamp: at(minutes).milliseconds))
        }
        func scrap(_ wo: String, _ op: Int, _ qty: Double, _ minutes: Double) {
            n += 1
            let event = ScrapReported(workOrderId: wo, operationSeq: op, plant: "P100", scrapQty: qty, uom: "EA", reasonCode: "DAMAGE", reportedAt: at(minutes))
            records.append(
                Envelope(
                    eventId: "sample-mes-\(n)", correlationId: "mes-\(wo)", occurredAt: at(minutes), source: EventSource(system: "MES", plant: "P100"),
                    data: event
                )
                .outputRecord(topic: Topics.scrapReported, key: wo, causationId: "sample", timestamp: at(minutes).milliseconds))
        }
        let gearboxes = "WO-4500012345-10"  // 120 EA
        completed(gearboxes, 10, 120, 90, final: false)
        completed(gearboxes, 20, 117, 75, final: false)
        scrap(gearboxes, 20, 3, 74)
        completed(gearboxes, 30, 60, 60, final: true)
        completed(gearboxes, 30, 60, 50, final: true)  // reaches 120: milestone
        let rush = "WO-4500012346-20"  // 5 BOX = 20 EA
        completed(rush, 30, 20, 55, final: true)  // milestone
        let shafts = "WO-4500012351-30"  // 2 BOX = 40 EA
        completed(shafts, 30, 30, 80, final: true)
        completed(shafts, 30, 18, 45, final: true)  // 48 > 44: over-confirmation
        completed("WO-9999999999-1", 30, 5, 40, final: true)  // no such release
        records.append(OutputRecord(topic: Topics.scrapReported, key: "WO-4500012345-10", value: Array("{\"schema\": \"mes.scrap-reported\", ".utf8)))
        let main = records
        records = []
        completed(gearboxes, 10, 0, 0, final: false)  // now: stream time passes the windows
        scrap(rush, 20, 3, 85)  // later than the grace: an adjustment; 3 of 23 scrapped puts the order at risk
        return (main, records)
    }

    private func file(_ path: String) throws -> [UInt8] {
        guard let bytes = catalog.contents(path) else { throw MissingExample(path: path, catalog: catalog.origin) }
        return bytes
    }

    /// The example files of a topic, valid or invalid ones, in name order.
    private func files(_ topic: String, valid: Bool) throws -> [[UInt8]] {
        let folder = "examples/\(topic)"
        return try catalog.fileNames(in: folder).filter { $0.hasPrefix(valid ? "valid-" : "invalid-") }.map { try file("\(folder)/\($0)") }
    }

    struct MissingExample: Error, CustomStringConvertible {
        var path: String
        var catalog: String
        var description: String { "the catalog (\(catalog)) has no example \(path)" }
    }
}
