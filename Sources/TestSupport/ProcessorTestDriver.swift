import Streams

/// Runs a processor without a broker: records are piped in, outputs collected, time moved by
/// hand. It drives the runtime's own task (``StreamTaskHarness``): the same event-time clock,
/// idle advance, store and position code as a worker, so a test cannot pass against behaviour
/// the runtime does not have.
public final class ProcessorTestDriver {
    public let processor: any StreamProcessor
    private let task: StreamTaskHarness
    private var outputs: [OutputRecord] = []
    /// Outputs taken from the task, still packed: read into `outputs` when asked for (so that
    /// piping records costs what it costs a worker).
    private var batches: [OutputBatch] = []
    private var nextOffset: [String: Int64] = [:]
    /// The repartition topic and key partitions, for a repartitioned processor.
    public let routing: KeyRouting?

    /// - Parameters:
    ///   - wallClock: the manual clock's start, ms since the epoch.
    ///   - idleTimeout: the idle advance, ms (the contract's default 60 s).
    ///   - stores: stores to start from (another driver's ``stores``, to test a restart): their
    ///     entries are restored into this driver's task, as a worker restores a task.
    ///   - routing: the repartition topic and key partitions of a repartitioned processor.
    public init(
        processor: any StreamProcessor, partition: Int32 = 0, wallClock: Int64, idleTimeout: Int64 = 60_000,
        stores: [String: InMemoryKeyValueStore] = [:], routing: KeyRouting? = nil
    ) {
        self.processor = processor
        self.routing = routing
        task = StreamTaskHarness(
            processor: processor, partition: partition, wallClock: wallClock, idleTimeout: idleTimeout,
            stores: stores.mapValues { $0.entries(prefix: "") }, routing: routing)
    }

    /// A driver whose task keeps its stores on disk as a worker does: in a task state file under
    /// `directory` (a fresh one), read through `cache` (a ``StateCache`` bounded in bytes or
    /// entries); each flush commits to the file.
    public init(
        processor: any StreamProcessor, partition: Int32 = 0, wallClock: Int64, idleTimeout: Int64 = 60_000,
        stores: [String: InMemoryKeyValueStore] = [:], routing: KeyRouting? = nil, directory: String, cache: StateCache
    ) throws {
        self.processor = processor
        self.routing = routing
        task = try StreamTaskHarness(
            processor: processor, partition: partition, wallClock: wallClock, idleTimeout: idleTimeout,
            stores: stores.mapValues { $0.entries(prefix: "") }, routing: routing, directory: directory, cache: cache)
    }

    /// A copy of every store the processor used, by name, as it is now (for a restart).
    public var stores: [String: InMemoryKeyValueStore] {
        task.storeContents.mapValues { entries in
            let store = InMemoryKeyValueStore()
            for entry in entries { store.put(entry.key, entry.value) }
            return store
        }
    }

    /// Processes one record (offsets are assigned per topic if not given), then moves stream time
    /// and flushes the processor's state to its stores.
    public func pipe(_ record: StreamRecord) throws {
        try pipe(record, flush: true)
    }

    /// Processes one record; flushes the processor's state only when asked (as the runtime does
    /// once per commit, not per record).
    public func pipe(_ record: StreamRecord, flush: Bool) throws {
        var record = record
        // A record of the repartition topic carries its origin in its headers, as a worker reads it.
        if record.topic == routing?.topic, record.origin == nil { record.origin = RecordOrigin(headers: record.headers) }
        if record.offset < 0 {
            record.offset = nextOffset[record.topic, default: 0]
        }
        nextOffset[record.topic] = record.offset + 1
        try task.process(record, now: task.wallClock)
        if flush { try task.flush() }
        takeOutputs()
    }

    private func takeOutputs() {
        let batch = task.takeOutputBatch()
        if !batch.isEmpty { batches.append(batch) }
    }

    private func readOutputs() {
        takeOutputs()
        for batch in batches { outputs += batch.records }
        batches = []
    }

    /// Writes the processor's state to its stores (what the runtime does before each commit).
    public func flush() throws {
        try task.flush()
        takeOutputs()
    }

    /// Pipes a value with a key to a topic.
    public func pipe(topic: String, key: String?, value: [UInt8]?, headers: [StreamRecord.Header] = []) throws {
        try pipe(
            StreamRecord(
                topic: topic, partition: task.partition, offset: -1, key: key.map { Array($0.utf8) }, value: value, headers: headers, timestamp: task.wallClock)
        )
    }

    /// Moves the manual wall clock forward; runs the wall-clock tick and the idle advance.
    public func advanceWallClock(by milliseconds: Int64) throws {
        try task.tick(now: task.wallClock + milliseconds)
        try task.flush()
        takeOutputs()
    }

    /// Everything forwarded so far, in order; clears the list.
    public func drainOutputs() -> [OutputRecord] {
        readOutputs()
        defer { outputs = [] }
        return outputs
    }

    /// Forwarded records of one topic, in order; removes them from the list.
    public func drainOutputs(topic: String) -> [OutputRecord] {
        readOutputs()
        let (matching, rest) = (outputs.filter { $0.topic == topic }, outputs.filter { $0.topic != topic })
        outputs = rest
        return matching
    }

    public var streamTime: Int64 { task.streamTime }
    public var wallClock: Int64 { task.wallClock }
    /// A store of the task, live: reads see every later change.
    public func store(_ name: String) -> any KeyValueStore { task.store(name) }
}
