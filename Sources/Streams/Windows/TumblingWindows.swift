/// Tumbling event-time windows aligned to the epoch, with a grace period: which window an event
/// falls in, and when that window closes — once stream time reaches its end plus the grace. An
/// event whose window has closed is late (a processor carries it some other way: the confirmation
/// processor posts an adjustment).
public struct TumblingWindows: Sendable, Hashable {
    /// Window length, ms (> 0).
    public let size: Int64
    /// How long after its end a window still takes events, ms (≥ 0).
    public let grace: Int64

    public init(size: Int64, grace: Int64) {
        precondition(size > 0 && grace >= 0, "a window has a positive size and a grace of zero or more")
        self.size = size
        self.grace = grace
    }

    /// The start of the window that holds `eventTime` (windows are `[start, start + size)`,
    /// aligned to the epoch; negative times round down too).
    public func start(of eventTime: Int64) -> Int64 {
        let quotient = eventTime / size
        return (eventTime % size != 0 && eventTime < 0 ? quotient - 1 : quotient) * size
    }

    /// When the window that starts at `windowStart` closes: its end plus the grace.
    public func closesAt(windowStart: Int64) -> Int64 { windowStart + size + grace }

    /// Whether stream time has closed the window that starts at `windowStart`.
    public func isClosed(windowStart: Int64, streamTime: Int64) -> Bool { closesAt(windowStart: windowStart) <= streamTime }
}
