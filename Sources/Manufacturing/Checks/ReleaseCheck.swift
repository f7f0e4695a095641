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
        do throws(Failure) {
            _ = try plant(order.plant, masterData).get()
            let item = try self.item(order.itemId, masterData).get()
            let bom = try self.bom(itemId: order.itemId, revision: order.bomRevision, masterData).get()
            let routing = try self.routing(itemId: order.itemId, plant: order.plant, masterData).get()
            let factor = try baseQuantity(of: item, per: order.uom).get()
            return .success(ProductionRelease(order: order, item: item, bom: bom, routing: routing, baseQuantity: order.quantity * factor))
        } catch {
            return .failure(error)
        }
    }

    // MARK: One check each (the order API reports every one that fails)

    /// UNKNOWN_PLANT (also a code that cannot name a topic), INACTIVE_PLANT.
    public static func plant(_ code: String, _ masterData: some MasterDataLookup) -> Result<Plant, Failure> {
        guard let plant = masterData.plant(code), ProductionRelease.topic(forPlant: plant.plantCode) != nil else {
            return fail(.unknownPlant, "plant '\(code)' is not in master data (mdm.plant.v1)")
        }
        guard plant.status == .active else { return fail(.inactivePlant, "plant \(plant.plantCode) (\(plant.name)) is \(plant.status.rawValue)") }
        return .success(plant)
    }

    /// UNKNOWN_ITEM, INACTIVE_ITEM (INACTIVE or OBSOLETE).
    public static func item(_ itemId: String, _ masterData: some MasterDataLookup) -> Result<Item, Failure> {
        guard let item = masterData.item(itemId) else { return fail(.unknownItem, "item '\(itemId)' is not in master data (mdm.item.v1)") }
        guard item.status == .active else { return fail(.inactiveItem, "item \(item.itemId) is \(item.status.rawValue)") }
        return .success(item)
    }

    /// UNKNOWN_BOM_REVISION, OBSOLETE_BOM_REVISION.
    public static func bom(itemId: String, revision: String, _ masterData: some MasterDataLookup) -> Result<BillOfMaterials, Failure> {
        guard let bom = masterData.bom(itemId: itemId, revision: revision) else {
            return fail(.unknownBomRevision, "BOM \(itemId) revision '\(revision)' is not in master data (mdm.bom.v1)")
        }
        guard bom.status == .released else { return fail(.obsoleteBomRevision, "BOM \(itemId) revision \(bom.revision) is \(bom.status.rawValue)") }
        return .success(bom)
    }

    /// NO_ROUTING (none, or one without operations).
    public static func routing(itemId: String, plant: String, _ masterData: some MasterDataLookup) -> Result<Routing, Failure> {
        guard let routing = masterData.routing(itemId: itemId, plant: plant), !routing.operations.isEmpty else {
            return fail(.noRouting, "no routing for item \(itemId) in plant \(plant) (mdm.routing.v1)")
        }
        return .success(routing)
    }

    /// UOM_NOT_CONVERTIBLE; else how many of the item's base unit one `uom` is.
    public static func baseQuantity(of item: Item, per uom: String) -> Result<Double, Failure> {
        guard let factor = item.baseQuantity(per: uom) else {
            let known = ([item.baseUom] + item.uomConversions.keys.sorted()).joined(separator: ", ")
            return fail(.uomNotConvertible, "item \(item.itemId) cannot be counted in \(uom) (known: \(known))")
        }
        return .success(factor)
    }

    private static func fail<T>(_ reason: QuarantineReason, _ detail: String) -> Result<T, Failure> {
        .failure(Failure(reason: reason, detail: detail))
    }
}
