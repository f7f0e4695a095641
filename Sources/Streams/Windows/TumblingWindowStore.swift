/// Open tumbling event-time windows per key, with their aggregates: where an event goes (its
/// window, or late when that window has closed), and which windows stream time has closed, as
/// Kafka Streams' windowed aggregation with `suppress(untilWindowCloses)`. A processor asks
/// ``takeClosed(at:)`` from a stream-time punctuation and emits what it gets.
///
/// In memory: a processor persists a key's windows with the rest of that key's state
/// (``windows(of:)`` to write, ``restore(_:windows:)`` to read back) so they commit together.
public struct TumblingWindowStore<Key: Hashable & Sendable, Aggregate: Sendable>: Sendable {
    public let windows: TumblingWindows
    private var open: [Key: [Int64: Aggregate]] = [:]
    private var closing = TimerSchedule<Key>()
    /// Windows open, over all keys.
    public private(set) var count = 0

    public init(_ windows: TumblingWindows) {
        self.windows = windows
    }

    /// Where an event goes at a stream time.
    public enum Placement: Sendable, Hashable {
        /// Into the window that starts here, still open.
        case open(windowStart: Int64)
        /// Its window (starting here) has closed: later than the grace.
        case late(windowStart: Int64)
    }

    public func placement(of eventTime: Int64, streamTime: Int64) -> Placement {
        let start = windows.start(of: eventTime)
        return windows.isClosed(windowStart: start, streamTime: streamTime) ? .late(windowStart: start) : .open(windowStart: start)
    }

    /// Runs `body` on the aggregate of `key`'s window at `windowStart` in place, opening it with
    /// `empty` (and scheduling its close) if it is not open.
    public mutating func update<R>(_ key: Key, windowStart: Int64, empty: @autoclosure () -> Aggregate, _ body: (inout Aggregate) -> R) -> R {
        // One lookup of the key, the key's windows changed in place (asked for every event).
        var opened = false
        let result = modifyWindows(of: key) { windows in
            if windows.index(forKey: windowStart) == nil {
                windows[windowStart] = empty()
                opened = true
            }
            return body(&windows[windowStart]!)
        }
        if opened {
            closing.schedule(key, at: windows.closesAt(windowStart: windowStart))
            count += 1
        }
        return result
    }

    private mutating func modifyWindows<R>(of key: Key, _ body: (inout [Int64: Aggregate]) -> R) -> R {
        body(&open[key, default: [:]])
    }

    /// `key`'s open windows by start (empty when none): what a processor persists.
    public func windows(of key: Key) -> [Int64: Aggregate] { open[key] ?? [:] }

    public func hasOpenWindows(_ key: Key) -> Bool { open[key] != nil }

    /// Puts back windows read from a store (after a restore or an eviction), each scheduled to
    /// close; replaces what `key` had open.
    public mutating func restore(_ key: Key, windows restored: [Int64: Aggregate]) {
        if let previous = open.removeValue(forKey: key) {
            count -= previous.count
            for start in previous.keys { closing.cancel(key, at: windows.closesAt(windowStart: start)) }
        }
        guard !restored.isEmpty else { return }
        open[key] = restored
        count += restored.count
        for start in restored.keys { closing.schedule(key, at: windows.closesAt(windowStart: start)) }
    }

    /// Whether a window closes at `streamTime` (one comparison: ask on every advance).
    public func isDue(at streamTime: Int64) -> Bool { closing.isDue(at: streamTime) }

    /// Removes and returns the windows stream time has closed: per key, in start order; keys in
    /// the order their first closed window closes.
    public mutating func takeClosed(at streamTime: Int64) -> [(key: Key, windows: [(start: Int64, aggregate: Aggregate)])] {
        var closed: [(key: Key, windows: [(start: Int64, aggregate: Aggregate)])] = []
        for (_, keys) in closing.takeDue(at: streamTime) {
            for key in keys {
                // Taken out of `open` while changed: a copy left in it would make the removals
                // below copy the whole dictionary.
                guard var keyWindows = open.removeValue(forKey: key) else { continue }
                var taken: [(start: Int64, aggregate: Aggregate)] = []
                for (start, aggregate) in keyWindows where windows.isClosed(windowStart: start, streamTime: streamTime) {
                    taken.append((start, aggregate))
                }
                for (start, _) in taken { keyWindows[start] = nil }
                if !keyWindows.isEmpty { open[key] = keyWindows }
                guard !taken.isEmpty else { continue }
                count -= taken.count
                if taken.count > 1 { taken.sort { $0.start < $1.start } }
                closed.append((key, taken))
            }
        }
        return closed
    }
}
