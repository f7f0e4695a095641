/// What one applied batch changed: the keys upserted or deleted per kind, and how many records
/// were applied and rejected. The cache's in-memory front forgets exactly these keys.
struct MasterDataChanges: Sendable, Equatable {
    /// Keys whose row was written or deleted, per kind.
    var keys: [MasterDataKind: Set<String>] = [:]
    /// Records applied (upserts and tombstones).
    var applied = 0
    /// Records stored as rejected.
    var rejected = 0

    mutating func changed(_ kind: MasterDataKind, _ key: String) {
        keys[kind, default: []].insert(key)
        applied += 1
    }
}
