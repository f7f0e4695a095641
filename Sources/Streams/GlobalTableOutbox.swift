/// When a ``GlobalTableLoader`` asks its sink for outputs to produce (``GlobalTableSink/pendingOutputs(limit:)``),
/// as a value without I/O: one batch in flight at a time, a new look after every applied batch
/// (a rejected record may have added a dead letter), again after each batch the sink handed out
/// until it hands out none, and after a failed delivery only once a backoff has passed (doubling up to a maximum) — the
/// failed outputs stay in the sink and are handed out again then.
///
/// Generic over the clock's instant so tests can drive it with plain numbers.
struct GlobalTableOutbox<Instant: Comparable> {
    enum Action: Equatable {
        /// Nothing to do now.
        case wait
        /// Ask the sink for at most this many pending outputs and send them.
        case fetch(limit: Int)
    }

    /// Outputs handed out per look.
    let batchSize: Int
    private let minimumBackoff: Duration
    private let maximumBackoff: Duration
    private let advance: (Instant, Duration) -> Instant

    /// Sent and waiting for their delivery reports.
    private(set) var inFlight: Set<GlobalTableOutput.ID> = []
    /// The sink may hold pending outputs: true at start and after each applied batch.
    private(set) var mayHavePending = true
    /// After a failed delivery: not before this.
    private(set) var retryAt: Instant?
    private var backoff: Duration
    /// Batches with a failed delivery since the last one without.
    private(set) var consecutiveFailures = 0
    private var batchFailed = false

    init(batchSize: Int, minimumBackoff: Duration, maximumBackoff: Duration, advance: @escaping (Instant, Duration) -> Instant) {
        self.batchSize = max(1, batchSize)
        self.minimumBackoff = minimumBackoff
        self.maximumBackoff = max(minimumBackoff, maximumBackoff)
        self.advance = advance
        backoff = minimumBackoff
    }

    /// A batch was applied: its rejections may have left outputs.
    mutating func applied() { mayHavePending = true }

    /// What to do at `now`.
    func next(now: Instant) -> Action {
        guard inFlight.isEmpty, mayHavePending else { return .wait }
        if let retryAt, now < retryAt { return .wait }
        return .fetch(limit: batchSize)
    }

    /// The sink handed out these (and they were given to the producer). More may wait behind
    /// them (the sink may hand out fewer than asked, by size): look again once they are reported;
    /// an empty answer ends the looking until the next applied batch.
    mutating func fetched(_ ids: [GlobalTableOutput.ID]) {
        inFlight = Set(ids)
        mayHavePending = !ids.isEmpty
    }

    /// Reports arrived (or sends failed at once): delivered ones leave the sink, failed ones stay
    /// there. Once the whole batch is reported, a batch with a failure makes the next look wait
    /// for the backoff (doubled for the one after), a batch without one resets it.
    mutating func reported(delivered: [GlobalTableOutput.ID], failed: [GlobalTableOutput.ID], now: Instant) {
        inFlight.subtract(delivered)
        inFlight.subtract(failed)
        if !failed.isEmpty { batchFailed = true }
        guard inFlight.isEmpty else { return }
        if batchFailed {
            consecutiveFailures += 1
            retryAt = advance(now, backoff)
            backoff = min(backoff * 2, maximumBackoff)
            mayHavePending = true
        } else {
            consecutiveFailures = 0
            retryAt = nil
            backoff = minimumBackoff
        }
        batchFailed = false
    }
}
