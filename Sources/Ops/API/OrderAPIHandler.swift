import Foundation
import HTTPTypes
import Manufacturing
import OpenAPIRuntime
import OrderAPI

/// The order API's operations (the generated `APIProtocol`): submission through ``OrderIntake``,
/// status from the ``OrderStatusTable``. Access, the body's size and the canonical model's rules
/// were checked by the middlewares before (``OrderAPIRoutes``); refusals are thrown as
/// ``APIProblem``s.
///
/// - Important: Thread-safe.
struct OrderAPIHandler: APIProtocol {
    let intake: OrderIntake
    let statuses: OrderStatusTable

    func submitOrderRequest(_ input: Operations.SubmitOrderRequest.Input) async throws -> Operations.SubmitOrderRequest.Output {
        guard case .json(let body) = input.body else { throw APIProblem(status: .unsupportedMediaType, detail: "the body must be application/json") }
        let request = try OrderRequest.validated(body)
        switch await intake.submit(request, idempotencyKey: input.headers.idempotencyKey, caller: APICaller.name ?? "") {
        case .accepted(let accepted, let replayed):
            return .created(
                .init(
                    headers: .init(location: "/api/v1/orders/\(accepted.request.orderId)/status", idempotentReplayed: replayed ? ._true : ._false),
                    body: .json(
                        .init(correlationId: accepted.correlationId, orderId: accepted.request.orderId, status: .accepted, request: .init(accepted.request)))))
        case .refused(let problems):
            throw APIProblem.masterData(problems)
        case .conflict:
            throw APIProblem(
                status: .conflict,
                detail: "Idempotency-Key '\(input.headers.idempotencyKey)' was used with another body; use a new key for another request")
        case .unavailable(let why):
            throw APIProblem(status: .serviceUnavailable, detail: why, headers: [.retryAfter: "1"])
        }
    }

    func getOrderStatus(_ input: Operations.GetOrderStatus.Input) async throws -> Operations.GetOrderStatus.Output {
        let entry = try lookUp(input.path.orderId) { statuses.customerStatus($0) }
        if Self.matches(input.headers.ifNoneMatch, entry.etag) { return .notModified(.init(headers: .init(eTag: entry.etag))) }
        let status = entry.status
        return .ok(
            .init(
                headers: .init(eTag: entry.etag),
                body: .json(
                    .init(
                        orderId: status.orderId, status: .init(status.status), progressPct: status.progressPct, atRisk: status.atRisk,
                        riskReasons: status.riskReasons.map { .init($0) }, dueDate: status.dueDate.rfc3339, updatedAt: status.updatedAt.rfc3339,
                        correlationId: entry.correlationId))))
    }

    func getErpOrderStatus(_ input: Operations.GetErpOrderStatus.Input) async throws -> Operations.GetErpOrderStatus.Output {
        let entry = try lookUp(input.path.orderId) { statuses.erpStatus($0) }
        if Self.matches(input.headers.ifNoneMatch, entry.etag) { return .notModified(.init(headers: .init(eTag: entry.etag))) }
        let status = entry.status
        return .ok(
            .init(
                headers: .init(eTag: entry.etag),
                body: .json(
                    .init(
                        orderId: status.orderId, workOrderId: status.workOrderId, plant: status.plant, status: .init(status.status),
                        orderedQty: status.orderedQty, goodsReceiptQty: status.goodsReceiptQty, scrapQty: status.scrapQty,
                        progressPct: status.progressPct, atRisk: status.atRisk, riskReasons: status.riskReasons.map { .init($0) },
                        dueDate: status.dueDate.rfc3339, updatedAt: status.updatedAt.rfc3339, correlationId: entry.correlationId))))
    }

    /// The entry, or 503 while the table loads (an order not found yet may only be unread), or 404.
    private func lookUp<Status>(_ orderId: String, _ find: (String) -> OrderStatusTable.Entry<Status>?) throws -> OrderStatusTable.Entry<Status> {
        if let entry = find(orderId) { return entry }
        guard statuses.isCaughtUp else {
            throw APIProblem(status: .serviceUnavailable, detail: "the order status table is still loading; try again shortly", headers: [.retryAfter: "1"])
        }
        throw APIProblem(status: .notFound, detail: "no status is known for order '\(orderId)' (none released or quarantined yet)")
    }

    /// RFC 9110 If-None-Match: `*`, or one of a comma-separated list of (weak or strong) tags.
    static func matches(_ ifNoneMatch: String?, _ etag: String) -> Bool {
        guard let ifNoneMatch else { return false }
        return ifNoneMatch.split(separator: ",").contains { tag in
            let trimmed = tag.trimmingCharacters(in: .whitespaces)
            return trimmed == "*" || trimmed == etag || trimmed == "W/" + etag
        }
    }
}

extension OrderRequest {
    /// The request of a decoded body, through the canonical model's rules again (the middleware
    /// already applied them to the raw body; a handler called without it still gets them).
    static func validated(_ body: Components.Schemas.OrderRequest) throws(APIProblem) -> OrderRequest {
        var object = JSONObject([
            ("orderId", .string(body.orderId)), ("orderLine", .number(Double(body.orderLine), isInteger: true)),
            ("customerId", .string(body.customerId)), ("customerName", .string(body.customerName)), ("itemId", .string(body.itemId)),
            ("quantity", .number(body.quantity, isInteger: false)), ("uom", .string(body.uom)), ("plant", .string(body.plant)),
            ("bomRevision", .string(body.bomRevision)), ("dueDate", .string(body.dueDate)),
        ])
        if let priority = body.priority { object.set("priority", .string(priority.rawValue)) }
        switch validate(FieldReader(object, path: "", reason: .invalidField)) {
        case .valid(let request): return request
        case .invalid(let problems): throw APIProblem.invalid(problems)
        }
    }
}

extension Components.Schemas.OrderRequest {
    /// The normalised request as the document's schema.
    init(_ request: OrderRequest) {
        self.init(
            orderId: request.orderId, orderLine: request.orderLine, customerId: request.customerId, customerName: request.customerName,
            itemId: request.itemId, quantity: request.quantity, uom: request.uom, plant: request.plant, bomRevision: request.bomRevision,
            dueDate: request.dueDate.rfc3339, priority: request.priority.flatMap { .init(rawValue: $0.rawValue) })
    }
}

extension Components.Schemas.OrderStatusCode {
    init(_ code: OrderStatusCode) { self = .init(rawValue: code.rawValue)! }
}

extension Components.Schemas.RiskReason {
    init(_ reason: RiskReason) { self = .init(rawValue: reason.rawValue)! }
}
