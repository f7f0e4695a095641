/// A released work order as the confirmation side keeps it (internal compacted topic
/// `millwright.work-orders.v1`, key workOrderId, co-partitioned with the MES topics).
public struct WorkOrder: EventPayload, Hashable {
    public static let schema = "millwright.work-order"

    public var workOrderId: String
    public var orderId: String
    public var plant: String
    public var itemId: String
    /// In the item's base unit.
    public var orderedQty: Double
    public var uom: String
    public var dueDate: Timestamp
    public var components: [BillOfMaterials.Component]
    public var finalOperationSeq: Int

    public init(release: ProductionRelease) {
        workOrderId = release.workOrderId
        orderId = release.orderId
        plant = release.plant
        itemId = release.itemId
        orderedQty = release.quantity
        uom = release.uom
        dueDate = release.dueDate
        components = release.components
        finalOperationSeq = release.operations.last?.operationSeq ?? 0
    }

    init(
        workOrderId: String, orderId: String, plant: String, itemId: String, orderedQty: Double, uom: String,
        dueDate: Timestamp, components: [BillOfMaterials.Component], finalOperationSeq: Int
    ) {
        self.workOrderId = workOrderId
        self.orderId = orderId
        self.plant = plant
        self.itemId = itemId
        self.orderedQty = orderedQty
        self.uom = uom
        self.dueDate = dueDate
        self.components = components
        self.finalOperationSeq = finalOperationSeq
    }

    public init(data: FieldReader, version: Int) throws(DecodingFailure) {
        workOrderId = try data.string("workOrderId")
        orderId = try data.string("orderId")
        plant = try data.code("plant")
        itemId = try data.string("itemId")
        orderedQty = try data.quantity("orderedQty")
        uom = try data.code("uom")
        dueDate = try data.timestamp("dueDate")
        var components: [BillOfMaterials.Component] = []
        for c in try data.objects("components") {
            components.append(.init(itemId: try c.string("itemId"), qtyPer: try c.quantity("qtyPer"), uom: try c.code("uom")))
        }
        self.components = components
        finalOperationSeq = try data.int("finalOperationSeq", minimum: 0)
    }

    /// Reads a work order from the bytes of its `json` (the form the confirmation store keeps);
    /// nil when they are not one.
    public init?(json bytes: [UInt8]) {
        guard case .object(let object)? = try? JSONParser.parse(bytes),
            let workOrder = try? WorkOrder(data: FieldReader(object, path: "data", reason: .invalidField), version: Self.currentVersion)
        else { return nil }
        self = workOrder
    }

    public var json: JSONValue {
        [
            "workOrderId": .string(workOrderId), "orderId": .string(orderId), "plant": .string(plant),
            "itemId": .string(itemId), "orderedQty": .quantity(orderedQty), "uom": .string(uom),
            "dueDate": .string(dueDate.rfc3339),
            "components": .array(components.map { ["itemId": .string($0.itemId), "qtyPer": .quantity($0.qtyPer), "uom": .string($0.uom)] }),
            "finalOperationSeq": .number(Double(finalOperationSeq), isInteger: true),
        ]
    }
}
