import Streams

/// Runs a processor without a broker: records are piped in, outputs collected, time moved by
/// hand. Stream time and the idle advance follow the same `TaskClock` as the runtime.
public final class ProcessorTestDriver {
    public let processor: any StreamProcessor
    private let context: DriverContext

    /// - Parameters:
    ///   - wallClock: the manual clock's start, ms since the epoch.
    ///   - idleTimeout: the idle advance, ms (the contract's default 60 s).
    ///   - stores: stores to start from (another driver's, to test a restore); default empty.
    public init(
        processor: any StreamProcessor, partition: Int32 = 0, wallClock: Int64, idleTimeout: Int64 = 60_000,
        stores: [String: InMemoryKeyValueStore] = [:]
    ) {
        self.processor = processor
        context = DriverContext(partition: partition, wallClock: wallClock, idleTimeout: idleTimeout)
        context.stores = stores
    }

    /// Every store the processor used, by name.
    public var stores: [String: InMemoryKeyValueStore] { context.stores }

    /// Processes one record (offsets are assigned per topic if not given), then moves stream time
    /// and flushes the processor's state to its stores.
    public func pipe(_ record: StreamRecord) throws {
        try pipe(record, flush: true)
    }

    /// Processes one record; flushes the processor's state only when asked (as the runtime does
    /// once per commit, not per record).
    public func pipe(_ record: StreamRecord, flush: Bool) throws {
        var record = record
        if record.offset < 0 {
            record.offset = context.nextOffset[record.topic, default: 0]
        }
        context.nextOffset[record.topic] = record.offset + 1
        context.pendingEventTime = nil
        try processor.process(record, context: context)
        if let eventTime = context.pendingEventTime,
            let advanced = context.clock.observe(eventTime: eventTime, wallClock: context.wallClock)
        {
            try processor.streamTimeAdvanced(to: advanced, context: context)
        }
        if flush { try processor.flush(context: context) }
    }

    /// Writes the processor's state to its stores (what the runtime does before each commit).
    public func flush() throws {
        try processor.flush(context: context)
    }

    /// Pipes a value with a key to a topic.
    public func pipe(topic: String, key: String?, value: [UInt8]?, headers: [StreamRecord.Header] = []) throws {
        try pipe(StreamRecord(topic: topic, partition: context.partition, offset: -1, key: key.map { Array($0.utf8) }, value: value, headers: headers, timestamp: context.wallClock))
    }

    /// Moves the manual wall clock forward; runs the wall-clock tick and the idle advance.
    public func advanceWallClock(by milliseconds: Int64) throws {
        context.wallClock += milliseconds
        try processor.wallClockTick(context.wallClock, context: context)
        if let advanced = context.clock.idleAdvance(wallClock: context.wallClock) {
            try processor.streamTimeAdvanced(to: advanced, context: context)
        }
        try processor.flush(context: context)
    }

    /// Everything forwarded so far, in order; clears the list.
    public func drainOutputs() -> [OutputRecord] {
        defer { context.outputs = [] }
        return context.outputs
    }

    /// Forwarded records of one topic, in order; removes them from the list.
    public func drainOutputs(topic: String) -> [OutputRecord] {
        let (matching, rest) = (context.outputs.filter { $0.topic == topic }, context.outputs.filter { $0.topic != topic })
        context.outputs = rest
        return matching
    }

    public var streamTime: Int64 { context.clock.streamTime }
    public var wallClock: Int64 { context.wallClock }
    public func store(_ name: String) -> InMemoryKeyValueStore { context.inMemoryStore(name) }
}

private final class DriverContext: ProcessorContext {
    let partition: Int32
    var wallClock: Int64
    var clock: TaskClock
    var outputs: [OutputRecord] = []
    var stores: [String: InMemoryKeyValueStore] = [:]
    var pendingEventTime: Int64?
    var nextOffset: [String: Int64] = [:]

    init(partition: Int32, wallClock: Int64, idleTimeout: Int64) {
        self.partition = partition
        self.wallClock = wallClock
        clock = TaskClock(startedAt: wallClock, idleTimeout: idleTimeout)
    }

    var streamTime: Int64 { max(clock.streamTime, pendingEventTime ?? .min) }
    func forward(_ record: OutputRecord) { outputs.append(record) }
    func store(_ name: String) -> any KeyValueStore { inMemoryStore(name) }
    func observeEventTime(_ milliseconds: Int64) { pendingEventTime = max(pendingEventTime ?? .min, milliseconds) }

    func inMemoryStore(_ name: String) -> InMemoryKeyValueStore {
        if let store = stores[name] { return store }
        let store = InMemoryKeyValueStore()
        stores[name] = store
        return store
    }
}
