/// A token bucket per caller: `rate` requests per second on average, up to `burst` at once.
/// Pure (the time is passed in), kept behind a lock by ``APIAccessMiddleware``.
struct RateLimiter: Sendable {
    /// What a request may do.
    enum Decision: Sendable, Equatable {
        case allow
        /// Refused: try again in this many whole seconds (at least 1).
        case refuse(retryAfter: Int)
    }

    private struct Bucket {
        var tokens: Double
        var updated: Double
    }

    let rate: Double
    let burst: Int
    private var buckets: [String: Bucket] = [:]

    init(rate: Double, burst: Int) {
        self.rate = rate
        self.burst = burst
    }

    /// Takes one request from `caller`'s bucket at `now` (seconds on a monotonic clock).
    mutating func take(_ caller: String, now: Double) -> Decision {
        var bucket = buckets[caller] ?? Bucket(tokens: Double(burst), updated: now)
        bucket.tokens = min(Double(burst), bucket.tokens + max(0, now - bucket.updated) * rate)
        bucket.updated = now
        defer { buckets[caller] = bucket }
        guard bucket.tokens >= 1 else { return .refuse(retryAfter: max(1, Int(((1 - bucket.tokens) / rate).rounded(.up)))) }
        bucket.tokens -= 1
        return .allow
    }
}
