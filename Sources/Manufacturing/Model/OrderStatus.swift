/// An order's production status.
public enum OrderStatusCode: String, Sendable, CaseIterable {
    case released = "RELEASED"
    case inProduction = "IN_PRODUCTION"
    case completed = "COMPLETED"
    case quarantined = "QUARANTINED"
}

/// Why an order is at risk.
public enum RiskReason: String, Sendable, CaseIterable, Comparable {
    case scrapOverTolerance = "SCRAP_OVER_TOLERANCE"
    case late = "LATE"

    public static func < (lhs: RiskReason, rhs: RiskReason) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Order status for ERP (`erp.order-status.v1`, key orderId).
public struct OrderStatus: EventPayload, Hashable {
    public static let schema = "erp.order-status"

    /// Goods receipt as a whole percentage of the ordered quantity, at most 100.
    public static func progress(goodsReceipt: Double, ordered: Double) -> Double {
        ordered > 0 ? min(100, (goodsReceipt / ordered * 100).rounded()) : 0
    }

    public var orderId: String
    /// Absent while nothing was released.
    public var workOrderId: String?
    public var plant: String?
    public var status: OrderStatusCode
    public var orderedQty: Double
    public var goodsReceiptQty: Double
    public var scrapQty: Double
    public var progressPct: Double
    public var riskReasons: [RiskReason]
    public var dueDate: Timestamp
    public var updatedAt: Timestamp

    public var atRisk: Bool { !riskReasons.isEmpty }

    public init(
        orderId: String, workOrderId: String?, plant: String?, status: OrderStatusCode, orderedQty: Double,
        goodsReceiptQty: Double, scrapQty: Double, riskReasons: [RiskReason], dueDate: Timestamp, updatedAt: Timestamp
    ) {
        self.orderId = orderId
        self.workOrderId = workOrderId
        self.plant = plant
        self.status = status
        self.orderedQty = orderedQty
        self.goodsReceiptQty = goodsReceiptQty
        self.scrapQty = scrapQty
        self.progressPct = Self.progress(goodsReceipt: goodsReceiptQty, ordered: orderedQty)
        self.riskReasons = riskReasons.sorted()
        self.dueDate = dueDate
        self.updatedAt = updatedAt
    }

    public init(data: FieldReader, version: Int) throws(DecodingFailure) {
        orderId = try data.string("orderId")
        workOrderId = try data.optionalString("workOrderId")
        plant = try data.optionalString("plant")
        status = try data.value("status", OrderStatusCode.self)
        orderedQty = try data.quantity("orderedQty")
        goodsReceiptQty = try data.quantity("goodsReceiptQty")
        scrapQty = try data.quantity("scrapQty")
        progressPct = try data.quantity("progressPct")
        riskReasons = try Self.readRiskReasons(data)
        dueDate = try data.timestamp("dueDate")
        updatedAt = try data.timestamp("updatedAt")
    }

    static func readRiskReasons(_ data: FieldReader) throws(DecodingFailure) -> [RiskReason] {
        guard case .array(let values)? = data.object["riskReasons"] else { throw data.fail("riskReasons", "must be an array") }
        var reasons: [RiskReason] = []
        for value in values {
            guard case .string(let text) = value, let reason = RiskReason(rawValue: text) else {
                throw data.fail("riskReasons", "must hold SCRAP_OVER_TOLERANCE or LATE")
            }
            reasons.append(reason)
        }
        return reasons
    }

    /// The masked view for CRM: nothing internal.
    public var forCustomer: CustomerOrderStatus {
        CustomerOrderStatus(orderId: orderId, status: status, progressPct: progressPct, riskReasons: riskReasons, dueDate: dueDate, updatedAt: updatedAt)
    }

    public var json: JSONValue {
        var object = JSONObject([("orderId", .string(orderId))])
        if let workOrderId { object.set("workOrderId", .string(workOrderId)) }
        if let plant { object.set("plant", .string(plant)) }
        object.set("status", .string(status.rawValue))
        object.set("orderedQty", .quantity(orderedQty))
        object.set("goodsReceiptQty", .quantity(goodsReceiptQty))
        object.set("scrapQty", .quantity(scrapQty))
        object.set("progressPct", .quantity(progressPct))
        object.set("atRisk", .bool(atRisk))
        object.set("riskReasons", .array(riskReasons.map { .string($0.rawValue) }))
        object.set("dueDate", .string(dueDate.rfc3339))
        object.set("updatedAt", .string(updatedAt.rfc3339))
        return .object(object)
    }
}

/// Order status for CRM (`crm.order-status.v1`, key orderId): no work order, plant, work
/// center, scrap quantities or customer name.
public struct CustomerOrderStatus: EventPayload, Hashable {
    public static let schema = "crm.order-status"

    public var orderId: String
    public var status: OrderStatusCode
    public var progressPct: Double
    public var riskReasons: [RiskReason]
    public var dueDate: Timestamp
    public var updatedAt: Timestamp

    public var atRisk: Bool { !riskReasons.isEmpty }

    init(orderId: String, status: OrderStatusCode, progressPct: Double, riskReasons: [RiskReason], dueDate: Timestamp, updatedAt: Timestamp) {
        self.orderId = orderId
        self.status = status
        self.progressPct = progressPct
        self.riskReasons = riskReasons
        self.dueDate = dueDate
        self.updatedAt = updatedAt
    }

    public init(data: FieldReader, version: Int) throws(DecodingFailure) {
        orderId = try data.string("orderId")
        status = try data.value("status", OrderStatusCode.self)
        progressPct = try data.quantity("progressPct")
        riskReasons = try OrderStatus.readRiskReasons(data)
        dueDate = try data.timestamp("dueDate")
        updatedAt = try data.timestamp("updatedAt")
    }

    public var json: JSONValue {
        [
            "orderId": .string(orderId), "status": .string(status.rawValue), "progressPct": .quantity(progressPct),
            "atRisk": .bool(atRisk), "riskReasons": .array(riskReasons.map { .string($0.rawValue) }),
            "dueDate": .string(dueDate.rfc3339), "updatedAt": .string(updatedAt.rfc3339),
        ]
    }
}

extension OrderStatus {
    /// The bytes of ``json``, written directly (two status events go with every posting).
    public func writeJSON(to out: inout JSONBytes) {
        out.beginObject()
        out.member("orderId", orderId)
        if let workOrderId { out.member("workOrderId", workOrderId) }
        if let plant { out.member("plant", plant) }
        out.member("status", status.rawValue)
        out.member("orderedQty", quantity: orderedQty)
        out.member("goodsReceiptQty", quantity: goodsReceiptQty)
        out.member("scrapQty", quantity: scrapQty)
        out.member("progressPct", quantity: progressPct)
        out.statusEnd(riskReasons: riskReasons, dueDate: dueDate, updatedAt: updatedAt)
    }
}

extension CustomerOrderStatus {
    /// The bytes of ``json``, written directly.
    public func writeJSON(to out: inout JSONBytes) {
        out.beginObject()
        out.member("orderId", orderId)
        out.member("status", status.rawValue)
        out.member("progressPct", quantity: progressPct)
        out.statusEnd(riskReasons: riskReasons, dueDate: dueDate, updatedAt: updatedAt)
    }
}

extension JSONBytes {
    /// The members ERP's and CRM's status events end with, and the end of the object.
    fileprivate mutating func statusEnd(riskReasons: [RiskReason], dueDate: Timestamp, updatedAt: Timestamp) {
        member("atRisk", bool: !riskReasons.isEmpty)
        key("riskReasons")
        beginArray()
        for reason in riskReasons { string(reason.rawValue) }
        endArray()
        member("dueDate", timestamp: dueDate)
        member("updatedAt", timestamp: updatedAt)
        endObject()
    }
}
