import Foundation
import HTTPTypes

/// Helpers of the order API's middlewares.
extension Duration {
    /// The duration in seconds, fractions included.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// The order API's header names.
extension HTTPField.Name {
    /// Seconds to wait before trying again (429, 503).
    static let retryAfter = HTTPField.Name("Retry-After")!
    /// Chosen by the caller, one per order request.
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
}

extension Double {
    /// Without a fraction when it has none (`100`, `2.5`).
    var plain: String { self == rounded() && abs(self) < 1e15 ? String(Int(self)) : String(self) }
}
