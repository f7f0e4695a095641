import Foundation
import HTTPTypes
import Manufacturing
import OpenAPIRuntime

/// The first checks of `POST /api/v1/order-requests`, before the generated code decodes the body:
/// the `Idempotency-Key` (400), the content type (415), the size (413, also when a
/// `Content-Length` says so before anything is read) and the canonical model's rules for every
/// field (422 listing every problem, each with field, rule and reason). A request that passes
/// goes on with its normalised JSON as the body, so the generated decoder always reads what the
/// rules accepted.
///
/// - Important: Thread-safe; it keeps nothing between requests.
struct OrderRequestBodyMiddleware: ServerMiddleware {
    let maxBodyBytes: Int

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        guard operationID == "submitOrderRequest" else { return try await next(request, body, metadata) }
        if let problem = Self.idempotencyKeyProblem(request.headerFields[.idempotencyKey]) { return problem.response }
        let mediaType = request.headerFields[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard mediaType == "application/json" else {
            return APIProblem(
                status: .unsupportedMediaType, detail: "the body must be application/json (got \(mediaType.map { "'\($0)'" } ?? "no Content-Type"))"
            ).response
        }
        let tooLarge = APIProblem(status: .contentTooLarge, detail: "the body must be at most \(maxBodyBytes) bytes")
        if let length = request.headerFields[.contentLength].flatMap({ Int($0) }), length > maxBodyBytes { return tooLarge.response }
        var bytes: [UInt8] = []
        if let body {
            for try await chunk in body {
                guard bytes.count + chunk.count <= maxBodyBytes else { return tooLarge.response }
                bytes += chunk
            }
        }
        switch OrderRequest.validate(body: bytes) {
        case .invalid(let problems): return APIProblem.invalid(problems).response
        case .valid(let normalised):
            return try await next(request, HTTPBody(JSONWriter.bytes(normalised.json)), metadata)
        }
    }

    /// The longest `Idempotency-Key`.
    static let maxKeyLength = 255

    /// `nil` when the key is there and 1 to 255 visible ASCII characters.
    static func idempotencyKeyProblem(_ key: String?) -> APIProblem? {
        func problem(_ rule: String) -> APIProblem {
            APIProblem(
                status: .badRequest, detail: "Idempotency-Key: \(rule)",
                errors: [.init(field: "Idempotency-Key", rule: rule, reason: "INVALID_HEADER")])
        }
        guard let key, !key.isEmpty else { return problem("required: one key per order request, chosen by the caller") }
        guard key.count <= maxKeyLength, key.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            return problem("1 to \(maxKeyLength) visible ASCII characters without spaces")
        }
        return nil
    }
}
