/// Where a task's restore starts, decided from its local state file and its changelog partition's
/// watermarks — a pure decision, tested without I/O.
///
/// The task needs the changelog from the offset its local file is current to (0 without one). A
/// file ahead of the changelog's end belongs to another log (a new cluster, a recreated topic) and
/// is dropped. A log that starts past the needed offset has lost history (retention deleted it,
/// or DeleteRecords): the task cannot be rebuilt exactly, which is a ``StateGap``.
struct RestorePlan: Equatable, Sendable {
    /// The local file is ahead of the changelog: drop it and read the changelog alone.
    var discardLocal = false
    /// Where reading starts: the needed offset, or the log start when history is missing.
    var start: Int64
    /// History the task needed that the changelog no longer has.
    var gap: StateGap?

    init(discardLocal: Bool, start: Int64, gap: StateGap?) {
        self.discardLocal = discardLocal
        self.start = start
        self.gap = gap
    }

    /// - Parameters:
    ///   - localOffset: the offset the local file is current to (0 without one).
    ///   - low: the partition's log start offset.
    ///   - high: the partition's end offset.
    init(localOffset: Int64, low: Int64, high: Int64) {
        var needed = max(0, localOffset)
        if needed > high {
            discardLocal = true
            needed = 0
        }
        if low > needed {
            gap = StateGap(needed: needed, logStart: low)
            start = low
        } else {
            start = needed
        }
    }
}

/// Changelog history a task needed and the log no longer has: offsets `needed..<logStart`.
public struct StateGap: Equatable, Sendable, Hashable {
    /// The offset the task's state is current to without the changelog (its local file's, or 0).
    public var needed: Int64
    /// Where the changelog partition starts now.
    public var logStart: Int64
    /// Offsets deleted that the task needed (records, and for a transactional log its markers).
    public var missing: Int64 { logStart - needed }

    public init(needed: Int64, logStart: Int64) {
        self.needed = needed
        self.logStart = logStart
    }
}
