import Ops
import Testing

@Suite("The console's view of the outputs: postings and releases per minute, lag percentiles, on-time share, orders at risk")
struct ConsoleFeedStateTests {
    let minute: Int64 = 60_000
    /// 2026-12-04T12:00:00Z, on a minute boundary.
    let noon: Int64 = 1_796_385_600_000

    @Test("nearest-rank percentiles: the smallest value with at least p of all at or below it")
    func percentiles() {
        #expect(ConsoleFeedState.percentile([], 0.5) == nil)
        #expect(ConsoleFeedState.percentile([7], 0.95) == 7)
        #expect(ConsoleFeedState.percentile([1, 2, 3, 4], 0.5) == 2)
        #expect(ConsoleFeedState.percentile(Array(1...20), 0.95) == 19)
        #expect(ConsoleFeedState.percentile(Array(1...100), 0.95) == 95)
        #expect(ConsoleFeedState.percentile(Array(1...101), 0.5) == 51)
    }

    @Test("the hour is the current minute and the 59 before it: older postings and releases are not counted, newer minutes are their own buckets")
    func window() {
        var state = ConsoleFeedState()
        let now = noon + 30 * 1000
        state.posting(plant: "P100", windowStart: noon - 15 * minute, postedAt: now)  // lag 15.5 min
        state.posting(plant: "P100", windowStart: noon - 90 * minute, postedAt: noon - 59 * minute)  // first minute shown; lag 31 min
        state.posting(plant: "P100", windowStart: noon - 90 * minute, postedAt: noon - 60 * minute)  // one minute too old
        state.release(plant: "P100", releasedAt: noon - 10 * minute)
        state.release(plant: "P200", releasedAt: noon)
        let summary = state.summary(plant: "P100", now: now)
        #expect(summary.from == noon - 59 * minute)
        #expect(summary.minutes.count == 60)
        #expect(summary.minutes.first == .init(postings: 1, releases: 0))
        #expect(summary.minutes.last == .init(postings: 1, releases: 0))
        #expect(summary.minutes[49] == .init(postings: 0, releases: 1))
        #expect(summary.postings == 2 && summary.releases == 1)
        #expect(summary.lagP50 == 15 * minute + 30_000)
        #expect(summary.lagP95 == 31 * minute)
        #expect(summary.onTimeShare == 0.5, "one of the two within 30 min")
        #expect(!summary.lagEstimated)
        #expect(state.summary(plant: "P200", now: now).releases == 1, "plants are kept apart")
        #expect(state.plantCodes == ["P100", "P200"])
        #expect(state.summary(plant: "P300", now: now).postings == 0)
        #expect(state.summary(plant: "P300", now: now).lagP50 == nil && state.summary(plant: "P300", now: now).onTimeShare == nil)
    }

    @Test("a posting exactly 30 min after its window's start is on time; one a millisecond later is not")
    func onTimeBoundary() {
        var state = ConsoleFeedState()
        state.posting(plant: "P100", windowStart: noon - 30 * minute, postedAt: noon)
        state.posting(plant: "P100", windowStart: noon - 30 * minute - 1, postedAt: noon)
        #expect(state.summary(plant: "P100", now: noon).onTimeShare == 0.5)
    }

    @Test("beyond the samples a minute keeps, the counts stay exact, the samples stay bounded, and the percentiles say they are estimates")
    func boundedSamples() {
        var state = ConsoleFeedState()
        let many = ConsoleFeedState.samplesPerMinute * 3
        for i in 0..<many { state.posting(plant: "P100", windowStart: noon - Int64(i % 100) * 1000, postedAt: noon) }
        let summary = state.summary(plant: "P100", now: noon)
        #expect(summary.postings == many)
        #expect(summary.lagEstimated)
        #expect(summary.onTimeShare == 1)
        // Lags are spread evenly over 0…99 s: a uniform sample puts the median near 50 s.
        let p50 = summary.lagP50 ?? 0
        #expect(p50 > 40_000 && p50 < 60_000, "p50 \(p50) ms")
    }

    @Test("pruning drops minute buckets past the retained span: state stays bounded however long it runs")
    func pruning() {
        var state = ConsoleFeedState()
        for m in Int64(0)..<600 { state.posting(plant: "P100", windowStart: noon + m * minute, postedAt: noon + m * minute) }
        state.prune(now: noon + 599 * minute)
        let summary = state.summary(plant: "P100", now: noon + 599 * minute)
        #expect(summary.postings == 60)
        #expect(state.retainedMinutes(plant: "P100") <= 62)
    }

    @Test("an order is listed at risk until a later status says it is not; a status without a plant lists nothing")
    func atRisk() {
        var state = ConsoleFeedState()
        func order(_ id: String, _ reasons: [String]) -> ConsoleFeedState.AtRiskOrder {
            .init(orderId: id, workOrderId: "WO-\(id)-10", status: "IN_PRODUCTION", riskReasons: reasons, dueDate: "2026-12-10", updatedAt: nil)
        }
        state.status(order("1", ["LATE"]), plant: "P100", atRisk: true)
        state.status(order("2", ["SCRAP_OVER_TOLERANCE"]), plant: "P100", atRisk: true)
        state.status(order("3", []), plant: nil, atRisk: true)
        #expect(state.summary(plant: "P100", now: noon).atRisk.map(\.orderId) == ["1", "2"])
        state.status(order("1", ["LATE", "SCRAP_OVER_TOLERANCE"]), plant: "P100", atRisk: true)
        #expect(state.summary(plant: "P100", now: noon).atRisk.first?.riskReasons == ["LATE", "SCRAP_OVER_TOLERANCE"], "the latest status wins")
        state.status(order("2", []), plant: "P100", atRisk: false)
        #expect(state.summary(plant: "P100", now: noon).atRisk.map(\.orderId) == ["1"])
        #expect(state.plantCodes == ["P100"])
    }
}
