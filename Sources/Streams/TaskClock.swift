/// A task's notion of time: stream time (the highest event time seen on its inputs) and the idle
/// advance that lets a quiet partition's windows close. Shared by the runtime and the test driver
/// so both move time the same way.
public struct TaskClock: Sendable {
    /// Highest event time seen, or moved up by the idle advance; never moves back.
    public private(set) var streamTime: Int64 = .min
    /// Wall-clock time of the last event that arrived (or of the start).
    public private(set) var lastEventWallClock: Int64
    /// After this long without an event, stream time moves up to the wall clock. Default 60 s.
    public var idleTimeout: Int64

    public init(startedAt wallClock: Int64, idleTimeout: Int64 = 60_000) {
        lastEventWallClock = wallClock
        self.idleTimeout = idleTimeout
    }

    /// An event with this time arrived now. Returns the new stream time if it moved up.
    public mutating func observe(eventTime: Int64, wallClock: Int64) -> Int64? {
        lastEventWallClock = wallClock
        guard eventTime > streamTime else { return nil }
        streamTime = eventTime
        return streamTime
    }

    /// The idle advance: if nothing arrived for `idleTimeout`, stream time moves up to the wall
    /// clock (never back). Returns the new stream time if it moved.
    public mutating func idleAdvance(wallClock: Int64) -> Int64? {
        guard wallClock - lastEventWallClock >= idleTimeout, wallClock > streamTime else { return nil }
        streamTime = wallClock
        return streamTime
    }

    /// Restores a stream time kept in a state store.
    public mutating func restore(streamTime restored: Int64) {
        streamTime = max(streamTime, restored)
    }
}
