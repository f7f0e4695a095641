/// Read-only access to master data, as the processors and the checks see it.
///
/// - Important: Implementations are thread-safe and answer from local state (no I/O to Kafka);
///   callers must only judge orders once the source has caught up.
public protocol MasterDataLookup: Sendable {
    func plant(_ plantCode: String) -> Plant?
    func item(_ itemId: String) -> Item?
    func bom(itemId: String, revision: String) -> BillOfMaterials?
    func routing(itemId: String, plant: String) -> Routing?
}

/// Master data held in memory: for tests and the processor test driver.
public struct InMemoryMasterData: MasterDataLookup {
    public var plants: [String: Plant] = [:]
    public var items: [String: Item] = [:]
    public var boms: [String: BillOfMaterials] = [:]
    public var routings: [String: Routing] = [:]

    public init(plants: [Plant] = [], items: [Item] = [], boms: [BillOfMaterials] = [], routings: [Routing] = []) {
        for p in plants { self.plants[p.key] = p }
        for i in items { self.items[i.key] = i }
        for b in boms { self.boms[b.key] = b }
        for r in routings { self.routings[r.key] = r }
    }

    public func plant(_ plantCode: String) -> Plant? { plants[plantCode] }
    public func item(_ itemId: String) -> Item? { items[itemId] }
    public func bom(itemId: String, revision: String) -> BillOfMaterials? { boms[BillOfMaterials.key(itemId: itemId, revision: revision)] }
    public func routing(itemId: String, plant: String) -> Routing? { routings[Routing.key(itemId: itemId, plant: plant)] }
}
