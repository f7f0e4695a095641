import Foundation
import Logging
import Synchronization

/// A Kafka producer over librdkafka: key, value, headers, explicit partition or the default
/// partitioner, timestamp; idempotent by default; transactional with a `transactionalID`.
///
/// - Important: Thread-safe. The `send` calls never block on the network (they only wait when
///   librdkafka's local queue is full). Calls that wait for brokers come in two forms: `async`
///   ones hop to a dedicated queue; the synchronous ones block the calling thread and are for code
///   that already runs on a thread of its own (for example a rebalance hook).
public final class KafkaProducer: Sendable {
    public let configuration: KafkaProducerConfiguration
    let client: RDKafkaClient
    private let pollLoop: PollLoop
    let blocking: BlockingQueue
    private let closed = Atomic<Bool>(false)
    let logger: Logger

    /// Creates the producer; librdkafka checks every property here.
    /// - Parameter statisticsHandler: receives librdkafka's statistics JSON every
    ///   `statisticsInterval`, on the polling thread.
    public init(
        configuration: KafkaProducerConfiguration, logger: Logger,
        statisticsHandler: (@Sendable (String) -> Void)? = nil
    ) throws(KafkaError) {
        self.configuration = configuration
        self.logger = logger
        client = try RDKafkaClient(
            kind: .producer, properties: try configuration.properties(), logger: logger,
            statisticsHandler: statisticsHandler, configure: RDKafkaClient.installDeliveryCallback)
        pollLoop = PollLoop(name: "kafka-prod-poll", client: client)
        blocking = BlockingQueue(label: "millwright.kafka.producer")
    }

    deinit {
        pollLoop.stop()
    }

    /// Enqueues a record without waiting for its delivery. A failed delivery is logged and counted
    /// in ``untrackedDeliveryFailures``; ``flush(timeout:)`` reports it.
    public func send(_ message: KafkaProducerMessage) throws(KafkaError) {
        try checkOpen()
        try client.produce(message, waiter: nil, queueFullTimeout: configuration.messageTimeout)
    }

    /// Sends one packed record (copied from its buffer) with `extraHeader` after its own headers,
    /// as ``send(_:)`` does a message: no report awaited, a failure counted in
    /// ``untrackedDeliveryFailures``.
    public func send(_ record: KafkaPackedRecords.Record, extraHeader: KafkaHeader? = nil) throws(KafkaError) {
        try checkOpen()
        try client.produce(record, extraHeader: extraHeader, queueFullTimeout: configuration.messageTimeout)
    }

    /// Sends one record and waits for its delivery report.
    @discardableResult
    public func sendAndAwait(_ message: KafkaProducerMessage) async throws(KafkaError) -> KafkaDeliveryReport {
        try checkOpen()
        let result: Result<KafkaDeliveryReport, KafkaError> = await withCheckedContinuation { continuation in
            let waiter = SingleDelivery(continuation)
            do throws(KafkaError) {
                try client.produce(message, waiter: waiter, queueFullTimeout: configuration.messageTimeout)
            } catch {
                continuation.resume(returning: .failure(error))
            }
        }
        return try result.get()
    }

    /// Sends records and waits for all their delivery reports, returned in the same order.
    /// Throws the first failure once every record has a report.
    public func send(batch messages: [KafkaProducerMessage]) async throws(KafkaError) -> [KafkaDeliveryReport] {
        try checkOpen()
        if messages.isEmpty { return [] }
        let results: [Result<KafkaDeliveryReport, KafkaError>] = await withCheckedContinuation { continuation in
            let batch = BatchDelivery(count: messages.count, continuation)
            for (index, message) in messages.enumerated() {
                do throws(KafkaError) {
                    try client.produce(
                        message, waiter: BatchDelivery.Slot(batch: batch, index: index),
                        queueFullTimeout: configuration.messageTimeout)
                } catch {
                    batch.complete(index: index, .failure(error))
                }
            }
        }
        var reports: [KafkaDeliveryReport] = []
        reports.reserveCapacity(results.count)
        for result in results { reports.append(try result.get()) }
        return reports
    }

    /// Records sent with ``send(_:)`` whose delivery failed, since the producer was created.
    public var untrackedDeliveryFailures: Int {
        client.context.untrackedDeliveryFailures.load(ordering: .relaxed)
    }

    /// Of ``untrackedDeliveryFailures``, those not purged by an abort or a close: records that
    /// were to be delivered and were not. (An aborted transaction's purged records report their
    /// failures on the poll thread, possibly after the next transaction began.)
    public var untrackedDeliveryFailuresNotPurged: Int {
        client.context.untrackedDeliveryFailuresNotPurged.load(ordering: .relaxed)
    }

    /// Records still queued or in flight.
    public var outstandingCount: Int { client.outstandingCount }

    /// Looks up these topics' partitions before the first send to them, so that first send is
    /// not held back by the lookup (about half a second). Topics that do not exist are skipped.
    /// Blocks up to `timeout` per topic.
    public func prepareTopics(_ names: [String], timeout: Duration = .seconds(5)) {
        client.prepareTopics(names, timeout: timeout)
    }

    /// The latest statistics JSON, when `statisticsInterval` is set.
    public var latestStatistics: String? { client.context.latestStatistics.withLock { $0 } }

    /// Waits until every record is delivered or failed. Blocks the calling thread.
    public func flush(timeout: Duration) throws(KafkaError) {
        try client.flush(timeout: timeout)
        if let error = client.context.lastDeliveryError.withLock({ e in
            defer { e = nil }
            return e
        }) {
            throw error
        }
    }

    /// Waits until every record is delivered or failed.
    public func flush(timeout: Duration) async throws(KafkaError) {
        try await blocking.run { [self] () throws(KafkaError) in try flush(timeout: timeout) }
    }

    /// Flushes (up to `timeout`) and stops serving callbacks. Further sends fail with `.closed`.
    public func close(timeout: Duration = .seconds(10)) async {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        do {
            try await blocking.run { [self] () throws(KafkaError) in try client.flush(timeout: timeout) }
        } catch {
            logger.warning("producer closed with records undelivered", metadata: ["error": "\(error)"])
        }
        pollLoop.stop()
    }

    func checkOpen() throws(KafkaError) {
        if closed.load(ordering: .acquiring) { throw .closed("producer") }
    }
}

/// Resumes one continuation with one delivery report.
private final class SingleDelivery: RDKafkaDeliveryWaiter, @unchecked Sendable {
    // @unchecked: `continuation` is resumed exactly once, by librdkafka's single report.
    private let continuation: CheckedContinuation<Result<KafkaDeliveryReport, KafkaError>, Never>

    init(_ continuation: CheckedContinuation<Result<KafkaDeliveryReport, KafkaError>, Never>) {
        self.continuation = continuation
    }

    override func complete(_ result: Result<KafkaDeliveryReport, KafkaError>) {
        continuation.resume(returning: result)
    }
}

/// Collects the reports of a batch; resumes once all are in.
private final class BatchDelivery: Sendable {
    typealias Results = [Result<KafkaDeliveryReport, KafkaError>]

    final class Slot: RDKafkaDeliveryWaiter, @unchecked Sendable {
        // @unchecked: immutable after init; the batch is Sendable.
        let batch: BatchDelivery
        let index: Int

        init(batch: BatchDelivery, index: Int) {
            self.batch = batch
            self.index = index
        }

        override func complete(_ result: Result<KafkaDeliveryReport, KafkaError>) {
            batch.complete(index: index, result)
        }
    }

    private struct State {
        var results: Results
        var remaining: Int
    }

    private let state: Mutex<State>
    private let continuation: CheckedContinuation<Results, Never>

    init(count: Int, _ continuation: CheckedContinuation<Results, Never>) {
        let placeholder = KafkaError.invalidState("no delivery report")
        state = Mutex(State(results: Array(repeating: .failure(placeholder), count: count), remaining: count))
        self.continuation = continuation
    }

    func complete(index: Int, _ result: Result<KafkaDeliveryReport, KafkaError>) {
        let done: Results? = state.withLock { s in
            s.results[index] = result
            s.remaining -= 1
            return s.remaining == 0 ? s.results : nil
        }
        if let done { continuation.resume(returning: done) }
    }
}

/// The delivery report of one record, to be waited for on a thread that may block.
public final class KafkaDeliveryTicket: Sendable {
    fileprivate let waiter = TicketWaiter()

    /// Blocks until the report arrives (or `timeout` passes).
    public func wait(timeout: Duration = .seconds(60)) throws(KafkaError) -> KafkaDeliveryReport {
        try waiter.wait(timeout: timeout)
    }

    /// The report if it has arrived, without waiting: `nil` while the record is still queued or
    /// in flight.
    public var result: Result<KafkaDeliveryReport, KafkaError>? { waiter.result.withLock { $0 } }
}

/// Receives one report; `wait` blocks on a semaphore until it is there.
private final class TicketWaiter: RDKafkaDeliveryWaiter, @unchecked Sendable {
    // @unchecked: `result` sits behind a Mutex; the semaphore only signals.
    private let arrived = DispatchSemaphore(value: 0)
    let result = Mutex<Result<KafkaDeliveryReport, KafkaError>?>(nil)

    override func complete(_ result: Result<KafkaDeliveryReport, KafkaError>) {
        self.result.withLock { $0 = result }
        arrived.signal()
    }

    func wait(timeout: Duration) throws(KafkaError) -> KafkaDeliveryReport {
        if arrived.wait(timeout: .now() + .milliseconds(Int(timeout.milliseconds))) == .timedOut {
            throw KafkaError(code: .timedOut, reason: "no delivery report within \(timeout)", isRetriable: true)
        }
        arrived.signal()  // later waits return at once
        return try result.withLock { $0 }!.get()
    }
}

extension KafkaProducer {
    /// Enqueues a record and returns a ticket for its delivery report.
    /// - Important: `wait` on the ticket blocks; use it from a thread of your own.
    public func sendTracked(_ message: KafkaProducerMessage) throws(KafkaError) -> KafkaDeliveryTicket {
        try checkOpen()
        let ticket = KafkaDeliveryTicket()
        try client.produce(message, waiter: ticket.waiter, queueFullTimeout: configuration.messageTimeout)
        return ticket
    }
}
