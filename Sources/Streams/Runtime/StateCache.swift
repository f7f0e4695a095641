import Foundation

/// Clean entries of task stores kept on disk (``TaskStateFile``), in memory up to a number of
/// bytes shared by a worker's tasks — least recently used out first. Misses (a key the file does
/// not have) are cached too: a processor asks for keys that are not there (an unknown work order,
/// a retirement record) about as often as for those that are.
///
/// Only what the file holds is cached: uncommitted changes stay in their task's store, committed
/// ones the file has not confirmed in its in-flight list, so dropping any entry here at any time
/// loses nothing.
///
/// - Important: Thread-safe (a lock): the tasks of a worker's loop threads share one.
public final class StateCache: @unchecked Sendable {  // every mutable field is under `lock`
    /// Whose entry: one id per opened task state file (a file reset or reopened gets a new id, so
    /// nothing of the old one is ever read for it).
    struct Key: Hashable {
        var owner: UInt64
        var store: String
        var key: String
    }

    private final class Node {
        let key: Key
        var value: [UInt8]?
        let bytes: Int
        var newer: Node?
        weak var older: Node?
        init(key: Key, value: [UInt8]?, bytes: Int) {
            self.key = key
            self.value = value
            self.bytes = bytes
        }
    }

    /// The budget in bytes (keys, values and ``entryOverhead`` an entry).
    public let capacityBytes: Int
    /// What an entry costs besides its key's and value's bytes (64-bit, Swift 6.3): its node
    /// (~112 bytes with the allocator's rounding), the side table its weak reference needs (~32),
    /// its slot in the dictionary at its load factor (~90), the key's string storage past 15 bytes
    /// (32 of header) and the value's array header (32). Counted as 64 before, a cache counted at
    /// 18.6 MB took 48 MB of the state-growth benchmark's RSS (a cache of 32 MiB ~85 MB;
    /// Docs/performance.md); a unit test holds the count to what the allocator hands out.
    public static let entryOverhead = 320
    /// At most this many entries (tests hold a cache to one entry). Default: no limit but bytes.
    public let maxEntries: Int
    private let lock = NSLock()
    private var nodes: [Key: Node] = [:]
    /// Least recently used (the next out) and most recently used.
    private var oldest: Node?
    private var newest: Node?
    private var nextOwner: UInt64 = 0
    public private(set) var usedBytes = 0
    /// Lookups answered and not, for the statistics.
    public private(set) var hits = 0
    public private(set) var misses = 0

    public init(capacityBytes: Int, maxEntries: Int = .max) {
        self.capacityBytes = max(0, capacityBytes)
        self.maxEntries = max(0, maxEntries)
    }

    /// A new owner id (for a newly opened task state file).
    func newOwner() -> UInt64 {
        lock.lock()
        defer { lock.unlock() }
        nextOwner += 1
        return nextOwner
    }

    /// The cached value: `.some(nil)` for a key known to be absent, `nil` when not cached.
    func value(owner: UInt64, store: String, key: String) -> [UInt8]?? {
        lock.lock()
        defer { lock.unlock() }
        guard let node = nodes[Key(owner: owner, store: store, key: key)] else {
            misses += 1
            return nil
        }
        hits += 1
        moveToNewest(node)
        return .some(node.value)
    }

    /// Caches what the file holds for the key (`nil`: none), evicting the least recently used.
    func set(owner: UInt64, store: String, key: String, value: [UInt8]?) {
        let cacheKey = Key(owner: owner, store: store, key: key)
        let bytes = Self.entryOverhead + store.utf8.count + key.utf8.count + (value?.count ?? 0)
        lock.lock()
        defer { lock.unlock() }
        if let old = nodes.removeValue(forKey: cacheKey) { unlink(old) }
        guard bytes <= capacityBytes, maxEntries > 0 else { return }
        while usedBytes + bytes > capacityBytes || nodes.count >= maxEntries, let victim = oldest {
            nodes[victim.key] = nil
            unlink(victim)
        }
        let node = Node(key: cacheKey, value: value, bytes: bytes)
        nodes[cacheKey] = node
        link(node)
    }

    /// Entries held.
    public var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return nodes.count
    }

    private func link(_ node: Node) {
        node.older = newest
        node.newer = nil
        newest?.newer = node
        newest = node
        if oldest == nil { oldest = node }
        usedBytes += node.bytes
    }

    private func unlink(_ node: Node) {
        if let older = node.older { older.newer = node.newer } else { oldest = node.newer }
        if let newer = node.newer { newer.older = node.older } else { newest = node.older }
        node.newer = nil
        node.older = nil
        usedBytes -= node.bytes
    }

    private func moveToNewest(_ node: Node) {
        guard newest !== node else { return }
        unlink(node)
        link(node)
    }
}
