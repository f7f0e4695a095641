import Manufacturing

/// What the console shows of each plant's outputs over the last hour, built from the records
/// themselves (``ConsoleFeed`` tails the output topics): postings and releases per minute, the
/// confirmation lag of the postings, and the orders at risk. Pure: no Kafka, no clock of its own
/// (the tests drive it with times they choose).
///
/// Bounded: a plant keeps at most ``retainedMinutes`` minute buckets (older ones are pruned), each
/// with at most ``samplesPerMinute`` lag samples (beyond that a uniform reservoir sample: the
/// percentiles are then estimates, and the summary says so); at-risk orders are kept only while at
/// risk.
public struct ConsoleFeedState: Sendable {
    /// Minutes shown (the current one and the 59 before it).
    public static let windowMinutes: Int64 = 60
    /// Minutes kept: the window and a little slack for late records.
    static let retainedMinutes: Int64 = 62
    public static let samplesPerMinute = 2_000
    /// A posting made within this long of its window's start counts as on time.
    public static let onTimeMilliseconds: Int64 = 30 * 60_000

    struct Minute: Sendable {
        var postings = 0
        var releases = 0
        var onTime = 0
        /// Lag samples (ms), all of them up to ``samplesPerMinute``, then a reservoir.
        var lags: [Int64] = []
        var lagsSeen = 0
    }

    /// An order whose latest status says it is at risk.
    public struct AtRiskOrder: Sendable, Hashable {
        public var orderId: String
        public var workOrderId: String?
        public var status: String
        public var riskReasons: [String]
        public var dueDate: String?
        public var updatedAt: String?

        public init(orderId: String, workOrderId: String?, status: String, riskReasons: [String], dueDate: String?, updatedAt: String?) {
            self.orderId = orderId
            self.workOrderId = workOrderId
            self.status = status
            self.riskReasons = riskReasons
            self.dueDate = dueDate
            self.updatedAt = updatedAt
        }
    }

    struct Plant: Sendable {
        var minutes: [Int64: Minute] = [:]
        var atRisk: [String: AtRiskOrder] = [:]
    }

    private var plants: [String: Plant] = [:]
    /// Which plant each at-risk order is listed under (an order's status names its plant).
    private var atRiskPlant: [String: String] = [:]
    private var random = SplitMix64(seed: 0x6D69_6C6C)

    public init() {}

    /// Every plant seen, sorted.
    public var plantCodes: [String] { plants.keys.sorted() }

    // MARK: Ingest

    /// A posting to ERP, written at `postedAt`, for the window that starts at `windowStart`.
    public mutating func posting(plant: String, windowStart: Int64, postedAt: Int64) {
        let lag = max(0, postedAt - windowStart)
        let minute = postedAt / 60_000
        var bucket = plants[plant, default: Plant()].minutes[minute, default: Minute()]
        bucket.postings += 1
        if lag <= Self.onTimeMilliseconds { bucket.onTime += 1 }
        bucket.lagsSeen += 1
        if bucket.lags.count < Self.samplesPerMinute {
            bucket.lags.append(lag)
        } else {
            // Algorithm R: each of the `lagsSeen` samples stays with the same probability.
            let slot = Int(random.next() % UInt64(bucket.lagsSeen))
            if slot < Self.samplesPerMinute { bucket.lags[slot] = lag }
        }
        plants[plant, default: Plant()].minutes[minute] = bucket
    }

    /// A work order released to the plant's MES at `releasedAt`.
    public mutating func release(plant: String, releasedAt: Int64) {
        plants[plant, default: Plant()].minutes[releasedAt / 60_000, default: Minute()].releases += 1
    }

    /// An order status (ERP's): the order is listed as at risk until a later status says it is not.
    /// A status without a plant (nothing released yet) lists nothing.
    public mutating func status(_ order: AtRiskOrder, plant: String?, atRisk: Bool) {
        if let listed = atRiskPlant[order.orderId], listed != plant || !atRisk {
            plants[listed]?.atRisk[order.orderId] = nil
            atRiskPlant[order.orderId] = nil
        }
        guard let plant else { return }
        if atRisk {
            plants[plant, default: Plant()].atRisk[order.orderId] = order
            atRiskPlant[order.orderId] = plant
        } else if plants[plant] == nil {
            plants[plant] = Plant()  // the plant is known, with nothing at risk
        }
    }

    /// Drops minute buckets older than the retained span before `now`.
    public mutating func prune(now: Int64) {
        let oldest = now / 60_000 - Self.retainedMinutes
        for code in plants.keys {
            plants[code]!.minutes = plants[code]!.minutes.filter { $0.key > oldest }
        }
    }

    /// How many minute buckets a plant holds (for tests of the bound).
    public func retainedMinutes(plant: String) -> Int { plants[plant]?.minutes.count ?? 0 }

    // MARK: Summary

    public struct Summary: Sendable, Hashable {
        /// The first minute shown (ms since the epoch).
        public var from: Int64
        /// Per minute, oldest first: postings and releases.
        public var minutes: [MinuteCount]
        public var postings: Int
        public var releases: Int
        /// Nearest-rank percentiles of posting lag (ms); `nil` without postings.
        public var lagP50: Int64?
        public var lagP95: Int64?
        /// Postings made within 30 min of their window's start, of all postings; `nil` without postings.
        public var onTimeShare: Double?
        /// True when a minute had more postings than it keeps samples of: the percentiles are estimates.
        public var lagEstimated: Bool
        public var atRisk: [AtRiskOrder]
    }

    public struct MinuteCount: Sendable, Hashable {
        public var postings: Int
        public var releases: Int
        public init(postings: Int, releases: Int) {
            self.postings = postings
            self.releases = releases
        }
    }

    /// The plant's last hour before `now`: the current minute and the 59 before it.
    public func summary(plant code: String, now: Int64) -> Summary {
        let last = now / 60_000
        let first = last - Self.windowMinutes + 1
        let plant = plants[code] ?? Plant()
        var minutes: [MinuteCount] = []
        var lags: [Int64] = []
        var postings = 0
        var releases = 0
        var onTime = 0
        var estimated = false
        for minute in first...last {
            let bucket = plant.minutes[minute] ?? Minute()
            minutes.append(MinuteCount(postings: bucket.postings, releases: bucket.releases))
            postings += bucket.postings
            releases += bucket.releases
            onTime += bucket.onTime
            lags += bucket.lags
            estimated = estimated || bucket.lagsSeen > bucket.lags.count
        }
        lags.sort()
        return Summary(
            from: first * 60_000, minutes: minutes, postings: postings, releases: releases,
            lagP50: Self.percentile(lags, 0.50), lagP95: Self.percentile(lags, 0.95),
            onTimeShare: postings == 0 ? nil : Double(onTime) / Double(postings), lagEstimated: estimated,
            atRisk: plant.atRisk.values.sorted { ($0.dueDate ?? "~", $0.orderId) < ($1.dueDate ?? "~", $1.orderId) })
    }

    /// The nearest-rank percentile of sorted values: the smallest value with at least `p` of all at or below it.
    public static func percentile(_ sorted: [Int64], _ p: Double) -> Int64? {
        guard !sorted.isEmpty else { return nil }
        let rank = Int((p * Double(sorted.count)).rounded(.up))
        return sorted[min(sorted.count, max(1, rank)) - 1]
    }
}

/// A small, fast, seeded generator for the reservoir (no need for cryptographic randomness).
struct SplitMix64: Sendable {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
