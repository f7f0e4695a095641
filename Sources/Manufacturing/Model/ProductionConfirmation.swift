/// A buffered production posting for ERP (`erp.production-confirmation.v1`, key workOrderId).
public struct ProductionConfirmation: EventPayload, Hashable {
    public enum Kind: String, Sendable, CaseIterable {
        case window = "WINDOW"
        case milestone = "MILESTONE"
        case adjustment = "ADJUSTMENT"
    }
    public struct OperationTotal: Sendable, Hashable {
        public var operationSeq: Int
        public var goodQty: Double
        public var scrapQty: Double
    }
    public struct Material: Sendable, Hashable {
        public var itemId: String
        public var qty: Double
        public var uom: String
    }
    public static let schema = "erp.production-confirmation"

    /// `<workOrderId>:<windowStart>` (WINDOW), `…:milestone`, `…:adj<n>`: the same posting always
    /// gets the same id, which is how ERP (and Millwright's ledger) recognise a repeat.
    public var postingId: String
    public var workOrderId: String
    public var orderId: String
    public var plant: String
    public var windowStart: Timestamp
    public var windowEnd: Timestamp
    public var kind: Kind
    /// Sum of goodQty of final-operation completions.
    public var goodsReceiptQty: Double
    /// Sum of all scrap.
    public var scrapQty: Double
    public var uom: String
    public var operations: [OperationTotal]
    /// qtyPer × (goodsReceiptQty + scrapQty) per BOM component.
    public var materialConsumption: [Material]
    public var eventCount: Int

    public init(
        postingId: String, workOrderId: String, orderId: String, plant: String, windowStart: Timestamp, windowEnd: Timestamp,
        kind: Kind, goodsReceiptQty: Double, scrapQty: Double, uom: String, operations: [OperationTotal],
        materialConsumption: [Material], eventCount: Int
    ) {
        self.postingId = postingId
        self.workOrderId = workOrderId
        self.orderId = orderId
        self.plant = plant
        self.windowStart = windowStart
        self.windowEnd = windowEnd
        self.kind = kind
        self.goodsReceiptQty = goodsReceiptQty
        self.scrapQty = scrapQty
        self.uom = uom
        self.operations = operations
        self.materialConsumption = materialConsumption
        self.eventCount = eventCount
    }

    public init(data: FieldReader, version: Int) throws(DecodingFailure) {
        postingId = try data.string("postingId")
        workOrderId = try data.string("workOrderId")
        orderId = try data.string("orderId")
        plant = try data.code("plant")
        windowStart = try data.timestamp("windowStart")
        windowEnd = try data.timestamp("windowEnd")
        kind = try data.value("kind", Kind.self)
        goodsReceiptQty = try data.quantity("goodsReceiptQty")
        scrapQty = try data.quantity("scrapQty")
        uom = try data.code("uom")
        var operations: [OperationTotal] = []
        for o in try data.objects("operations") {
            operations.append(
                OperationTotal(operationSeq: try o.int("operationSeq", minimum: 1), goodQty: try o.quantity("goodQty"), scrapQty: try o.quantity("scrapQty")))
        }
        self.operations = operations
        var materials: [Material] = []
        for m in try data.objects("materialConsumption") {
            materials.append(Material(itemId: try m.string("itemId"), qty: try m.quantity("qty"), uom: try m.code("uom")))
        }
        materialConsumption = materials
        eventCount = try data.int("eventCount", minimum: 0)
    }

    public var json: JSONValue {
        [
            "postingId": .string(postingId), "workOrderId": .string(workOrderId), "orderId": .string(orderId),
            "plant": .string(plant), "windowStart": .string(windowStart.rfc3339), "windowEnd": .string(windowEnd.rfc3339),
            "kind": .string(kind.rawValue), "goodsReceiptQty": .quantity(goodsReceiptQty), "scrapQty": .quantity(scrapQty),
            "uom": .string(uom),
            "operations": .array(
                operations.map {
                    ["operationSeq": .number(Double($0.operationSeq), isInteger: true), "goodQty": .quantity($0.goodQty), "scrapQty": .quantity($0.scrapQty)]
                }),
            "materialConsumption": .array(materialConsumption.map { ["itemId": .string($0.itemId), "qty": .quantity($0.qty), "uom": .string($0.uom)] }),
            "eventCount": .number(Double(eventCount), isInteger: true),
        ]
    }
}

extension ProductionConfirmation {
    /// The bytes of ``json``, written directly (one posting per window and work order).
    public func writeJSON(to out: inout JSONBytes) {
        out.beginObject()
        out.member("postingId", postingId)
        out.member("workOrderId", workOrderId)
        out.member("orderId", orderId)
        out.member("plant", plant)
        out.member("windowStart", timestamp: windowStart)
        out.member("windowEnd", timestamp: windowEnd)
        out.member("kind", kind.rawValue)
        out.member("goodsReceiptQty", quantity: goodsReceiptQty)
        out.member("scrapQty", quantity: scrapQty)
        out.member("uom", uom)
        out.key("operations")
        out.beginArray()
        for operation in operations {
            out.beginObject()
            out.member("operationSeq", integer: operation.operationSeq)
            out.member("goodQty", quantity: operation.goodQty)
            out.member("scrapQty", quantity: operation.scrapQty)
            out.endObject()
        }
        out.endArray()
        out.key("materialConsumption")
        out.beginArray()
        for material in materialConsumption {
            out.beginObject()
            out.member("itemId", material.itemId)
            out.member("qty", quantity: material.qty)
            out.member("uom", material.uom)
            out.endObject()
        }
        out.endArray()
        out.member("eventCount", integer: eventCount)
        out.endObject()
    }
}
