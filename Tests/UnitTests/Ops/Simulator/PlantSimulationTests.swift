import Foundation
import Manufacturing
import Ops
import Streams
import Testing

@Suite("The plant simulation: deterministic for a seed, valid events, its own account of what a worker must make of them")
struct PlantSimulationTests {
    static let start: Int64 = 1_796_385_600_000  // 2026-12-04T06:00:00Z

    static func settings(seed: UInt64 = 42, orders: Int = 300) -> PlantSimulation.Settings {
        var settings = PlantSimulation.Settings(seed: seed, start: start)
        settings.orderLimit = orders
        return settings
    }

    static func fingerprint(_ events: [PlantSimulation.Event]) -> [String] {
        events.map { event in
            let key = event.record.key.map { String(decoding: $0, as: UTF8.self) } ?? "-"
            let value = String(decoding: event.record.value ?? [], as: UTF8.self)
            return "\(event.due) \(event.record.topic) \(key) \(value)"
        }
    }

    @Test("the same seed and start give the same records in the same order, whether taken all at once or step by step; another seed gives others")
    func deterministic() {
        var a = PlantSimulation(settings: Self.settings())
        var b = PlantSimulation(settings: Self.settings())
        let all = a.drain()
        var stepped: [PlantSimulation.Event] = []
        var time = Self.start
        while stepped.count < all.count && time < Self.start + 86_400_000 {
            time += 37_000
            stepped += b.events(through: time)
        }
        stepped += b.drain()
        #expect(Self.fingerprint(all) == Self.fingerprint(stepped))
        #expect(a.expected == b.expected)
        #expect(a.masterData().map(\.value) == b.masterData().map(\.value))
        var c = PlantSimulation(settings: Self.settings(seed: 43))
        #expect(Self.fingerprint(c.drain()) != Self.fingerprint(all))
    }

    @Test("records come in due order; every order, completion and scrap report decodes under the contract except the poison copies, which are cut short")
    func validEvents() throws {
        var simulation = PlantSimulation(settings: Self.settings())
        let events = simulation.drain()
        #expect(zip(events, events.dropFirst()).allSatisfy { $0.due <= $1.due })
        var poison = 0
        for event in events {
            let value = event.record.value ?? []
            switch (event.kind, event.record.topic) {
            case (.poison, _):
                poison += 1
                #expect(throws: (any Error).self) { try JSONParser.parse(value) }
            case (.order, Topics.orderApproved):
                let order = try EventDecoder.decode(value, as: OrderApproved.self).get()
                #expect(event.record.key.map { String(decoding: $0, as: UTF8.self) } == order.data.orderId)
            case (.mes, Topics.operationCompleted):
                let c = try EventDecoder.decode(value, as: OperationCompleted.self).get()
                #expect(event.record.key.map { String(decoding: $0, as: UTF8.self) } == c.data.workOrderId)
                #expect(c.data.goodQty >= 0)
            case (.mes, Topics.scrapReported):
                let s = try EventDecoder.decode(value, as: ScrapReported.self).get()
                #expect(s.data.scrapQty > 0)
            default:
                Issue.record("unexpected \(event.kind) on \(event.record.topic)")
            }
        }
        let expected = simulation.expected
        #expect(poison == expected.poison.values.reduce(0, +))
        #expect(events.filter { $0.kind == .order }.count == 300 && expected.orders == 300)
        #expect(events.filter { $0.kind == .mes }.count == expected.mesEvents)
    }

    @Test(
        "the account adds up: every order is released or quarantined; goods receipt of a work order is its final operation's completions; every kind of trouble occurs in a long enough run"
    )
    func account() throws {
        var settings = Self.settings(orders: 2_000)
        settings.overDeliveryShare = 0.02
        var simulation = PlantSimulation(settings: settings)
        let events = simulation.drain()
        let expected = simulation.expected
        let released: Int = expected.releases.values.reduce(0, +)
        let quarantined: Int = expected.quarantinedOrders.values.reduce(0, +)
        #expect(released + quarantined == 2_000)
        #expect(Set(expected.releases.keys) == ["P100", "P200"], "P300 is inactive: its orders are quarantined")
        #expect(Set(expected.quarantinedOrders.keys).isSuperset(of: ["INACTIVE_PLANT", "UOM_NOT_CONVERTIBLE"]))
        #expect(!expected.overDeliveries.isEmpty && expected.unknownWorkOrderEvents > 0 && expected.lateEvents > 0)
        var finals: [String: Double] = [:]
        for event in events where event.kind == .mes && event.record.topic == Topics.operationCompleted {
            let c = try EventDecoder.decode(event.record.value ?? [], as: OperationCompleted.self).get().data
            if c.final { finals[c.workOrderId, default: 0] += c.goodQty }
        }
        for (workOrder, goodsReceipt) in expected.goodsReceipt { #expect(finals[workOrder] == goodsReceipt, "\(workOrder)") }
        let events1 = Double(events.count) / 2_000
        #expect(events1 > 8 && events1 < 14, "about PlantSimulator.Options.recordsPerOrder records an order (\(events1))")
    }

    @Test("master data: three plants (P300 inactive), items, BOMs, routings that decode, and one item record a worker must refuse")
    func masterData() throws {
        let records = PlantSimulation(settings: Self.settings()).masterData()
        let plants = try records.filter { $0.topic == "mdm.plant.v1" }.map { try EventDecoder.decode($0.value ?? [], as: Plant.self).get().data }
        #expect(plants.map(\.plantCode) == ["P100", "P200", "P300"] && plants.last?.status == .inactive)
        let items = records.filter { $0.topic == "mdm.item.v1" }
        let decoded = items.filter { (try? EventDecoder.decode($0.value ?? [], as: Item.self).get()) != nil }
        #expect(items.count == decoded.count + 1, "exactly one bad item record")
        let routings = try records.filter { $0.topic == "mdm.routing.v1" }.map { try EventDecoder.decode($0.value ?? [], as: Routing.self).get().data }
        #expect(routings.count == 4 && routings.allSatisfy { !$0.operations.isEmpty })
    }
}
