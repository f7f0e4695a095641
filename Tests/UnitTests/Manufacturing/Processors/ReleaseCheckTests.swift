import Foundation
import Manufacturing
import TestSupport
import Testing

@Suite("Referential checks of approved orders (pure function)")
struct ReleaseCheckTests {
    static func order(plant: String = "P100", item: String = "GB-200", revision: String = "B", quantity: Double = 10, uom: String = "EA") -> OrderApproved {
        OrderApproved(
            orderId: "4711", orderLine: 10, customerId: "C-1", customerName: "Hofmann GmbH", itemId: item,
            quantity: quantity, uom: uom, plant: plant, bomRevision: revision,
            dueDate: try! Timestamp(rfc3339: "2026-12-11T15:00:00.000Z"))
    }

    @Test("the example order releases exactly as the release example says, without customer data")
    func releaseMatchesExample() throws {
        let masterData = try Examples.masterData()
        let order = try Examples.decode("erp.order-approved.v1", "valid-01-gb-200-120-ea.json", as: OrderApproved.self).data
        let release = try ReleaseCheck.evaluate(order, against: masterData).get()
        let expected = try Examples.decode("mes.P100.production-release.v1", "valid-01-wo-4500012345-10.json", as: ProductionRelease.self).data
        #expect(release == expected)
        #expect(release.workOrderId == "WO-4500012345-10")
        let text = JSONWriter.string(release.json)
        #expect(!text.contains("customer"), "no customerId or customerName in a release: \(text)")
        #expect(ProductionRelease.topic(forPlant: release.plant) == "mes.P100.production-release.v1")
    }

    @Test("the quantity is converted to the item's base unit")
    func uomConversion() throws {
        let masterData = try Examples.masterData()
        let order = try Examples.decode("erp.order-approved.v1", "valid-02-gb-200-5-box-rush.json", as: OrderApproved.self).data
        let release = try ReleaseCheck.evaluate(order, against: masterData).get()
        let expected = try Examples.decode("mes.P100.production-release.v1", "valid-02-wo-4500012346-20-converted-from-box.json", as: ProductionRelease.self)
            .data
        #expect(release == expected)
        #expect(release.uom == "EA")
        #expect(release.quantity == order.quantity * 4, "one BOX of GB-200 is 4 EA")
        let fractional = try ReleaseCheck.evaluate(Self.order(quantity: 2.5, uom: "BOX"), against: masterData).get()
        #expect(fractional.quantity == 10)
    }

    @Test("each quarantine reason, through the pure check function")
    func everyReason() throws {
        let base = try Examples.masterData()
        func reason(_ order: OrderApproved, _ change: (inout InMemoryMasterData) -> Void = { _ in }) -> QuarantineReason? {
            var masterData = base
            change(&masterData)
            if case .failure(let failure) = ReleaseCheck.evaluate(order, against: masterData) { return failure.reason }
            return nil
        }
        #expect(reason(Self.order()) == nil, "the base order releases")
        #expect(reason(Self.order(plant: "P999")) == .unknownPlant)
        #expect(reason(Self.order(plant: "P300")) == .inactivePlant, "P300 Puebla is INACTIVE in the examples")
        #expect(reason(Self.order(item: "XX-1")) == .unknownItem)
        #expect(reason(Self.order(item: "GB-100")) == .inactiveItem, "GB-100 is OBSOLETE in the examples")
        #expect(reason(Self.order()) { $0.items["GB-200"]?.status = .inactive } == .inactiveItem)
        #expect(reason(Self.order(revision: "C")) == .unknownBomRevision)
        #expect(reason(Self.order(revision: "A")) == .obsoleteBomRevision)
        #expect(reason(Self.order()) { $0.routings["GB-200:P100"] = nil } == .noRouting)
        #expect(reason(Self.order(plant: "P200")) == .noRouting, "GB-200 has no routing in P200")
        #expect(reason(Self.order(uom: "KG")) == .uomNotConvertible)
    }

    @Test("checks run in the contract's order: the first failing one is reported")
    func order() throws {
        let base = try Examples.masterData()
        // Everything is wrong: the plant check comes first.
        let all = ReleaseCheck.evaluate(Self.order(plant: "P300", item: "XX-1", revision: "Z", uom: "KG"), against: base)
        #expect(all.failure?.reason == .inactivePlant)
        // Item obsolete and BOM unknown and UoM wrong: the item check comes first.
        #expect(ReleaseCheck.evaluate(Self.order(item: "GB-100", revision: "Z", uom: "KG"), against: base).failure?.reason == .inactiveItem)
        // BOM obsolete and no routing: BOM first.
        var noRouting = base
        noRouting.routings["GB-200:P100"] = nil
        #expect(ReleaseCheck.evaluate(Self.order(revision: "A", uom: "KG"), against: noRouting).failure?.reason == .obsoleteBomRevision)
        // Every reason the check can give is in the contract's order.
        #expect(
            QuarantineReason.allCases.map(\.rawValue) == [
                "UNKNOWN_PLANT", "INACTIVE_PLANT", "UNKNOWN_ITEM", "INACTIVE_ITEM", "UNKNOWN_BOM_REVISION",
                "OBSOLETE_BOM_REVISION", "NO_ROUTING", "UOM_NOT_CONVERTIBLE", "UNKNOWN_WORK_ORDER", "OVER_CONFIRMATION",
                "WORK_ORDER_RETIRED",
            ])
    }

    @Test("a plant code that cannot be part of a topic name is never released to a topic")
    func unsafePlantCode() throws {
        var masterData = try Examples.masterData()
        masterData.plants["P1 00"] = Plant(plantCode: "P1 00", name: "Bad", timezone: "UTC", status: .active)
        let failure = ReleaseCheck.evaluate(Self.order(plant: "P1 00"), against: masterData).failure
        #expect(failure?.reason == .unknownPlant)
        #expect(ProductionRelease.topic(forPlant: "P.100") == nil)
    }

    @Test("the failure detail names the values involved")
    func details() throws {
        let failure = ReleaseCheck.evaluate(Self.order(uom: "KG"), against: try Examples.masterData()).failure
        #expect(failure?.detail.contains("GB-200") == true)
        #expect(failure?.detail.contains("KG") == true)
        #expect(failure?.detail.contains("BOX") == true, "lists the units it knows")
    }
}
