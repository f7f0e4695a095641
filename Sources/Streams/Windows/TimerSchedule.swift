/// Keys due at points in time (stream time or wall clock): a processor's punctuations, as Kafka
/// Streams' `punctuate` but per key. Schedule a key at a time; when the clock moves, take what
/// came due, in time order. The earliest time is kept, so asking on every record costs one
/// comparison (``isDue(at:inclusive:)``).
public struct TimerSchedule<Key: Hashable & Sendable>: Sendable {
    private var entries: [Int64: Set<Key>] = [:]
    /// The earliest scheduled time; `.max` when nothing is scheduled. After a ``cancel(_:at:)`` it
    /// may be earlier than the earliest entry (asking then costs one scan, and corrects it).
    public private(set) var next: Int64 = .max

    public init() {}

    public mutating func schedule(_ key: Key, at time: Int64) {
        entries[time, default: []].insert(key)
        next = min(next, time)
    }

    public mutating func cancel(_ key: Key, at time: Int64) {
        guard var keys = entries[time], keys.remove(key) != nil else { return }
        entries[time] = keys.isEmpty ? nil : keys
    }

    /// Whether something is due at `time`: scheduled at or before it (`inclusive`), or strictly before.
    public func isDue(at time: Int64, inclusive: Bool = true) -> Bool { inclusive ? next <= time : next < time }

    /// Removes and returns what is due at `time` (see ``isDue(at:inclusive:)``), earliest first.
    public mutating func takeDue(at time: Int64, inclusive: Bool = true) -> [(time: Int64, keys: Set<Key>)] {
        guard isDue(at: time, inclusive: inclusive) else { return [] }
        var due: [(time: Int64, keys: Set<Key>)] = []
        for scheduled in entries.keys.sorted() where inclusive ? scheduled <= time : scheduled < time {
            if let keys = entries.removeValue(forKey: scheduled) { due.append((scheduled, keys)) }
        }
        next = entries.keys.min() ?? .max
        return due
    }

    /// Keys scheduled, over all times.
    public var count: Int { entries.values.reduce(0) { $0 + $1.count } }
}
