/// The master-data topics of the contract: compacted, keyed by the natural key, a null value is a
/// tombstone (delete).
public enum MasterDataTopic {
    /// Plants, key `plantCode`.
    public static let plant = "mdm.plant.v1"
    /// Items, key `itemId`.
    public static let item = "mdm.item.v1"
    /// Bills of materials, key `itemId:revision`.
    public static let bom = "mdm.bom.v1"
    /// Routings, key `itemId:plant`.
    public static let routing = "mdm.routing.v1"
    /// All four, in the order of ``MasterDataKind/allCases``.
    public static let all = [plant, item, bom, routing]
}
