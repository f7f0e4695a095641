/// A master-data type: read from its kind's topic and kept by its natural key.
public protocol MasterDataPayload: EventPayload {
    /// Which kind this type is (its topic and table).
    static var kind: MasterDataKind { get }
    /// The natural key: the Kafka key of its records and the primary key of its row.
    var key: String { get }
}

extension Plant: MasterDataPayload {
    public static var kind: MasterDataKind { .plant }
}

extension Item: MasterDataPayload {
    public static var kind: MasterDataKind { .item }
}

extension BillOfMaterials: MasterDataPayload {
    public static var kind: MasterDataKind { .bom }
}

extension Routing: MasterDataPayload {
    public static var kind: MasterDataKind { .routing }
}
