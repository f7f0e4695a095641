import Logging
import Synchronization

/// A Kafka consumer over librdkafka: group subscription (topic list or regex) with a rebalance
/// hook, or manual assignment; manual offset store and commit; seek, pause and resume; offsets for
/// times and watermarks; messages as ``KafkaConsumerMessages`` or in batches.
///
/// - Important: Offsets are never committed by themselves (`enable.auto.commit=false` unless
///   configured): store what you finished and commit. Poll from one thread at a time: the
///   synchronous `poll` calls block the calling thread; the async ones and the sequences hop to the
///   consumer's own queue. Other calls are thread-safe.
public final class KafkaConsumer: Sendable {
    public let configuration: KafkaConsumerConfiguration
    let client: RDKafkaClient
    let blocking: BlockingQueue
    let logger: Logger
    private let closed = Atomic<Bool>(false)
    let waker: FetchWaker?

    public init(
        configuration: KafkaConsumerConfiguration, logger: Logger,
        statisticsHandler: (@Sendable (String) -> Void)? = nil
    ) throws(KafkaError) {
        self.configuration = configuration
        self.logger = logger
        client = try RDKafkaClient(
            kind: .consumer, properties: try configuration.properties(), logger: logger,
            statisticsHandler: statisticsHandler, configure: RDKafkaClient.installConsumerCallbacks)
        blocking = BlockingQueue(label: "millwright.kafka.consumer")
        // The prefetch librdkafka was given, whichever setting gave it: a waker that counts to half
        // of a larger one than the queue holds never fires, and the loop waits out librdkafka's pauses.
        waker = configuration.wakeFetcherAfterDrain ? FetchWaker(client: client, prefetch: configuration.effectivePrefetchedMessages) : nil
    }

    deinit {
        waker?.stop()
        if !closed.load(ordering: .acquiring) {
            try? client.closeConsumer()
        }
    }

    // MARK: Subscription

    /// Joins the group for these topics. A name starting with `^` is a regex.
    public func subscribe(topics: [String], listener: (any KafkaRebalanceListener)? = nil) throws(KafkaError) {
        try checkOpen()
        guard configuration.groupID != nil else {
            throw .configuration("groupID: subscribing needs a consumer group")
        }
        installListener(listener)
        try client.subscribe(topics: topics)
    }

    /// Joins the group for every topic matching `regex` (librdkafka regex syntax, for example
    /// `mes\..*\.production-release\.v1`).
    public func subscribe(pattern regex: String, listener: (any KafkaRebalanceListener)? = nil) throws(KafkaError) {
        try subscribe(topics: [regex.hasPrefix("^") ? regex : "^" + regex], listener: listener)
    }

    public func unsubscribe() throws(KafkaError) { try client.unsubscribe() }

    /// Reads these partitions from these offsets without a group (or besides it).
    public func assign(_ positions: [KafkaTopicPartitionOffset]) throws(KafkaError) {
        try checkOpen()
        try client.assign(positions)
    }

    /// Adds these partitions, read from these offsets, to what this consumer reads (no group: a
    /// consumer that was given partitions by another one). Wakes the fetchers.
    public func incrementalAssign(_ positions: [KafkaTopicPartitionOffset]) throws(KafkaError) {
        try checkOpen()
        try client.incrementalAssign(positions)
        // As after a resume: librdkafka 2.0.2 starts fetching the new partitions only when their
        // broker thread next wakes (up to a second; 1.5 s before the first records in a test).
        waker?.wake()
    }

    /// Stops reading these partitions (the rest of the assignment stays).
    public func incrementalUnassign(_ partitions: [KafkaTopicPartition]) throws(KafkaError) {
        try checkOpen()
        try client.incrementalUnassign(partitions)
    }

    /// The partitions currently assigned to this consumer.
    public func assignment() throws(KafkaError) -> [KafkaTopicPartition] { try client.assignment() }

    private func installListener(_ listener: (any KafkaRebalanceListener)?) {
        guard let listener else {
            client.context.rebalanceHandler.withLock { $0 = nil }
            return
        }
        client.context.rebalanceHandler.withLock {
            $0 = { [weak self] rebalance in
                guard let self else { return }
                switch rebalance.kind {
                case .assigned: listener.partitionsAssigned(rebalance.partitions, consumer: self)
                case .revoked: listener.partitionsRevoked(rebalance.partitions, consumer: self)
                case .lost: listener.partitionsLost(rebalance.partitions, consumer: self)
                }
            }
        }
    }

    // MARK: Polling

    /// Waits up to `timeout` for the next event. Blocks the calling thread.
    public func poll(timeout: Duration) throws(KafkaError) -> KafkaConsumerEvent? {
        try pollBatch(maxMessages: 1, timeout: timeout).first
    }

    /// Returns up to `maxMessages` events, waiting at most `timeout` for the first ones.
    /// Blocks the calling thread; rebalance hooks run inside this call.
    public func pollBatch(maxMessages: Int = 1000, timeout: Duration) throws(KafkaError) -> [KafkaConsumerEvent] {
        try checkOpen()
        let events = try client.consumeBatch(maxMessages: maxMessages, timeoutMilliseconds: timeout.millisecondsInt32)
        waker?.polled(asked: maxMessages, got: events.count)
        return events
    }

    /// `pollBatch` on the consumer's own queue.
    public func pollBatch(maxMessages: Int = 1000, timeout: Duration) async throws(KafkaError) -> [KafkaConsumerEvent] {
        try await blocking.run { [self] () throws(KafkaError) in
            try pollBatch(maxMessages: maxMessages, timeout: timeout)
        }
    }

    /// Every message, in order per partition. Ends when the consumer is closed or the task is
    /// cancelled.
    public var messages: KafkaConsumerMessages { KafkaConsumerMessages(events: events) }

    /// Messages and partition-EOF markers.
    public var events: KafkaConsumerEvents { KafkaConsumerEvents(consumer: self) }

    // MARK: Offsets

    /// Marks positions as done (offset = next to read); ``commit(_:)`` with `nil` commits them.
    public func storeOffsets(_ offsets: [KafkaTopicPartitionOffset]) throws(KafkaError) {
        try client.storeOffsets(offsets)
    }

    /// Marks a message as done: stores `offset + 1` for its partition.
    public func storeOffset(for message: KafkaConsumerMessage) throws(KafkaError) {
        try client.storeOffsets([KafkaTopicPartitionOffset(message.topicPartition, offset: message.offset + 1)])
    }

    /// Commits `offsets` (or the stored ones when `nil`) and waits for the coordinator.
    /// Blocks the calling thread.
    public func commit(_ offsets: [KafkaTopicPartitionOffset]? = nil) throws(KafkaError) {
        try client.commit(offsets, asynchronous: false)
    }

    public func commit(_ offsets: [KafkaTopicPartitionOffset]? = nil) async throws(KafkaError) {
        try await blocking.run { [self] () throws(KafkaError) in try commit(offsets) }
    }

    /// Commits without waiting. The outcome goes to `onResult` (on the polling thread) if given,
    /// otherwise failures are logged.
    public func commitAsync(
        _ offsets: [KafkaTopicPartitionOffset]? = nil,
        onResult: (@Sendable (Result<[KafkaTopicPartitionOffset], KafkaError>) -> Void)? = nil
    ) throws(KafkaError) {
        let logger = self.logger
        client.context.commitHandler.withLock {
            $0 =
                onResult ?? { result in
                    if case .failure(let error) = result { logger.warning("async commit failed", metadata: ["error": "\(error)"]) }
                }
        }
        try client.commit(offsets, asynchronous: true)
    }

    /// The group's committed offsets for these partitions (`KafkaOffset.invalid` when none).
    /// Blocks the calling thread up to `timeout`.
    public func committed(_ partitions: [KafkaTopicPartition], timeout: Duration = .seconds(10)) throws(KafkaError) -> [KafkaTopicPartitionOffset] {
        try client.committed(partitions, timeout: timeout)
    }

    public func committed(_ partitions: [KafkaTopicPartition], timeout: Duration = .seconds(10)) async throws(KafkaError) -> [KafkaTopicPartitionOffset] {
        try await blocking.run { [self] () throws(KafkaError) in try committed(partitions, timeout: timeout) }
    }

    /// The next offset this consumer will return for each partition (local, does not block).
    public func position(_ partitions: [KafkaTopicPartition]) throws(KafkaError) -> [KafkaTopicPartitionOffset] {
        try client.position(partitions)
    }

    /// Moves the fetch position of assigned partitions. Blocks up to `timeout`.
    public func seek(_ offsets: [KafkaTopicPartitionOffset], timeout: Duration = .seconds(10)) throws(KafkaError) {
        try client.seek(offsets, timeout: timeout)
    }

    public func seek(_ offsets: [KafkaTopicPartitionOffset], timeout: Duration = .seconds(10)) async throws(KafkaError) {
        try await blocking.run { [self] () throws(KafkaError) in try seek(offsets, timeout: timeout) }
    }

    /// Stops fetching these partitions until ``resume(_:)``; the assignment is kept.
    public func pause(_ partitions: [KafkaTopicPartition]) throws(KafkaError) { try client.pause(partitions) }

    public func resume(_ partitions: [KafkaTopicPartition]) throws(KafkaError) {
        try client.resume(partitions)
        waker?.wake()  // librdkafka 2.0.2 fetches a resumed partition only when its broker thread wakes
    }

    /// For each partition the earliest offset whose timestamp is ≥ the given one (milliseconds
    /// since the epoch), or `KafkaOffset.end` when there is none.
    public func offsetsForTimes(
        _ timestamps: [KafkaTopicPartition: Int64], timeout: Duration = .seconds(10)
    ) async throws(KafkaError) -> [KafkaTopicPartitionOffset] {
        let query = timestamps.map { KafkaTopicPartitionOffset($0.key, offset: $0.value) }
        return try await blocking.run { [client] () throws(KafkaError) in try client.offsetsForTimes(query, timeout: timeout) }
    }

    /// Low and high watermark, asked of the partition leader.
    public func watermarks(_ partition: KafkaTopicPartition, timeout: Duration = .seconds(10)) async throws(KafkaError) -> KafkaWatermarks {
        try await blocking.run { [client] () throws(KafkaError) in try client.queryWatermarks(partition, timeout: timeout) }
    }

    /// Blocking form of ``watermarks(_:timeout:)``.
    public func watermarks(_ partition: KafkaTopicPartition, timeout: Duration = .seconds(10)) throws(KafkaError) -> KafkaWatermarks {
        try client.queryWatermarks(partition, timeout: timeout)
    }

    /// The watermarks librdkafka last saw for a partition this consumer fetches: no broker round
    /// trip (does not block).
    public func cachedWatermarks(_ partition: KafkaTopicPartition) throws(KafkaError) -> KafkaWatermarks {
        try client.cachedWatermarks(partition)
    }

    /// Every topic the cluster has, with its partitions (a listing: it never makes a cluster
    /// create a topic on first use). Blocks up to `timeout`.
    public func topics(timeout: Duration = .seconds(10)) throws(KafkaError) -> [KafkaTopicMetadata] { try client.metadata(timeout: timeout) }

    /// What a transactional producer needs to send this consumer's offsets into a transaction.
    public func groupMetadata() throws(KafkaError) -> KafkaConsumerGroupMetadata { try client.groupMetadata() }

    /// This member's id in the group, once joined.
    public var memberID: String? { client.memberID }

    /// The group dropped this member (session timed out, unknown member or generation): its
    /// partitions may belong to another member already, and a transaction holding their outputs
    /// must not commit. True from the moment librdkafka notices, before the rebalance listener's
    /// `partitionsLost` runs; false again with the next assignment.
    /// - Important: Safe from any thread (a transaction's committer thread asks it).
    public var assignmentLost: Bool { client.assignmentLost }

    /// Rounds sent to wake librdkafka's fetchers after a drained queue (``KafkaConsumerConfiguration/wakeFetcherAfterDrain``).
    public var fetcherWakeups: Int { waker?.rounds ?? 0 }

    /// Since when the consumer has had no connection to any broker (librdkafka reported all
    /// brokers down), or `nil` while it reaches the cluster. Cleared by a statistics report with a
    /// broker up (`statisticsInterval` set) or by ``clusterReached()``.
    public var allBrokersDownSince: ContinuousClock.Instant? { client.context.allBrokersDownSince.withLock { $0 } }

    /// Tells the consumer a request to the cluster has just succeeded (a commit, a watermark
    /// query): the brokers are reachable again.
    public func clusterReached() { client.context.allBrokersDownSince.withLock { $0 = nil } }

    /// The latest statistics JSON, when `statisticsInterval` is set.
    public var latestStatistics: String? { client.context.latestStatistics.withLock { $0 } }

    // MARK: Closing

    /// Leaves the group (the revoke hook runs first) and stops fetching. Blocks the calling thread.
    public func close() throws(KafkaError) {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        waker?.stop()
        // The listener (often the owner of this consumer) is let go once the close's revoke ran:
        // the handler holds it, so keeping it would keep both alive, librdkafka handles included.
        defer { client.context.rebalanceHandler.withLock { $0 = nil } }
        try client.closeConsumer()
    }

    public func close() async throws(KafkaError) {
        try await blocking.run { [self] () throws(KafkaError) in try close() }
    }

    public var isClosed: Bool { closed.load(ordering: .acquiring) }

    private func checkOpen() throws(KafkaError) {
        if closed.load(ordering: .acquiring) { throw .closed("consumer") }
    }
}
