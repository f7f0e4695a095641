/// A work order released to a plant's MES (`mes.<plant>.production-release.v1`, key workOrderId).
/// Carries no customer data at all.
public struct ProductionRelease: EventPayload, Hashable {
    public struct Operation: Sendable, Hashable {
        public var operationSeq: Int
        public var workCenter: String
    }
    public static let schema = "mes.production-release"

    public var workOrderId: String
    public var orderId: String
    public var orderLine: Int
    public var itemId: String
    public var bomRevision: String
    /// In the item's base unit.
    public var quantity: Double
    /// The item's base unit.
    public var uom: String
    public var dueDate: Timestamp
    public var plant: String
    public var operations: [Operation]
    public var components: [BillOfMaterials.Component]

    public init(data: FieldReader, version: Int) throws(DecodingFailure) {
        workOrderId = try data.string("workOrderId")
        orderId = try data.string("orderId")
        orderLine = try data.int("orderLine", minimum: 1)
        itemId = try data.string("itemId")
        bomRevision = try data.string("bomRevision")
        quantity = try data.quantity("quantity")
        uom = try data.code("uom")
        dueDate = try data.timestamp("dueDate")
        plant = try data.code("plant")
        var operations: [Operation] = []
        for o in try data.objects("operations") {
            operations.append(Operation(operationSeq: try o.int("operationSeq", minimum: 1), workCenter: try o.string("workCenter")))
        }
        self.operations = operations
        var components: [BillOfMaterials.Component] = []
        for c in try data.objects("components") {
            components.append(.init(itemId: try c.string("itemId"), qtyPer: try c.quantity("qtyPer"), uom: try c.code("uom")))
        }
        self.components = components
    }

    init(order: OrderApproved, item: Item, bom: BillOfMaterials, routing: Routing, baseQuantity: Double) {
        workOrderId = order.workOrderId
        orderId = order.orderId
        orderLine = order.orderLine
        itemId = order.itemId
        bomRevision = bom.revision
        quantity = baseQuantity
        uom = item.baseUom
        dueDate = order.dueDate
        plant = order.plant
        operations = routing.operations.map { Operation(operationSeq: $0.operationSeq, workCenter: $0.workCenter) }
        components = bom.components
    }

    /// The topic of a plant's releases. Plant codes become part of a topic name, so only
    /// `A-Z a-z 0-9 _ -` are allowed; other codes get nil.
    public static func topic(forPlant plant: String) -> String? {
        guard !plant.isEmpty,
            plant.utf8.allSatisfy({ b in
                (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F || b == 0x2D
            })
        else { return nil }
        return "mes.\(plant).production-release.v1"
    }

    public var json: JSONValue {
        [
            "workOrderId": .string(workOrderId), "orderId": .string(orderId),
            "orderLine": .number(Double(orderLine), isInteger: true), "itemId": .string(itemId),
            "bomRevision": .string(bomRevision), "quantity": .quantity(quantity), "uom": .string(uom),
            "dueDate": .string(dueDate.rfc3339), "plant": .string(plant),
            "operations": .array(operations.map { ["operationSeq": .number(Double($0.operationSeq), isInteger: true), "workCenter": .string($0.workCenter)] }),
            "components": .array(components.map { ["itemId": .string($0.itemId), "qtyPer": .quantity($0.qtyPer), "uom": .string($0.uom)] }),
        ]
    }
}
