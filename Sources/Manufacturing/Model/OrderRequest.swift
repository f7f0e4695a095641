/// An order request from CRM, accepted by the order API (`crm.order-request.v1`, key orderId): the
/// fields ERP needs to approve it as an `erp.order-approved.v1` order line.
///
/// ``validate(_:)`` is the canonical model's rule for a request: every problem, each naming its
/// field and rule, not only the first. The normalised request trims identifiers and upper-cases
/// the codes (`uom`, `plant`).
public struct OrderRequest: EventPayload, Hashable {
    public static let schema = "crm.order-request"
    /// The longest identifier (orderId, customerId, itemId, uom, bomRevision, plant).
    public static let maxIdentifierLength = 128
    /// The longest customer name.
    public static let maxNameLength = 256
    /// The highest order line.
    public static let maxOrderLine = 999_999

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
    public var priority: OrderApproved.Priority?

    public init(
        orderId: String, orderLine: Int, customerId: String, customerName: String, itemId: String, quantity: Double,
        uom: String, plant: String, bomRevision: String, dueDate: Timestamp, priority: OrderApproved.Priority? = nil
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
        switch Self.validate(data) {
        case .valid(let request): self = request
        case .invalid(let problems): throw problems[0]
        }
    }

    /// A request read: valid, or every problem found.
    public enum Validation: Sendable, Equatable {
        case valid(OrderRequest)
        case invalid([DecodingFailure])
    }

    /// Reads a request, collecting every problem (field, rule, reason `INVALID_FIELD`).
    public static func validate(_ data: FieldReader) -> Validation {
        var problems: [DecodingFailure] = []
        func read<T>(_ field: () throws(DecodingFailure) -> T) -> T? {
            do { return try field() } catch {
                problems.append(error)
                return nil
            }
        }
        func identifier(_ name: String, maximum: Int = maxIdentifierLength) -> String? {
            read { () throws(DecodingFailure) -> String in
                let text = try data.string(name)
                guard text.count <= maximum else { throw data.fail(name, "must be at most \(maximum) characters, found \(text.count)") }
                return text
            }
        }
        let orderId = identifier("orderId")
        let orderLine = read { () throws(DecodingFailure) -> Int in
            let line = try data.int("orderLine", minimum: 1)
            guard line <= maxOrderLine else { throw data.fail("orderLine", "must be ≤ \(maxOrderLine), found \(line)") }
            return line
        }
        let customerId = identifier("customerId")
        let customerName = identifier("customerName", maximum: maxNameLength)
        let itemId = identifier("itemId")
        let quantity = read { () throws(DecodingFailure) -> Double in try data.quantity("quantity", positive: true, maximum: FieldReader.maxQuantity) }
        let uom = identifier("uom")?.asciiUppercased
        let plant = read { () throws(DecodingFailure) -> String in
            let code = try data.code("plant")
            guard code.count <= maxIdentifierLength, ProductionRelease.topic(forPlant: code) != nil else {
                throw data.fail("plant", "must be 1 to \(maxIdentifierLength) of A-Z a-z 0-9 _ - (it names the plant's MES topic), found '\(code)'")
            }
            return code
        }
        let bomRevision = identifier("bomRevision")
        let dueDate = read { () throws(DecodingFailure) -> Timestamp in try data.timestamp("dueDate") }
        let priority = read { () throws(DecodingFailure) -> OrderApproved.Priority? in try data.optionalValue("priority", OrderApproved.Priority.self) }
        guard problems.isEmpty, let orderId, let orderLine, let customerId, let customerName, let itemId, let quantity, let uom, let plant,
            let bomRevision, let dueDate, let priority
        else { return .invalid(problems) }
        return .valid(
            OrderRequest(
                orderId: orderId, orderLine: orderLine, customerId: customerId, customerName: customerName, itemId: itemId, quantity: quantity,
                uom: uom, plant: plant, bomRevision: bomRevision, dueDate: dueDate, priority: priority))
    }

    /// Validates a request body: one JSON object (else `MALFORMED_JSON`), then ``validate(_:)``.
    public static func validate(body: [UInt8]) -> Validation {
        guard let value = try? JSONParser.parse(body), case .object(let object) = value else {
            return .invalid([DecodingFailure(.malformedJSON, field: "", rule: "the body must be one JSON object (UTF-8)")])
        }
        return validate(FieldReader(object, path: "", reason: .invalidField))
    }

    /// The order line ERP approves from this request: the same fields, as
    /// `erp.order-approved.v1` carries them (and so the same JSON).
    public var approval: OrderApproved {
        OrderApproved(
            orderId: orderId, orderLine: orderLine, customerId: customerId, customerName: customerName, itemId: itemId, quantity: quantity, uom: uom,
            plant: plant, bomRevision: bomRevision, dueDate: dueDate, priority: priority)
    }

    public var json: JSONValue { approval.json }
}
