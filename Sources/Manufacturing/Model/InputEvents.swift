/// An approved ERP order line (`erp.order-approved.v1`, key orderId).
public struct OrderApproved: EventPayload, Hashable {
    public enum Priority: String, Sendable, CaseIterable {
        case normal = "NORMAL"
        case rush = "RUSH"
    }
    public static let schema = "erp.order-approved"

    public var orderId: String
    public var orderLine: Int
    public var customerId: String
    /// Personal data: never leaves for MES.
    public var customerName: String
    public var itemId: String
    public var quantity: Double
    public var uom: String
    public var plant: String
    public var bomRevision: String
    public var dueDate: Timestamp
    public var priority: Priority?

    public init(
        orderId: String, orderLine: Int, customerId: String, customerName: String, itemId: String, quantity: Double,
        uom: String, plant: String, bomRevision: String, dueDate: Timestamp, priority: Priority? = nil
    ) {
        self.orderId = orderId
        self.orderLine = orderLine
        self.customerId = customerId
        self.customerName = customerName
        self.itemId = itemId
        self.quantity = quantity
        self.uom = uom
        self.plant = plant
        self.bomRevision = bomRevision
        self.dueDate = dueDate
        self.priority = priority
    }

    public init(data: FieldReader, version: Int) throws(DecodingFailure) {
        orderId = try data.string("orderId")
        orderLine = try data.int("orderLine", minimum: 1)
        customerId = try data.string("customerId")
        customerName = try data.string("customerName")
        itemId = try data.string("itemId")
        quantity = try data.quantity("quantity", maximum: FieldReader.maxQuantity)
        uom = try data.code("uom")
        plant = try data.code("plant")
        bomRevision = try data.string("bomRevision")
        dueDate = try data.timestamp("dueDate")
        priority = try data.optionalValue("priority", Priority.self)
    }

    /// `WO-<orderId>-<orderLine>`.
    public var workOrderId: String { "WO-\(orderId)-\(orderLine)" }

    public var json: JSONValue {
        var object: JSONObject = JSONObject([
            ("orderId", .string(orderId)), ("orderLine", .number(Double(orderLine), isInteger: true)),
            ("customerId", .string(customerId)), ("customerName", .string(customerName)), ("itemId", .string(itemId)),
            ("quantity", .quantity(quantity)), ("uom", .string(uom)), ("plant", .string(plant)),
            ("bomRevision", .string(bomRevision)), ("dueDate", .string(dueDate.rfc3339)),
        ])
        if let priority { object.set("priority", .string(priority.rawValue)) }
        return .object(object)
    }
}

/// A finished operation reported by MES (`mes.operation-completed.v1`, key workOrderId).
public struct OperationCompleted: EventPayload, Hashable {
    public static let schema = "mes.operation-completed"

    public var workOrderId: String
    public var operationSeq: Int
    public var workCenter: String
    public var plant: String
    public var goodQty: Double
    public var uom: String
    /// Event time.
    public var completedAt: Timestamp
    /// This is the routing's final operation.
    public var final: Bool

    public init(
        workOrderId: String, operationSeq: Int, workCenter: String, plant: String, goodQty: Double, uom: String,
        completedAt: Timestamp, final: Bool
    ) {
        self.workOrderId = workOrderId
        self.operationSeq = operationSeq
        self.workCenter = workCenter
        self.plant = plant
        self.goodQty = goodQty
        self.uom = uom
        self.completedAt = completedAt
        self.final = final
    }

    public init(data: FieldReader, version: Int) throws(DecodingFailure) {
        workOrderId = try data.string("workOrderId")
        operationSeq = try data.int("operationSeq", minimum: 1)
        workCenter = try data.string("workCenter")
        plant = try data.code("plant")
        goodQty = try data.quantity("goodQty", maximum: FieldReader.maxQuantity)
        uom = try data.code("uom")
        completedAt = try data.timestamp("completedAt")
        final = try data.bool("final")
    }

    public var json: JSONValue {
        [
            "workOrderId": .string(workOrderId), "operationSeq": .number(Double(operationSeq), isInteger: true),
            "workCenter": .string(workCenter), "plant": .string(plant), "goodQty": .quantity(goodQty),
            "uom": .string(uom), "completedAt": .string(completedAt.rfc3339), "final": .bool(final),
        ]
    }
}

/// Scrap reported by MES (`mes.scrap-reported.v1`, key workOrderId).
public struct ScrapReported: EventPayload, Hashable {
    public static let schema = "mes.scrap-reported"

    public var workOrderId: String
    public var operationSeq: Int
    public var plant: String
    public var scrapQty: Double
    public var uom: String
    public var reasonCode: String
    /// Event time.
    public var reportedAt: Timestamp

    public init(
        workOrderId: String, operationSeq: Int, plant: String, scrapQty: Double, uom: String, reasonCode: String,
        reportedAt: Timestamp
    ) {
        self.workOrderId = workOrderId
        self.operationSeq = operationSeq
        self.plant = plant
        self.scrapQty = scrapQty
        self.uom = uom
        self.reasonCode = reasonCode
        self.reportedAt = reportedAt
    }

    public init(data: FieldReader, version: Int) throws(DecodingFailure) {
        workOrderId = try data.string("workOrderId")
        operationSeq = try data.int("operationSeq", minimum: 1)
        plant = try data.code("plant")
        scrapQty = try data.quantity("scrapQty", maximum: FieldReader.maxQuantity)
        uom = try data.code("uom")
        reasonCode = try data.string("reasonCode")
        reportedAt = try data.timestamp("reportedAt")
    }

    public var json: JSONValue {
        [
            "workOrderId": .string(workOrderId), "operationSeq": .number(Double(operationSeq), isInteger: true),
            "plant": .string(plant), "scrapQty": .quantity(scrapQty), "uom": .string(uom),
            "reasonCode": .string(reasonCode), "reportedAt": .string(reportedAt.rfc3339),
        ]
    }
}
