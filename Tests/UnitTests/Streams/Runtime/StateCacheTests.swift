import CAllocator
import Foundation
import Testing

@testable import Streams

@Suite("Stores on disk and their cache")
struct StateCacheTests {
    @Test("the cache keeps the most recently used entries within its bytes and its entry limit, misses too, and never answers for another owner")
    func leastRecentlyUsedOut() {
        let entry = StateCache.entryOverhead + 2 + 10  // a 1-byte store name, 1-byte key, 10-byte value
        let cache = StateCache(capacityBytes: 3 * entry)
        let owner = cache.newOwner()
        for key in ["a", "b", "c"] { cache.set(owner: owner, store: "s", key: key, value: Array(repeating: 1, count: 10)) }
        #expect(cache.count == 3 && cache.usedBytes == 3 * entry)
        _ = cache.value(owner: owner, store: "s", key: "a")  // a is used: b is the oldest now
        cache.set(owner: owner, store: "s", key: "d", value: Array(repeating: 2, count: 10))
        #expect(cache.value(owner: owner, store: "s", key: "b") == nil, "evicted")
        #expect(cache.value(owner: owner, store: "s", key: "a") == .some(Array(repeating: 1, count: 10)))
        cache.set(owner: owner, store: "s", key: "gone", value: nil)
        #expect(cache.value(owner: owner, store: "s", key: "gone") == .some(nil), "a key the file does not have is cached as absent")
        #expect(cache.value(owner: cache.newOwner(), store: "s", key: "a") == nil, "another file's owner sees nothing")
        cache.set(owner: owner, store: "s", key: "big", value: Array(repeating: 0, count: 1_000))
        #expect(cache.value(owner: owner, store: "s", key: "big") == nil, "larger than the whole budget: not cached")
        #expect(cache.usedBytes <= cache.capacityBytes)

        let one = StateCache(capacityBytes: 1 << 20, maxEntries: 1)
        let o = one.newOwner()
        one.set(owner: o, store: "s", key: "x", value: [1])
        one.set(owner: o, store: "s", key: "y", value: [2])
        #expect(one.count == 1 && one.value(owner: o, store: "s", key: "x") == nil && one.value(owner: o, store: "s", key: "y") == .some([2]))
    }

    @Test(
        "a store on disk reads its changes, then the commits in flight, then the file; prefix scans merge the three; a committed batch leaves the store for the cache; nothing but the cache and the changes is in memory"
    )
    func storeOnDisk() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("store-on-disk-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = try TaskStateFile(directory: directory, processor: "p", partition: 0)
        try file.apply(
            changes: [("s", "k:1", [1]), ("s", "k:2", [2]), ("s", "other", [9]), ("t", "k:3", [3])], streamTime: 0, positions: [:], changelogOffset: 1)
        let cache = StateCache(capacityBytes: 1 << 20, maxEntries: 1)
        let store = TaskStore(name: "s", file: file, cache: cache, owner: cache.newOwner())
        #expect(store.get("k:1") == [1] && store.get("k:3") == nil, "another store's key is not this one's")
        store.put("k:1", [10])
        store.delete("k:2")
        store.put("k:4", [4])
        #expect(store.get("k:1") == [10] && store.get("k:2") == nil)
        #expect(store.entries(prefix: "k:").map(\.key) == ["k:1", "k:4"] && store.entries(prefix: "k:").first?.value == [10])
        // A commit takes the changes: in flight until the file has them, still what reads see.
        let taken = store.takeChanges()
        #expect(taken.count == 3 && store.count == 3, "in flight: held in memory")
        #expect(store.get("k:4") == [4] && store.entries(prefix: "").map(\.key) == ["k:1", "k:4", "other"])
        store.put("k:4", [44])
        #expect(store.get("k:4") == [44], "a change after it wins")
        try file.apply(changes: taken.map { ("s", $0.key, $0.value) }, streamTime: 0, positions: [:], changelogOffset: 2)
        store.committed()
        #expect(store.count == 1, "only the newer change is held")
        #expect(store.get("k:1") == [10] && store.get("k:2") == nil && store.get("k:4") == [44])
        let reopened = TaskStore(name: "s", file: file, cache: cache, owner: cache.newOwner())
        #expect(reopened.get("k:1") == [10] && reopened.get("k:2") == nil && reopened.get("k:4") == [4], "the file has what committed, not the newer change")
    }

    @Test(
        "what the cache counts covers what its entries allocate: 100,000 entries with keys and values as the confirmation store's take no more than 1.25 × their counted bytes from the allocator (jemalloc's count of this thread's allocations, size classes included)"
    )
    func countedBytesCoverAllocations() throws {
        try #require(millwright_allocator_serves_malloc() != 0, "the test process allocates with jemalloc (CAllocator)")
        let before = millwright_allocator_thread_net()
        let cache = StateCache(capacityBytes: 1 << 30)
        let owner = cache.newOwner()
        for i in 0..<100_000 {
            let key = "progress:WO-\(4_000_000_000 + i)-10"
            cache.set(owner: owner, store: "confirmations", key: key, value: i % 4 == 0 ? nil : Array(repeating: UInt8(i & 0xFF), count: 40))
        }
        let allocated = Double(millwright_allocator_thread_net() - before)
        let ratio = allocated / Double(cache.usedBytes)
        withExtendedLifetime(cache) {}
        #expect(ratio <= 1.25, "allocated \(Int(allocated)) bytes for \(cache.usedBytes) counted")
        #expect(ratio >= 0.5, "the count is not far above what is allocated either: \(ratio)")
    }
}
