import Foundation
import Manufacturing
import Streams

/// A plant network in a box: master data for three plants, then a continuous stream of CRM-led
/// orders approved by ERP, and the MES events of the work orders they release — completions lot
/// by lot and operation by operation, scrap, a few events later than the grace period, and a
/// sprinkle of what a real network also sends: orders that fail master-data checks, a completion
/// beyond the ordered quantity, events of work orders never released, and poison records.
///
/// Pure and deterministic: the same settings (seed and start) give the same records in the same
/// order, each with the simulated time it is due to be sent. ``PlantSimulator`` paces and sends
/// them; ``expected`` says what a worker must make of what was generated so far.
public struct PlantSimulation: Sendable {
    public struct Settings: Sendable, Hashable {
        public var seed: UInt64 = 42
        /// Simulated time of the first order, ms since the epoch.
        public var start: Int64
        /// Mean simulated time between two orders (ms).
        public var meanOrderGap: Double = 15_000
        /// Share of orders that fail a master-data check (obsolete BOM, inactive plant, unit).
        public var badOrderShare = 0.05
        /// Share of MES events sent later than window + grace (they become ADJUSTMENT postings).
        public var lateShare = 0.02
        /// Share of records followed by a poison copy (cut short: MALFORMED_JSON).
        public var poisonShare = 0.005
        /// Chance of scrap at one operation of one lot.
        public var scrapShare = 0.08
        /// Share of work orders whose last lot is over-reported (an OVER_CONFIRMATION).
        public var overDeliveryShare = 0.01
        /// Share of orders whose MES events name a work order never released.
        public var unknownWorkOrderShare = 0.005
        /// Stop making orders after this many (their MES events still come); nil: no end.
        public var orderLimit: Int?

        public init(seed: UInt64 = 42, start: Int64) {
            self.seed = seed
            self.start = start
        }
    }

    /// One record to send at a simulated time.
    public struct Event: Sendable {
        public enum Kind: Sendable, Hashable { case order, mes, poison }
        public var due: Int64
        public var kind: Kind
        public var record: OutputRecord
    }

    /// What a worker must produce from the events generated so far (once their windows closed).
    public struct Expected: Sendable, Hashable {
        public var orders = 0
        public var releases: [String: Int] = [:]
        /// The work orders released (whatever happens to them after).
        public var released: Set<String> = []
        /// Work orders MES reports on that were never released (their events are quarantined).
        public var unknownWorkOrders: Set<String> = []
        /// Order-approved inputs that fail a master-data check, by reason.
        public var quarantinedOrders: [String: Int] = [:]
        /// Goods receipt the postings must add up to, per released work order (over-deliveries excluded).
        public var goodsReceipt: [String: Double] = [:]
        public var scrap: [String: Double] = [:]
        public var overDeliveries: Set<String> = []
        public var unknownWorkOrderEvents = 0
        public var poison: [String: Int] = [:]
        public var lateEvents = 0
        public var mesEvents = 0
    }

    public let settings: Settings
    public private(set) var expected = Expected()
    private var random: SimulationRandom
    private var nextOrderAt: Int64
    private var sequence = 0
    /// Generated, waiting to be taken in due order (a binary heap on due time, then sequence).
    private var pending = EventHeap()
    private let orderBase: Int

    public init(settings: Settings) {
        self.settings = settings
        random = SimulationRandom(seed: settings.seed)
        nextOrderAt = settings.start
        var mix = SimulationRandom(seed: settings.seed ^ UInt64(bitPattern: settings.start))
        orderBase = Int(mix.next() % 9_000 + 1_000) * 1_000_000
    }

    // MARK: Master data

    public static let plants: [Plant] = [
        Plant(plantCode: "P100", name: "Stuttgart Assembly", timezone: "Europe/Berlin", status: .active),
        Plant(plantCode: "P200", name: "Brno Machining", timezone: "Europe/Prague", status: .active),
        Plant(plantCode: "P300", name: "Puebla Assembly", timezone: "America/Mexico_City", status: .inactive),
    ]

    static let items: [Item] = [
        Item(itemId: "GB-200", description: "Gearbox GB-200, 2-stage helical", baseUom: "EA", uomConversions: ["BOX": 4, "PAL": 48], status: .active),
        Item(itemId: "SH-210", description: "Input shaft SH-210", baseUom: "EA", uomConversions: ["BOX": 20], status: .active),
        Item(itemId: "GR-45", description: "Helical gear GR-45", baseUom: "EA", uomConversions: ["BOX": 50], status: .active),
        Item(itemId: "HS-200", description: "Housing HS-200", baseUom: "EA", uomConversions: [:], status: .active),
        Item(itemId: "BR-6204", description: "Bearing 6204", baseUom: "EA", uomConversions: ["BOX": 100], status: .active),
        Item(itemId: "OIL-VG220", description: "Gear oil VG 220", baseUom: "L", uomConversions: [:], status: .active),
        Item(itemId: "RM-BAR-42", description: "Bar 42CrMo4", baseUom: "KG", uomConversions: [:], status: .active),
    ]

    static let boms: [BillOfMaterials] = [
        BillOfMaterials(
            itemId: "GB-200", revision: "B", status: .released,
            components: [
                .init(itemId: "HS-200", qtyPer: 1, uom: "EA"), .init(itemId: "SH-210", qtyPer: 1, uom: "EA"),
                .init(itemId: "GR-45", qtyPer: 2, uom: "EA"), .init(itemId: "BR-6204", qtyPer: 4, uom: "EA"),
                .init(itemId: "OIL-VG220", qtyPer: 0.75, uom: "L"),
            ]),
        BillOfMaterials(itemId: "GB-200", revision: "A", status: .obsolete, components: [.init(itemId: "HS-200", qtyPer: 1, uom: "EA")]),
        BillOfMaterials(itemId: "SH-210", revision: "A", status: .released, components: [.init(itemId: "RM-BAR-42", qtyPer: 1.2, uom: "KG")]),
        BillOfMaterials(itemId: "GR-45", revision: "A", status: .released, components: [.init(itemId: "RM-BAR-42", qtyPer: 0.4, uom: "KG")]),
    ]

    static let routings: [Routing] = [
        Routing(
            itemId: "GB-200", plant: "P100",
            operations: [
                .init(operationSeq: 10, workCenter: "WC-MACH-01", description: "Machine housing bores"),
                .init(operationSeq: 20, workCenter: "WC-ASSY-02", description: "Assemble gear train"),
                .init(operationSeq: 30, workCenter: "WC-TEST-01", description: "Oil fill and run-in test"),
            ]),
        Routing(
            itemId: "SH-210", plant: "P100",
            operations: [
                .init(operationSeq: 10, workCenter: "WC-TURN-01", description: "Turn"),
                .init(operationSeq: 20, workCenter: "WC-GRND-01", description: "Grind bearing seats"),
                .init(operationSeq: 30, workCenter: "WC-QC-01", description: "Inspect"),
            ]),
        Routing(
            itemId: "SH-210", plant: "P200",
            operations: [
                .init(operationSeq: 10, workCenter: "WC-BRN-TURN", description: "Turn"),
                .init(operationSeq: 20, workCenter: "WC-BRN-GRND", description: "Grind"),
            ]),
        Routing(
            itemId: "GR-45", plant: "P200",
            operations: [
                .init(operationSeq: 10, workCenter: "WC-BRN-HOB", description: "Hob teeth"),
                .init(operationSeq: 20, workCenter: "WC-BRN-HT", description: "Case harden"),
                .init(operationSeq: 30, workCenter: "WC-BRN-GRND", description: "Grind teeth"),
                .init(operationSeq: 40, workCenter: "WC-BRN-QC", description: "Inspect"),
            ]),
    ]

    /// The three plants' master data (P300 inactive), keyed as the contract says, and one item
    /// record a master-data system gets wrong (a zero unit conversion) that the worker must refuse.
    public func masterData() -> [OutputRecord] {
        let at = Timestamp(milliseconds: settings.start)
        var n = 0
        func record<P: EventPayload>(_ topic: String, _ data: P, key: String) -> OutputRecord {
            n += 1
            return Envelope(
                eventId: eventId("mdm", n), correlationId: "mdm-sync-sim-\(settings.seed)", occurredAt: at, source: EventSource(system: "ERP"), data: data
            ).outputRecord(topic: topic, key: key, causationId: "simulator")
        }
        var records = Self.plants.map { record("mdm.plant.v1", $0, key: $0.key) }
        records += Self.items.map { record("mdm.item.v1", $0, key: $0.key) }
        records += Self.boms.map { record("mdm.bom.v1", $0, key: $0.key) }
        records += Self.routings.map { record("mdm.routing.v1", $0, key: $0.key) }
        let broken = Envelope(
            eventId: eventId("mdm", 0), correlationId: "mdm-sync-sim-\(settings.seed)", occurredAt: at, source: EventSource(system: "ERP"),
            data: Item(itemId: "CV-900", description: "Coupling (bad conversion)", baseUom: "EA", uomConversions: ["BOX": 7], status: .active)
        ).bytes
        let zero = String(decoding: broken, as: UTF8.self).replacingOccurrences(of: "\"BOX\":7", with: "\"BOX\":0")
        records.append(OutputRecord(topic: "mdm.item.v1", key: "CV-900", value: Array(zero.utf8)))
        return records
    }

    // MARK: The stream

    /// Every record due up to simulated `time`, in due order: orders are made as simulated time
    /// reaches them, each with its MES events scheduled ahead.
    public mutating func events(through time: Int64) -> [Event] {
        var events: [Event] = []
        while true {
            while moreOrders, nextOrderAt <= time, pending.peek.map({ $0.due > nextOrderAt }) ?? true {
                generateOrder(at: nextOrderAt)
                nextOrderAt += max(1, random.exponential(mean: settings.meanOrderGap))
            }
            guard let top = pending.peek, top.due <= time else { return events }
            events.append(pending.pop()!.event)
        }
    }

    /// With an order limit: every record still to come, in due order (the limit's orders are
    /// complete afterwards). Without one: what is scheduled now.
    public mutating func drain() -> [Event] {
        var events: [Event] = []
        while moreOrders {
            generateOrder(at: nextOrderAt)
            nextOrderAt += max(1, random.exponential(mean: settings.meanOrderGap))
        }
        while let entry = pending.pop() { events.append(entry.event) }
        return events
    }

    private var moreOrders: Bool { settings.orderLimit.map { expected.orders < $0 } ?? true }

    private struct Product {
        var item: String
        var plant: String
        var revision: String
        var uom: String
        var unitsPerUom: Double
        var operations: [Int]
        var workCenters: [String]
    }

    private static let products: [Product] = routings.map { routing in
        let revision = routing.itemId == "GB-200" ? "B" : "A"
        return Product(
            item: routing.itemId, plant: routing.plant, revision: revision, uom: "EA", unitsPerUom: 1,
            operations: routing.operations.map(\.operationSeq), workCenters: routing.operations.map(\.workCenter))
    }

    private mutating func generateOrder(at time: Int64) {
        expected.orders += 1
        let number = orderBase + expected.orders
        let orderId = String(number)
        let product = Self.products[Int(random.next() % UInt64(Self.products.count))]
        var plant = product.plant
        var revision = product.revision
        var uom = product.uom
        var quantity = Double(10 + Int(random.next() % 19) * 10)  // 10…190
        var failure: String?
        if random.chance(settings.badOrderShare) {
            switch random.next() % 3 {
            case 0:
                plant = "P300"
                failure = "INACTIVE_PLANT"
            case 1:
                if product.item == "GB-200" {
                    revision = "A"
                    failure = "OBSOLETE_BOM_REVISION"
                } else {
                    revision = "Z"
                    failure = "UNKNOWN_BOM_REVISION"
                }
            default:
                uom = "KG"
                failure = "UOM_NOT_CONVERTIBLE"
            }
        } else if product.item == "GB-200" && random.chance(0.2) {
            uom = "BOX"
            quantity = Double(1 + random.next() % 10)
        }
        let rush = random.chance(0.1)
        let order = OrderApproved(
            orderId: orderId, orderLine: 10, customerId: "C-\(10_000 + Int(random.next() % 500))", customerName: "Simulated customer",
            itemId: product.item, quantity: quantity, uom: uom, plant: plant, bomRevision: revision,
            dueDate: Timestamp(milliseconds: time + random.minutes(rush ? 120...360 : 480...2_880)), priority: rush ? .rush : .normal)
        let correlation = "crm-req-\(orderId)"
        let approval = Envelope(
            eventId: eventId("erp", number), correlationId: correlation, occurredAt: Timestamp(milliseconds: time),
            source: EventSource(system: "ERP", plant: plant), data: order)
        schedule(time, .order, approval.outputRecord(topic: Topics.orderApproved, key: orderId, causationId: correlation))
        if let failure {
            expected.quarantinedOrders[failure, default: 0] += 1
            return
        }
        expected.releases[plant, default: 0] += 1
        expected.released.insert(order.workOrderId)
        let units = quantity * (uom == "BOX" ? 4 : 1)
        let unknown = random.chance(settings.unknownWorkOrderShare)
        let workOrderId = unknown ? "WO-\(orderId)-99" : order.workOrderId
        if unknown { expected.unknownWorkOrders.insert(workOrderId) }
        shopFloor(workOrderId: workOrderId, product: product, units: units, released: time, correlation: "mes-\(order.workOrderId)", unknown: unknown)
    }

    /// The MES events of one work order: lots through each operation, with scrap.
    private mutating func shopFloor(workOrderId: String, product: Product, units: Double, released: Int64, correlation: String, unknown: Bool) {
        let lots = max(1, min(4, Int(units) / 25))
        let operationTime = random.minutes(6...20)
        var time = released + random.minutes(2...8)
        var remaining = units
        let over = !unknown && random.chance(settings.overDeliveryShare)
        var goodsReceipt = 0.0
        var scrapped = 0.0
        for lot in 0..<lots {
            var good = lot == lots - 1 ? remaining : (units / Double(lots)).rounded(.down)
            remaining -= good
            for (index, operation) in product.operations.enumerated() {
                let at = time + Int64(index) * operationTime + random.minutes(-0.016...0.016)
                let final = index == product.operations.count - 1
                if good > 1 && random.chance(settings.scrapShare) {
                    let scrap = Double(1 + random.next() % 2)
                    good -= scrap
                    scrapped += scrap
                    mes(
                        .scrap(
                            ScrapReported(
                                workOrderId: workOrderId, operationSeq: operation, plant: product.plant, scrapQty: scrap, uom: "EA",
                                reasonCode: ["DAMAGE", "DIMENSION", "SURFACE"][Int(random.next() % 3)], reportedAt: Timestamp(milliseconds: at - 30_000))),
                        correlation: correlation, unknown: unknown)
                }
                var reported = good
                // Over-reported: more than the tolerance (10 %) above the order, whatever the scrap.
                if final && over && lot == lots - 1 { reported += (units * 0.3).rounded(.up) + scrapped }
                mes(
                    .completed(
                        OperationCompleted(
                            workOrderId: workOrderId, operationSeq: operation, workCenter: product.workCenters[index], plant: product.plant,
                            goodQty: reported, uom: "EA", completedAt: Timestamp(milliseconds: at), final: final)),
                    correlation: correlation, unknown: unknown)
                if final { goodsReceipt += reported }
            }
            time += operationTime
        }
        guard !unknown else { return }
        if over {
            expected.overDeliveries.insert(workOrderId)
        } else {
            expected.goodsReceipt[workOrderId] = goodsReceipt
            expected.scrap[workOrderId] = scrapped
        }
    }

    private mutating func mes(_ event: ShopFloorEventKind, correlation: String, unknown: Bool) {
        sequence += 1
        let eventTime: Int64
        let record: OutputRecord
        switch event {
        case .completed(let c):
            eventTime = c.completedAt.milliseconds
            record = Envelope(
                eventId: eventId("mes", sequence), correlationId: correlation, occurredAt: c.completedAt, source: EventSource(system: "MES", plant: c.plant),
                data: c
            ).outputRecord(topic: Topics.operationCompleted, key: c.workOrderId, causationId: correlation)
        case .scrap(let s):
            eventTime = s.reportedAt.milliseconds
            record = Envelope(
                eventId: eventId("mes", sequence), correlationId: correlation, occurredAt: s.reportedAt, source: EventSource(system: "MES", plant: s.plant),
                data: s
            ).outputRecord(topic: Topics.scrapReported, key: s.workOrderId, causationId: correlation)
        }
        expected.mesEvents += 1
        if unknown { expected.unknownWorkOrderEvents += 1 }
        let late = !unknown && random.chance(settings.lateShare)
        if late { expected.lateEvents += 1 }
        schedule(eventTime + (late ? random.minutes(25...45) : random.minutes(0...0.05)), .mes, record)
    }

    private enum ShopFloorEventKind {
        case completed(OperationCompleted)
        case scrap(ScrapReported)
    }

    private mutating func schedule(_ due: Int64, _ kind: Event.Kind, _ record: OutputRecord) {
        pending.push(.init(due: due, sequence: nextSequence(), event: Event(due: due, kind: kind, record: record)))
        if random.chance(settings.poisonShare), let value = record.value {
            // A gateway that cut the record short: MALFORMED_JSON, dead-lettered with its bytes.
            let poison = OutputRecord(topic: record.topic, key: record.key, value: Array(value.prefix(value.count / 2)))
            expected.poison[record.topic, default: 0] += 1
            pending.push(.init(due: due, sequence: nextSequence(), event: Event(due: due, kind: .poison, record: poison)))
        }
    }

    private var scheduled = 0
    private mutating func nextSequence() -> Int {
        scheduled += 1
        return scheduled
    }

    private func eventId(_ system: String, _ n: Int) -> String { "sim-\(settings.seed)-\(system)-\(n)" }
}

/// A binary min-heap of scheduled events on (due, sequence): equal due times keep their order.
struct EventHeap: Sendable {
    struct Entry: Sendable {
        var due: Int64
        var sequence: Int
        var event: PlantSimulation.Event
    }

    private var entries: [Entry] = []
    var count: Int { entries.count }
    var peek: Entry? { entries.first }

    private static func before(_ a: Entry, _ b: Entry) -> Bool { a.due != b.due ? a.due < b.due : a.sequence < b.sequence }

    mutating func push(_ entry: Entry) {
        entries.append(entry)
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.before(entries[child], entries[parent]) else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Entry? {
        guard !entries.isEmpty else { return nil }
        entries.swapAt(0, entries.count - 1)
        let top = entries.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var first = parent
            if left < entries.count && Self.before(entries[left], entries[first]) { first = left }
            if right < entries.count && Self.before(entries[right], entries[first]) { first = right }
            guard first != parent else { return top }
            entries.swapAt(parent, first)
            parent = first
        }
    }
}
