/// A stream processor: turns input records into output records, keeping its state in the
/// context's stores. It knows records, stores and time — not Kafka.
///
/// One instance serves one task (one partition number of its co-partitioned inputs); the runtime
/// calls it from one thread at a time, so it needs no locking. Every effect goes through the
/// context, so that the runtime can commit outputs, state changes and input positions together.
public protocol StreamProcessor: AnyObject {
    /// Called once, on the task's thread, before anything else reaches the processor and after
    /// the task's stores were restored: read state, schedule punctuations
    /// (``ProcessorContext/schedule(_:every:_:)``). Default: nothing.
    func initialize(context: any ProcessorContext) throws

    /// Handles one input record. Call `context.observeEventTime(_:)` with the record's event time
    /// (stream time is the highest one seen on the task).
    func process(_ record: StreamRecord, context: any ProcessorContext) throws

    /// Writes state cached in memory to the context's stores. The runtime calls it before every
    /// commit; a processor that writes its stores directly needs nothing here.
    func flush(context: any ProcessorContext) throws

    /// Sizes of the processor's state for the metrics (`millwright_processor_state`, one series
    /// per name): open windows, work orders held in memory… Names come from a fixed set. Called on
    /// the task's thread about once a second. Default: none.
    func stateSizes() -> [(name: String, value: Int)]
}

extension StreamProcessor {
    public func initialize(context: any ProcessorContext) throws {}
    public func flush(context: any ProcessorContext) throws {}
    public func stateSizes() -> [(name: String, value: Int)] { [] }
}

/// What a processor may do: forward records, use its stores, read the clocks.
public protocol ProcessorContext: AnyObject {
    /// The task's partition number.
    var partition: Int32 { get }
    /// The highest event time seen on the task (or moved up by the idle advance), in ms since the
    /// epoch; `Int64.min` before the first event.
    var streamTime: Int64 { get }
    /// The wall clock, in ms since the epoch (a manual clock in tests).
    var wallClock: Int64 { get }
    /// Sends a record downstream; it becomes visible when the runtime commits.
    func forward(_ record: OutputRecord)
    /// A key-value store of this task, by name. Its changes are committed with the outputs.
    func store(_ name: String) -> any KeyValueStore
    /// The task (partition number) that owns `key` among the processor's key-partitioned inputs,
    /// when the processor is repartitioned (``ProcessorDefinition/repartitions``); `nil` when it is
    /// not: every record is taken where it is.
    func owner(ofKey key: String) -> Int32?
    /// Forwards `record` to the task that owns `key` (``owner(ofKey:)``) through the processor's
    /// repartition topic, with this task's commit: exactly once, as the task's other outputs. It
    /// reaches that task's `process` with ``StreamRecord/origin`` set. For a repartitioned
    /// processor only: elsewhere the call fails the record's processing (a processor error).
    func repartition(_ record: StreamRecord, key: String)
    /// Reports the event time of the record being processed.
    func observeEventTime(_ milliseconds: Int64)
    /// Calls `punctuator` every `interval` ms of stream time or of the wall clock (see
    /// ``Punctuation``) until it is cancelled: windows close on stream time, timeouts run on the
    /// wall clock. Its outputs and store changes commit with the task's next commit.
    @discardableResult
    func schedule(_ type: PunctuationType, every interval: Int64, _ punctuator: @escaping Punctuation.Punctuator) -> Punctuation
}

/// A task's key-value state. Keys are text; values are bytes (the processors store JSON).
///
/// - Important: Only the task's thread uses it. Changes are applied and logged together with the
///   outputs of the same commit.
public protocol KeyValueStore: AnyObject {
    func get(_ key: String) -> [UInt8]?
    func put(_ key: String, _ value: [UInt8])
    func delete(_ key: String)
    /// Every entry whose key starts with `prefix`, in key order.
    func entries(prefix: String) -> [(key: String, value: [UInt8])]
}
