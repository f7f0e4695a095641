/// The referential checks of an approved order against master data, as one pure function.
public enum ReleaseCheck {
    /// Why an order cannot be released: the first failing check, in the contract's order.
    public struct Failure: Error, Sendable, Hashable, CustomStringConvertible {
        public var reason: QuarantineReason
        /// Human text naming the values involved.
        public var detail: String
        public var description: String { "\(reason.rawValue): \(detail)" }
    }

    /// Checks `order` against `masterData` in the contract's order — UNKNOWN_PLANT,
    /// INACTIVE_PLANT, UNKNOWN_ITEM, INACTIVE_ITEM, UNKNOWN_BOM_REVISION, OBSOLETE_BOM_REVISION,
    /// NO_ROUTING, UOM_NOT_CONVERTIBLE — and returns the release (quantity in the item's base
    /// unit, routing and BOM attached) or the first failure.
    public static func evaluate(_ order: OrderApproved, against masterData: some MasterDataLookup) -> Result<ProductionRelease, Failure> {
        func fail(_ reason: QuarantineReason, _ detail: String) -> Result<ProductionRelease, Failure> {
            .failure(Failure(reason: reason, detail: detail))
        }
        guard let plant = masterData.plant(order.plant), ProductionRelease.topic(forPlant: plant.plantCode) != nil else {
            return fail(.unknownPlant, "plant '\(order.plant)' is not in master data (mdm.plant.v1)")
        }
        guard plant.status == .active else {
            return fail(.inactivePlant, "plant \(plant.plantCode) (\(plant.name)) is \(plant.status.rawValue)")
        }
        guard let item = masterData.item(order.itemId) else {
            return fail(.unknownItem, "item '\(order.itemId)' is not in master data (mdm.item.v1)")
        }
        guard item.status == .active else {
            return fail(.inactiveItem, "item \(item.itemId) is \(item.status.rawValue)")
        }
        guard let bom = masterData.bom(itemId: order.itemId, revision: order.bomRevision) else {
            return fail(.unknownBomRevision, "BOM \(order.itemId) revision '\(order.bomRevision)' is not in master data (mdm.bom.v1)")
        }
        guard bom.status == .released else {
            return fail(.obsoleteBomRevision, "BOM \(order.itemId) revision \(bom.revision) is \(bom.status.rawValue)")
        }
        guard let routing = masterData.routing(itemId: order.itemId, plant: order.plant), !routing.operations.isEmpty else {
            return fail(.noRouting, "no routing for item \(order.itemId) in plant \(order.plant) (mdm.routing.v1)")
        }
        guard let factor = item.baseQuantity(per: order.uom) else {
            let known = ([item.baseUom] + item.uomConversions.keys.sorted()).joined(separator: ", ")
            return fail(.uomNotConvertible, "item \(item.itemId) cannot be counted in \(order.uom) (known: \(known))")
        }
        return .success(ProductionRelease(order: order, item: item, bom: bom, routing: routing, baseQuantity: order.quantity * factor))
    }
}
