/// Keys due at points in time (stream time or wall clock): a processor's punctuations, as Kafka
/// Streams' `punctuate` but per key. Schedule a key at a time; when the clock moves, take what
/// came due, in time order. The earliest time is kept, so asking on every record costs one
/// comparison (``isDue(at:inclusive:)``), and the times are in a binary min-heap, so taking what is
/// due costs a logarithm of the times scheduled per time taken — not a sort of every time
/// scheduled, which with a retirement scheduled per live work order made each stream-time advance
/// cost a sort of hundreds of thousands of times (the state-growth benchmark, Docs/performance.md).
public struct TimerSchedule<Key: Hashable & Sendable>: Sendable {
    private var entries: [Int64: Set<Key>] = [:]
    /// Every time in `entries`, as a min-heap. Times whose keys were all cancelled stay until they
    /// come to the top (then skipped), so a time scheduled again after that may be in it twice:
    /// the first copy taken takes its keys, the second finds none.
    private var times: [Int64] = []
    /// The earliest scheduled time; `.max` when nothing is scheduled. After a ``cancel(_:at:)`` it
    /// may be earlier than the earliest entry (taking then skips the cancelled times, and corrects it).
    public private(set) var next: Int64 = .max

    public init() {}

    public mutating func schedule(_ key: Key, at time: Int64) {
        if entries[time] == nil { push(time) }
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
        while let earliest = times.first, inclusive ? earliest <= time : earliest < time {
            popEarliest()
            if let keys = entries.removeValue(forKey: earliest) { due.append((earliest, keys)) }
        }
        // Times whose keys were all cancelled leave the top, so `next` is a time with keys.
        while let earliest = times.first, entries[earliest] == nil { popEarliest() }
        next = times.first ?? .max
        return due
    }

    private mutating func push(_ time: Int64) {
        times.append(time)
        var child = times.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard times[child] < times[parent] else { break }
            times.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func popEarliest() {
        guard !times.isEmpty else { return }
        times.swapAt(0, times.count - 1)
        times.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < times.count, times[left] < times[smallest] { smallest = left }
            if right < times.count, times[right] < times[smallest] { smallest = right }
            guard smallest != parent else { return }
            times.swapAt(parent, smallest)
            parent = smallest
        }
    }

    /// Keys scheduled, over all times.
    public var count: Int { entries.values.reduce(0) { $0 + $1.count } }
}

/// Keys due at points in time, one time per key: scheduling a key again moves it (its earlier
/// time is cancelled). What it holds is the keys scheduled, not every time each key was ever
/// scheduled at — a work order's retirement, first scheduled at its release and moved when it
/// completes, stays one entry (as a plain schedule, the release's entry stayed until its time
/// came, over 100 days later: the state-growth benchmark's schedule held 66,500 entries for 8,700
/// live work orders).
///
/// Compact, as it holds an entry per work order in the stores (hundreds of thousands in a
/// worker): one binary min-heap of (time, key) and each key's place in it, ~130 bytes an entry
/// with a 16-character key (a ``TimerSchedule`` with a position map took ~200: a set per time).
public struct KeyedTimerSchedule<Key: Hashable & Sendable>: Sendable {
    private var heap: [(time: Int64, key: Key)] = []
    /// Each key's index in `heap`.
    private var index: [Key: Int] = [:]

    public init() {}

    /// Schedules `key` at `time`, moving it if it was scheduled at another time.
    public mutating func schedule(_ key: Key, at time: Int64) {
        if let i = index[key] {
            let previous = heap[i].time
            guard previous != time else { return }
            heap[i].time = time
            if time < previous { siftUp(i) } else { siftDown(i) }
        } else {
            heap.append((time, key))
            index[key] = heap.count - 1
            siftUp(heap.count - 1)
        }
    }

    /// Unschedules `key`, wherever it is.
    public mutating func cancel(_ key: Key) {
        guard let i = index.removeValue(forKey: key) else { return }
        let last = heap.count - 1
        if i != last {
            heap[i] = heap[last]
            index[heap[i].key] = i
        }
        heap.removeLast()
        guard i < heap.count else { return }
        let moved = heap[i].key
        siftUp(i)
        if let at = index[moved] { siftDown(at) }
    }

    /// The time `key` is scheduled at, if it is.
    public func time(of key: Key) -> Int64? { index[key].map { heap[$0].time } }

    /// The earliest scheduled time; `.max` when nothing is scheduled.
    public var next: Int64 { heap.first?.time ?? .max }

    /// See ``TimerSchedule/isDue(at:inclusive:)``.
    public func isDue(at time: Int64, inclusive: Bool = true) -> Bool { inclusive ? next <= time : next < time }

    /// Removes and returns what is due at `time`, earliest first: each key once, at its one time.
    public mutating func takeDue(at time: Int64, inclusive: Bool = true) -> [(time: Int64, keys: Set<Key>)] {
        var due: [(time: Int64, keys: Set<Key>)] = []
        while let first = heap.first, inclusive ? first.time <= time : first.time < time {
            if due.last?.time == first.time { due[due.count - 1].keys.insert(first.key) } else { due.append((first.time, [first.key])) }
            cancel(first.key)
        }
        return due
    }

    /// Keys scheduled.
    public var count: Int { heap.count }

    private mutating func swapAt(_ a: Int, _ b: Int) {
        heap.swapAt(a, b)
        index[heap[a].key] = a
        index[heap[b].key] = b
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].time < heap[parent].time else { return }
            swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count, heap[left].time < heap[smallest].time { smallest = left }
            if right < heap.count, heap[right].time < heap[smallest].time { smallest = right }
            guard smallest != parent else { return }
            swapAt(parent, smallest)
            parent = smallest
        }
    }
}
