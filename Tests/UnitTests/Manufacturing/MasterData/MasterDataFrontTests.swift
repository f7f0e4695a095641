import PropertyBased
import TestSupport
import Testing

@testable import Manufacturing

@Suite("Master-data cache front: LRU and invalidation (no I/O)")
struct MasterDataFrontTests {
    /// The obvious O(n) LRU: keys from most to least recently used.
    struct ModelLRU {
        let capacity: Int
        var entries: [(key: Int, value: Int)] = []

        mutating func get(_ key: Int) -> Int? {
            guard let index = entries.firstIndex(where: { $0.key == key }) else { return nil }
            let entry = entries.remove(at: index)
            entries.insert(entry, at: 0)
            return entry.value
        }

        mutating func set(_ key: Int, _ value: Int) {
            if let index = entries.firstIndex(where: { $0.key == key }) { entries.remove(at: index) }
            guard capacity > 0 else { return }
            entries.insert((key, value), at: 0)
            if entries.count > capacity { entries.removeLast() }
        }

        mutating func remove(_ key: Int) { entries.removeAll { $0.key == key } }
    }

    @Test("the LRU behaves like the obvious model under random gets, sets and removes (property-based)")
    func lruMatchesModel() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...4), Gen.int(in: 0...9_999).array(of: 0...200)) { capacity, operations in
            var lru = LeastRecentlyUsedCache<Int, Int>(capacity: capacity)
            var model = ModelLRU(capacity: capacity)
            for (step, operation) in operations.enumerated() {
                let key = (operation / 3) % 7
                switch operation % 3 {
                case 0: #expect(lru.value(forKey: key) == model.get(key), "get \(key) at step \(step)")
                case 1:
                    lru.setValue(step, forKey: key)
                    model.set(key, step)
                default:
                    lru.removeValue(forKey: key)
                    model.remove(key)
                }
                #expect(lru.keysByRecency == model.entries.map(\.key), "order after step \(step)")
                #expect(lru.count == model.entries.count)
            }
        }
    }

    @Test("removeAll empties it and it works again afterwards")
    func removeAll() {
        var lru = LeastRecentlyUsedCache<String, Int>(capacity: 2)
        lru.setValue(1, forKey: "a")
        lru.setValue(2, forKey: "b")
        lru.removeAll()
        #expect(lru.count == 0)
        #expect(lru.value(forKey: "a") == nil)
        lru.setValue(3, forKey: "c")
        #expect(lru.keysByRecency == ["c"])
    }

    @Test("the front remembers rows and absences, forgets changed keys, and drops an answer read before a batch")
    func frontInvalidation() {
        let front = MasterDataFront(capacity: 8)
        guard case .miss(let first) = front.lookup(Item.self, key: "ITEM-1") else {
            Issue.record("an empty front must miss")
            return
        }
        front.remember(MasterDataFixtures.item, key: "ITEM-1", readAt: first)
        front.remember(nil as Plant?, key: "P9", readAt: first)
        guard case .hit(let item) = front.lookup(Item.self, key: "ITEM-1"), case .hit(let plant) = front.lookup(Plant.self, key: "P9") else {
            Issue.record("remembered answers must hit")
            return
        }
        #expect(item == MasterDataFixtures.item)
        #expect(plant == nil, "absence is remembered")
        guard case .miss = front.lookup(Plant.self, key: "ITEM-1") else {
            Issue.record("kinds are kept apart")
            return
        }

        // A read that began before a batch must not be remembered after it.
        guard case .miss(let stale) = front.lookup(Item.self, key: "ITEM-2") else { return }
        var changes = MasterDataChanges()
        changes.changed(.item, "ITEM-1")
        front.invalidate(changes)
        front.remember(MasterDataFixtures.component, key: "ITEM-2", readAt: stale)
        guard case .miss = front.lookup(Item.self, key: "ITEM-2") else {
            Issue.record("an answer read before a batch must not be remembered")
            return
        }
        guard case .miss = front.lookup(Item.self, key: "ITEM-1") else {
            Issue.record("a changed key must be forgotten")
            return
        }
        guard case .hit(nil) = front.lookup(Plant.self, key: "P9") else {
            Issue.record("keys the batch did not change stay")
            return
        }
        let statistics = front.statistics
        #expect(statistics.entries[.plant] == 1)
        #expect(statistics.entries[.item] == 0)
        #expect(statistics.hits == 3)
        #expect(statistics.misses == 5)
    }

    @Test("a front of capacity 0 remembers nothing")
    func disabledFront() {
        let front = MasterDataFront(capacity: 0)
        front.remember(MasterDataFixtures.item, key: "ITEM-1", readAt: 0)
        guard case .miss = front.lookup(Item.self, key: "ITEM-1") else {
            Issue.record("capacity 0 must not remember")
            return
        }
    }
}
