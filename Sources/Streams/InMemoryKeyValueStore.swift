/// A key-value store in memory, kept sorted for prefix scans. Used by the test driver and as the
/// cache in front of the durable stores.
public final class InMemoryKeyValueStore: KeyValueStore {
    private var entries: [String: [UInt8]] = [:]

    public init() {}

    public func get(_ key: String) -> [UInt8]? { entries[key] }
    public func put(_ key: String, _ value: [UInt8]) { entries[key] = value }
    public func delete(_ key: String) { entries[key] = nil }

    public func entries(prefix: String) -> [(key: String, value: [UInt8])] {
        entries.filter { $0.key.hasPrefix(prefix) }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// Number of entries.
    public var count: Int { entries.count }
}
