import Foundation
import HTTPTypes
import OpenAPIRuntime
import Synchronization

/// Who is calling the order API: the token's name, for handlers (idempotency keys are kept per
/// caller) and logs. Set by ``APIAccessMiddleware`` for the handler it calls.
enum APICaller {
    @TaskLocal static var name: String?
}

/// Bearer tokens, scopes and the rate limit of the order API, before anything else of a request
/// is read: 401 without a token or with an unknown one, 403 without the operation's scope, 429
/// with `Retry-After` when the token's bucket is empty. Tokens are never logged, only names.
///
/// - Important: Thread-safe; one instance serves every request of a server.
struct APIAccessMiddleware: ServerMiddleware {
    private final class Limiter: Sendable {
        let state: Mutex<RateLimiter>
        init(_ limiter: RateLimiter) { state = Mutex(limiter) }
    }

    let settings: OrderAPISettings
    private let limiter: Limiter
    private let start = ContinuousClock.now

    init(settings: OrderAPISettings) {
        self.settings = settings
        limiter = Limiter(RateLimiter(rate: settings.rateLimit, burst: settings.rateBurst))
    }

    /// The scope each operation needs (as the document's `security` says).
    static let scopes: [String: OrderAPISettings.Scope] = [
        "submitOrderRequest": .ordersWrite, "getOrderStatus": .ordersRead, "getErpOrderStatus": .erpRead,
    ]

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        let challenge: HTTPFields = [.wwwAuthenticate: "Bearer realm=\"millwright\""]
        guard let header = request.headerFields[.authorization] else {
            return APIProblem(status: .unauthorized, detail: "a bearer token is required (Authorization: Bearer <token>)", headers: challenge).response
        }
        let bytes = Array(header.utf8)
        // `Bearer ` in any case (RFC 9110 compares schemes case-insensitively), then the token.
        guard bytes.count > 7, zip(bytes.prefix(7), "bearer ".utf8).allSatisfy({ $0 | 0x20 == $1 }) else {
            return APIProblem(status: .unauthorized, detail: "the Authorization header must be `Bearer <token>`", headers: challenge).response
        }
        guard let token = settings.token(bearer: bytes[7...].drop(while: { $0 == 0x20 })) else {
            return APIProblem(status: .unauthorized, detail: "this bearer token is not one of api.tokens", headers: challenge).response
        }
        guard let scope = Self.scopes[operationID], token.scopes.contains(scope) else {
            return APIProblem(status: .forbidden, detail: "the token '\(token.name)' lacks the scope \(Self.scopes[operationID]?.rawValue ?? "?")").response
        }
        let now = (ContinuousClock.now - start).seconds
        if case .refuse(let retryAfter) = limiter.state.withLock({ $0.take(token.name, now: now) }) {
            return APIProblem(
                status: .tooManyRequests,
                detail: "the token '\(token.name)' has used its \(settings.rateLimit.plain) requests per second (burst \(settings.rateBurst))",
                headers: [.retryAfter: String(retryAfter)]
            ).response
        }
        return try await APICaller.$name.withValue(token.name) { try await next(request, body, metadata) }
    }
}
