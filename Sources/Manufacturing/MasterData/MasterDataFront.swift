import Synchronization

/// The in-memory front of ``MasterDataCache``: per kind, the most recently used rows and the keys
/// known to be absent, at most `capacity` each. A batch that changes keys makes the front forget
/// them; a read that raced with a batch is not remembered (see ``remember(_:key:readAt:)``).
///
/// - Important: Thread-safe: one `Mutex` around all of it; every operation is O(1) under it.
final class MasterDataFront: Sendable {
    /// A remembered answer: the row, or that there is none.
    enum Entry {
        case present(any MasterDataPayload)
        case absent
    }

    private struct State {
        /// Counts applied batches: a read remembers its answer only if none was applied since it began.
        var generation: UInt64 = 0
        var entries: [MasterDataKind: LeastRecentlyUsedCache<String, Entry>]
        var hits = 0
        var misses = 0
    }

    let capacity: Int
    private let state: Mutex<State>

    init(capacity: Int) {
        self.capacity = capacity
        var entries: [MasterDataKind: LeastRecentlyUsedCache<String, Entry>] = [:]
        for kind in MasterDataKind.allCases { entries[kind] = LeastRecentlyUsedCache(capacity: capacity) }
        state = Mutex(State(entries: entries))
    }

    /// What the front knows about `key`: `.hit(value)` (which may be `nil`: known absent), or
    /// `.miss(generation)` to hand to ``remember(_:key:readAt:)`` after reading the store.
    enum Lookup<P> {
        case hit(P?)
        case miss(generation: UInt64)
    }

    func lookup<P: MasterDataPayload>(_ type: P.Type, key: String) -> Lookup<P> {
        state.withLock { state in
            switch state.entries[P.kind]!.value(forKey: key) {
            case .present(let value)?:
                state.hits += 1
                return .hit(value as? P)
            case .absent?:
                state.hits += 1
                return .hit(nil)
            case nil:
                state.misses += 1
                return .miss(generation: state.generation)
            }
        }
    }

    /// Remembers what the store answered for `key`, unless a batch was applied after the read
    /// began (`generation` changed): that answer may predate the batch, and the batch's
    /// invalidation may already have run.
    func remember<P: MasterDataPayload>(_ value: P?, key: String, readAt generation: UInt64) {
        state.withLock { state in
            guard state.generation == generation else { return }
            state.entries[P.kind]!.setValue(value.map { .present($0) } ?? .absent, forKey: key)
        }
    }

    /// Forgets the keys a committed batch changed. Call after the commit.
    func invalidate(_ changes: MasterDataChanges) {
        state.withLock { state in
            state.generation &+= 1
            for (kind, keys) in changes.keys {
                for key in keys { state.entries[kind]!.removeValue(forKey: key) }
            }
        }
    }

    /// Entries held per kind, and lookups answered from memory vs from the store.
    var statistics: (entries: [MasterDataKind: Int], hits: Int, misses: Int) {
        state.withLock { state in (state.entries.mapValues(\.count), state.hits, state.misses) }
    }
}
