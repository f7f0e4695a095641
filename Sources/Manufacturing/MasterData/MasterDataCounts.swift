/// How many rows the master-data store holds.
public struct MasterDataCounts: Sendable, Hashable, CustomStringConvertible {
    /// Rows of `plant`.
    public var plants: Int
    /// Rows of `item`.
    public var items: Int
    /// Rows of `bom`.
    public var boms: Int
    /// Rows of `routing`.
    public var routings: Int
    /// Records that were not applied (see ``MasterDataRejection``).
    public var rejected: Int
    /// Rejected records whose dead letter the cluster has not acknowledged yet.
    public var pendingDeadLetters: Int

    /// Counts, 0 where not given.
    public init(plants: Int = 0, items: Int = 0, boms: Int = 0, routings: Int = 0, rejected: Int = 0, pendingDeadLetters: Int = 0) {
        self.plants = plants
        self.items = items
        self.boms = boms
        self.routings = routings
        self.rejected = rejected
        self.pendingDeadLetters = pendingDeadLetters
    }

    /// The rows of one kind.
    public subscript(kind: MasterDataKind) -> Int {
        get {
            switch kind {
            case .plant: return plants
            case .item: return items
            case .bom: return boms
            case .routing: return routings
            }
        }
        set {
            switch kind {
            case .plant: plants = newValue
            case .item: items = newValue
            case .bom: boms = newValue
            case .routing: routings = newValue
            }
        }
    }

    public var description: String {
        "plants \(plants), items \(items), boms \(boms), routings \(routings), rejected \(rejected), dead letters pending \(pendingDeadLetters)"
    }
}
