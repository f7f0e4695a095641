import Kafka
import Logging

/// Keeps a local copy of some topics, like Kafka Streams' `GlobalKTable`: every instance reads
/// every partition of the topics (no consumer group), hands what it reads to a
/// ``GlobalTableSink`` batch by batch together with the new positions, and says when it has
/// caught up with what the topics held when it started.
///
/// ```swift
/// let loader = try GlobalTableLoader(configuration: configuration, topics: ["mdm.item.v1"], sink: store, logger: logger)
/// try await loader.start()
/// try await loader.waitUntilCaughtUp(timeout: .seconds(60))
/// // … serve lookups; the loader keeps applying new records …
/// await loader.stop()
/// ```
///
/// Reading starts at the sink's stored positions (from the beginning for partitions it has none
/// for), with `read_committed`. *Caught up* means: every partition's position has reached the
/// high watermark it had at start, or the consumer reported the partition's end (empty partitions
/// and partitions that end in transaction markers count). Records that arrive later, and
/// partitions added later (found every ``GlobalTableConfiguration/partitionRefreshInterval``),
/// keep being applied but never take the caught-up state back.
///
/// A sink error stops the loader: nothing is skipped. The error is thrown by
/// ``waitUntilCaughtUp(timeout:)`` and ``waitUntilFinished()`` and kept in ``failure``; a new
/// loader on the same sink reads the failed batch again.
///
/// What the sink keeps in its outbox (``GlobalTableSink/pendingOutputs(limit:)``: the dead letters
/// of records it rejected, stored with the batch) the loader produces on a producer of its own,
/// idempotent and not transactional, and reports each acknowledged record back to the sink. A
/// delivery that fails is logged and tried again after a backoff (0.5 s doubling to 30 s); it
/// never stops the loader. At least once: a record acknowledged just before the process ended,
/// before the sink stored that, is sent again by the next loader.
///
/// - Important: Thread-safe. Polling and every sink call run on one dedicated thread
///   (`millwright.global-table`), never on Swift's cooperative pool; the `async` methods only
///   wait. Call ``stop()`` when done; a loader dropped without it stops its thread at the next
///   poll but does not wait for it.
public final class GlobalTableLoader: Sendable {
    /// The topics read, as given.
    public let topics: [String]
    /// The settings, as given (validated when the loader was created).
    public let configuration: GlobalTableConfiguration
    private let runner: GlobalTableRunner

    /// Creates the loader and its consumer; nothing is read before ``start()``.
    /// - Throws: `.configuration` when a setting or the topic list is not usable (the reason
    ///   names it), or when librdkafka refuses a client property.
    public convenience init(
        configuration: GlobalTableConfiguration, topics: [String], sink: any GlobalTableSink, logger: Logger
    ) throws(GlobalTableError) {
        let admin: KafkaAdminClient
        do {
            try configuration.validate()
            admin = try KafkaAdminClient(configuration: configuration.client, logger: logger)
        } catch let error as GlobalTableError {
            throw error
        } catch {
            throw GlobalTableError(code: .configuration, reason: "cannot create the admin client that lists partitions", underlying: error)
        }
        try self.init(configuration: configuration, topics: topics, sink: sink, logger: logger) { timeout throws(KafkaError) in
            try await admin.listTopics(timeout: timeout)
        }
    }

    /// - Parameter discover: lists the cluster's topics and partitions (tests replace it to make
    ///   partitions appear later).
    init(
        configuration: GlobalTableConfiguration, topics: [String], sink: any GlobalTableSink, logger: Logger,
        discover: @escaping GlobalTableRunner.Discover
    ) throws(GlobalTableError) {
        try configuration.validate()
        if topics.isEmpty { throw GlobalTableError(code: .configuration, reason: "topics: at least one topic is required") }
        if let empty = topics.firstIndex(where: { $0.isEmpty }) {
            throw GlobalTableError(code: .configuration, reason: "topics[\(empty)]: a topic name must not be empty")
        }
        if Set(topics).count != topics.count {
            throw GlobalTableError(code: .configuration, reason: "topics: \(topics.joined(separator: ", ")) lists a topic twice")
        }
        self.topics = topics
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: LogMetadataKey.topics] = "\(topics.joined(separator: ","))"
        runner = try GlobalTableRunner(configuration: configuration, topics: topics, sink: sink, logger: logger, discover: discover)
    }

    deinit {
        runner.requestStopWithoutWaiting()
    }

    /// Finds every partition of the topics (retrying up to `startTimeout` while a topic is missing
    /// or the cluster does not answer), reads the sink's stored positions and the high watermarks,
    /// assigns every partition and starts polling. Returns once polling has begun.
    /// - Throws: `.unknownTopic` naming a topic that does not exist; `.kafka` when the cluster
    ///   cannot be reached or refuses; `.sink` when the stored positions cannot be read;
    ///   `.stopped` when ``stop()`` came first; `.invalidState` on a second call.
    public func start() async throws(GlobalTableError) {
        try await runner.start()
    }

    /// Stops polling, closes the consumer and returns once the polling thread has ended (at most
    /// one `pollTimeout` plus a running sink call, plus up to `outboxStopTimeout` for the delivery
    /// reports of outputs in flight). The batch being applied is finished, not cut. Calling it
    /// again, or before ``start()``, is fine.
    public func stop() async {
        await runner.stop()
    }

    /// True while the loader runs and every partition has reached its high watermark at start (or
    /// its end). False before ``start()``, while loading, and after a stop or a failure.
    public var isCaughtUp: Bool { runner.isCaughtUp }

    /// Waits until ``isCaughtUp``; returns at once when it already is.
    /// - Throws: `.timedOut` naming the partitions still behind; the loader's failure if it
    ///   failed; `.stopped` if it was stopped; `.cancelled` if the task was.
    public func waitUntilCaughtUp(timeout: Duration) async throws(GlobalTableError) {
        try await runner.wait(.catchUp, timeout: timeout)
    }

    /// Waits until the loader has finished: returns after a ``stop()``, throws what made it fail.
    /// For a service whose `run()` should end (or fail) with the loader.
    public func waitUntilFinished() async throws(GlobalTableError) {
        try await runner.wait(.finish, timeout: nil)
    }

    /// The error the loader stopped with, if it failed.
    public var failure: GlobalTableError? { runner.failure }

    /// Records handed to the sink and stored since ``start()``.
    public var appliedRecordCount: Int { runner.appliedRecordCount }

    /// Which partitions are still behind and where (`mdm.item.v1[2] at 120 of 400`), or the phase.
    public var lagDescription: String { runner.lagDescription }

    /// Per topic, offsets loaded towards the high watermarks the partitions had when loading began.
    public var progress: [GlobalTableProgress] { runner.progress }
}
