/// The kinds of master data the cache keeps; each has a topic and a table.
public enum MasterDataKind: String, Sendable, CaseIterable, CustomStringConvertible {
    /// `mdm.plant.v1` → ``Plant``; `mdm.item.v1` → ``Item``; `mdm.bom.v1` → ``BillOfMaterials``;
    /// `mdm.routing.v1` → ``Routing``.
    case plant, item, bom, routing

    /// The topic records of this kind are read from.
    public var topic: String {
        switch self {
        case .plant: return MasterDataTopic.plant
        case .item: return MasterDataTopic.item
        case .bom: return MasterDataTopic.bom
        case .routing: return MasterDataTopic.routing
        }
    }

    /// The kind whose topic this is, or `nil` for any other topic.
    public init?(topic: String) {
        guard let kind = Self.allCases.first(where: { $0.topic == topic }) else { return nil }
        self = kind
    }

    /// The SQLite table of this kind: a fixed name, never taken from input.
    var table: String { rawValue }

    public var description: String { rawValue }
}
