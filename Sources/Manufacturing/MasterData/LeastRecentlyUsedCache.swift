/// A map that holds at most `capacity` entries and, to make room, drops the one used least
/// recently. Reading an entry counts as using it. Every operation is O(1).
///
/// - Important: A value type with no locking: the owner serializes access (``MasterDataFront``
///   holds it under a `Mutex`).
struct LeastRecentlyUsedCache<Key: Hashable, Value> {
    /// Entries live in `nodes`, linked from the most to the least recently used by index.
    private struct Node {
        var key: Key
        var value: Value
        var newer: Int
        var older: Int
    }

    private static var none: Int { -1 }

    /// The most entries kept; 0 keeps nothing.
    let capacity: Int
    private var nodes: [Node] = []
    private var slots: [Key: Int] = [:]
    private var newest = Self.none
    private var oldest = Self.none

    init(capacity: Int) {
        precondition(capacity >= 0, "capacity must be ≥ 0")
        self.capacity = capacity
        nodes.reserveCapacity(min(capacity, 1024))
    }

    var count: Int { nodes.count }

    /// The value of `key`, which becomes the most recently used; `nil` when absent.
    mutating func value(forKey key: Key) -> Value? {
        guard let index = slots[key] else { return nil }
        moveToNewest(index)
        return nodes[index].value
    }

    /// Sets the value of `key`, which becomes the most recently used, dropping the least recently
    /// used entry when full.
    mutating func setValue(_ value: Value, forKey key: Key) {
        if let index = slots[key] {
            nodes[index].value = value
            moveToNewest(index)
            return
        }
        guard capacity > 0 else { return }
        if nodes.count == capacity { remove(at: oldest) }
        nodes.append(Node(key: key, value: value, newer: Self.none, older: newest))
        let index = nodes.count - 1
        if newest != Self.none { nodes[newest].newer = index }
        newest = index
        if oldest == Self.none { oldest = index }
        slots[key] = index
    }

    mutating func removeValue(forKey key: Key) {
        guard let index = slots[key] else { return }
        remove(at: index)
    }

    mutating func removeAll() {
        nodes.removeAll(keepingCapacity: true)
        slots.removeAll(keepingCapacity: true)
        newest = Self.none
        oldest = Self.none
    }

    /// Keys from the most to the least recently used (for tests and debugging).
    var keysByRecency: [Key] {
        var keys: [Key] = []
        var index = newest
        while index != Self.none {
            keys.append(nodes[index].key)
            index = nodes[index].older
        }
        return keys
    }

    private mutating func unlink(_ index: Int) {
        let node = nodes[index]
        if node.newer != Self.none { nodes[node.newer].older = node.older } else { newest = node.older }
        if node.older != Self.none { nodes[node.older].newer = node.newer } else { oldest = node.newer }
    }

    private mutating func moveToNewest(_ index: Int) {
        guard index != newest else { return }
        unlink(index)
        nodes[index].newer = Self.none
        nodes[index].older = newest
        nodes[newest].newer = index
        newest = index
    }

    /// Removes the node at `index`; the last node moves into its slot so the array stays dense.
    private mutating func remove(at index: Int) {
        unlink(index)
        slots[nodes[index].key] = nil
        let last = nodes.count - 1
        if index != last {
            nodes[index] = nodes[last]
            slots[nodes[index].key] = index
            let moved = nodes[index]
            if moved.newer != Self.none { nodes[moved.newer].older = index } else { newest = index }
            if moved.older != Self.none { nodes[moved.older].newer = index } else { oldest = index }
        }
        nodes.removeLast()
    }
}
