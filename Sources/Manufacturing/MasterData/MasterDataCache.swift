import Logging
import Streams
import Synchronization

/// Master data as the processors read it: the local SQLite store (``MasterDataStore``) kept up to
/// date from the `mdm.*` topics by a ``GlobalTableLoader``, with a small in-memory front for hot
/// keys.
///
/// ```swift
/// let cache = try MasterDataCache(stateDirectory: "/var/lib/millwright", logger: logger)
/// try await cache.start(configuration: GlobalTableConfiguration(bootstrapServers: "kafka:9092"))
/// try await cache.waitUntilCaughtUp(timeout: .seconds(120))
/// let plant = cache.plant("P100")
/// ```
///
/// Lookups answer from the front or, on a miss, with one primary-key read of the store, whose
/// answer (the row or its absence) the front then keeps — at most `frontCapacity` keys per kind,
/// least recently used dropped first. Every applied batch makes the front forget the keys it
/// changed, after the batch is committed, so a lookup never answers older data than the store.
///
/// - Important: Thread-safe; lookups may come from any thread. A miss reads SQLite on the
///   calling thread: deliberately, because `MasterDataLookup` is synchronous and the read is a
///   primary-key `SELECT` on a WAL reader connection that never waits for the writer (tens of
///   microseconds; `MasterDataBenchmark` measures it). Loading runs on the loader's own thread.
///   A lookup whose store read fails is logged, counted in ``Statistics/readFailures`` and
///   answered with `nil`. Judge orders only once ``isCaughtUp`` (the contract's rule).
public final class MasterDataCache: MasterDataLookup, Sendable {
    /// What the cache has done since it was created.
    public struct Statistics: Sendable, Hashable {
        /// Records stored by the loader (applied or rejected) since ``start(configuration:)``.
        public var appliedRecords: Int
        /// Lookups answered from memory.
        public var frontHits: Int
        /// Lookups that read the store.
        public var frontMisses: Int
        /// Lookups whose store read failed (answered `nil`).
        public var readFailures: Int
    }

    /// Where the rows are.
    public let store: MasterDataStore
    private let front: MasterDataFront
    private let loader = Mutex<GlobalTableLoader?>(nil)
    private let readFailures = Atomic<Int>(0)
    private let logger: Logger

    /// - Parameter frontCapacity: keys kept in memory per kind. Default 4,096; 0 turns the front off.
    public init(store: MasterDataStore, frontCapacity: Int = 4_096, logger: Logger) {
        self.store = store
        front = MasterDataFront(capacity: max(0, frontCapacity))
        self.logger = logger
    }

    /// Opens (or creates) the store at `<stateDirectory>/master-data.sqlite`.
    public convenience init(stateDirectory: String, frontCapacity: Int = 4_096, logger: Logger) throws(MasterDataStoreError) {
        self.init(store: try MasterDataStore(stateDirectory: stateDirectory, logger: logger), frontCapacity: frontCapacity, logger: logger)
    }

    // MARK: Loading

    /// Starts loading the four master-data topics (``MasterDataTopic/all``) into the store, from
    /// the positions it holds. Returns once reading has begun; see ``waitUntilCaughtUp(timeout:)``.
    /// A cache starts once (a start that failed may be tried again); after ``stop()`` create a
    /// new one on the same store.
    /// - Throws: what ``GlobalTableLoader/start()`` throws; `.invalidState` on a second call.
    public func start(configuration: GlobalTableConfiguration) async throws(GlobalTableError) {
        let created = try GlobalTableLoader(
            configuration: configuration, topics: MasterDataTopic.all,
            sink: InvalidatingSink(store: store, front: front), logger: logger)
        try loader.withLock { (current) throws(GlobalTableError) in
            guard current == nil else {
                throw GlobalTableError(code: .invalidState, reason: "the master-data cache was already started; create a new one to start again")
            }
            current = created
        }
        do {
            try await created.start()
        } catch {
            // Not started (the cluster did not answer, a topic is missing): a later start may try again.
            loader.withLock { if $0 === created { $0 = nil } }
            throw error
        }
    }

    /// Stops loading; lookups keep answering from the store as it was. Waits for the loader's thread.
    public func stop() async {
        await loader.withLock { $0 }?.stop()
    }

    /// True while loading runs and every partition of the four topics has reached its high
    /// watermark at start. False before ``start(configuration:)``, after ``stop()`` or a failure.
    public var isCaughtUp: Bool { loader.withLock { $0 }?.isCaughtUp ?? false }

    /// Waits until ``isCaughtUp``.
    /// - Throws: `.invalidState` before ``start(configuration:)``; otherwise what
    ///   ``GlobalTableLoader/waitUntilCaughtUp(timeout:)`` throws (a timeout names the partitions
    ///   still behind; a failed batch names the records).
    public func waitUntilCaughtUp(timeout: Duration) async throws(GlobalTableError) {
        guard let current = loader.withLock({ $0 }) else {
            throw GlobalTableError(code: .invalidState, reason: "the master-data cache is not started")
        }
        try await current.waitUntilCaughtUp(timeout: timeout)
    }

    /// Returns after ``stop()``; throws what made loading fail (for example a batch the store
    /// could not write).
    public func waitUntilFinished() async throws(GlobalTableError) {
        guard let current = loader.withLock({ $0 }) else {
            throw GlobalTableError(code: .invalidState, reason: "the master-data cache is not started")
        }
        try await current.waitUntilFinished()
    }

    /// Why loading stopped, if it failed.
    public var failure: GlobalTableError? { loader.withLock { $0 }?.failure }

    /// Per master-data topic, offsets loaded towards the high watermarks at start (empty before
    /// the loader has assigned its partitions).
    public var progress: [GlobalTableProgress] { loader.withLock { $0 }?.progress ?? [] }

    /// Which partitions are still behind, or the loader's phase.
    public var lagDescription: String { loader.withLock { $0 }?.lagDescription ?? "not started" }

    /// Rows per kind and rejected records, read from the store (off the cooperative pool).
    public func counts() async throws(MasterDataStoreError) -> MasterDataCounts {
        try await store.counts()
    }

    /// Records applied, front hits and misses, failed reads; cheap to read (no I/O).
    public var statistics: Statistics {
        let front = front.statistics
        return Statistics(
            appliedRecords: loader.withLock { $0 }?.appliedRecordCount ?? 0, frontHits: front.hits,
            frontMisses: front.misses, readFailures: readFailures.load(ordering: .relaxed))
    }

    // MARK: MasterDataLookup

    /// The plant with this (upper-case) code, or `nil`.
    public func plant(_ plantCode: String) -> Plant? { lookup(Plant.self, key: plantCode) }

    /// The item with this id, or `nil`.
    public func item(_ itemId: String) -> Item? { lookup(Item.self, key: itemId) }

    /// The bill of materials of this item and revision (key `itemId:revision`), or `nil`.
    public func bom(itemId: String, revision: String) -> BillOfMaterials? {
        lookup(BillOfMaterials.self, key: BillOfMaterials.key(itemId: itemId, revision: revision))
    }

    /// The routing of this item in this plant (key `itemId:plant`), or `nil`.
    public func routing(itemId: String, plant: String) -> Routing? {
        lookup(Routing.self, key: Routing.key(itemId: itemId, plant: plant))
    }

    private func lookup<P: MasterDataPayload>(_ type: P.Type, key: String) -> P? {
        let generation: UInt64
        switch front.lookup(P.self, key: key) {
        case .hit(let value): return value
        case .miss(let readAt): generation = readAt
        }
        do {
            let value = try store.value(P.self, key: key)
            front.remember(value, key: key, readAt: generation)
            return value
        } catch {
            readFailures.add(1, ordering: .relaxed)
            logger.error(
                "master-data lookup failed; answering as if the key were unknown",
                metadata: [LogMetadataKey.key: "\(key)", LogMetadataKey.kind: "\(P.kind)", LogMetadataKey.error: "\(error)"])
            return nil
        }
    }
}

/// The loader's sink: the store, then the front forgets the keys the committed batch changed.
private struct InvalidatingSink: GlobalTableSink {
    let store: MasterDataStore
    let front: MasterDataFront

    func storedPositions() throws -> [TopicPartition: Int64] {
        try store.storedPositions()
    }

    func apply(_ records: [StreamRecord], positions: [TopicPartition: Int64]) throws {
        front.invalidate(try store.applyBatch(records, positions: positions))
    }

    func pendingOutputs(limit: Int) throws -> [GlobalTableOutput] {
        try store.pendingOutputs(limit: limit)
    }

    func outputsDelivered(_ ids: [GlobalTableOutput.ID]) throws {
        try store.outputsDelivered(ids)
    }
}
