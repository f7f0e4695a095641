import Foundation
import Kafka
import Logging
import Metrics

/// The polling thread's side of the sink's outbox (``GlobalTableSink/pendingOutputs(limit:)``):
/// sends what the sink holds on a producer of its own — idempotent, not transactional, created
/// when the first output is due — and tells the sink which outputs the cluster acknowledged.
/// ``GlobalTableOutbox`` decides when to look; nothing here waits on the network except
/// ``finish(within:)``.
///
/// A failed delivery never stops the loader: the output stays in the sink and is sent again after
/// a backoff, and each failed batch is logged. Delivered outputs are counted by their tally
/// (`millwright_dead_letters_total` for dead letters) and logged with its message.
///
/// - Important: Not thread-safe: created, used and finished on the loader's polling thread only.
final class GlobalTableOutboxPublisher {
    private let sink: any GlobalTableSink
    private let configuration: GlobalTableConfiguration
    private let logger: Logger
    private var schedule: GlobalTableOutbox<ContinuousClock.Instant>
    private var producer: KafkaProducer?
    private var inFlight: [(output: GlobalTableOutput, ticket: KafkaDeliveryTicket)] = []
    private var counters: [String: Counter] = [:]

    /// Outputs acknowledged by the cluster since the loader started.
    private(set) var delivered = 0

    init(sink: any GlobalTableSink, configuration: GlobalTableConfiguration, logger: Logger) {
        self.sink = sink
        self.configuration = configuration
        self.logger = logger
        schedule = GlobalTableOutbox(
            batchSize: 500, minimumBackoff: max(configuration.retryBackoff, .milliseconds(100)), maximumBackoff: .seconds(30),
            advance: { $0.advanced(by: $1) })
    }

    /// A batch was applied: it may have left outputs in the sink.
    func applied() { schedule.applied() }

    /// Takes the delivery reports that arrived, then sends what the sink holds if it is time to.
    /// - Throws: `.sink` when the sink cannot hand out its outputs or store their delivery.
    func pump() throws(GlobalTableError) {
        try collectReports()
        guard case .fetch(let limit) = schedule.next(now: .now) else { return }
        let outputs: [GlobalTableOutput]
        do {
            outputs = try sink.pendingOutputs(limit: limit)
        } catch {
            throw GlobalTableError(code: .sink, reason: "the sink could not hand out its pending outputs (dead letters)", underlying: error)
        }
        schedule.fetched(outputs.map(\.id))
        guard !outputs.isEmpty else { return }
        let producer: KafkaProducer
        if let existing = self.producer {
            producer = existing
        } else {
            do throws(KafkaError) {
                producer = try makeProducer()
                self.producer = producer
            } catch {
                failed(outputs.map(\.id), count: outputs.count, error: error)
                return
            }
        }
        var refused: [GlobalTableOutput.ID] = []
        var firstError: KafkaError?
        for output in outputs {
            do {
                inFlight.append((output, try producer.sendTracked(KafkaProducerMessage(output.record))))
            } catch {
                refused.append(output.id)
                firstError = firstError ?? error
            }
        }
        if let firstError { failed(refused, count: refused.count, error: firstError) }
    }

    /// On the way out (stop or failure): waits up to `timeout` for the reports of what is in flight
    /// and stores the deliveries. What is still unreported stays in the sink, sent again by the
    /// next loader — a duplicate if it was delivered after all.
    func finish(within timeout: Duration) {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while !inFlight.isEmpty && ContinuousClock.now < deadline {
            do { try collectReports() } catch {
                logger.warning("outputs delivered but not marked in the sink; the next start sends them again", metadata: [LogMetadataKey.error: "\(error)"])
                break
            }
            if !inFlight.isEmpty { Thread.sleep(forTimeInterval: 0.005) }
        }
        if !inFlight.isEmpty {
            logger.warning(
                "stopping with outputs (dead letters) in flight; they stay pending and the next start sends them again",
                metadata: [LogMetadataKey.records: "\(inFlight.count)"])
        }
        inFlight = []
        producer = nil  // closes its connections (on this thread, not the cooperative pool)
    }

    private func makeProducer() throws(KafkaError) -> KafkaProducer {
        var producer = KafkaProducerConfiguration(client: configuration.client)
        producer.messageTimeout = configuration.outboxDeliveryTimeout
        return try KafkaProducer(configuration: producer, logger: logger)
    }

    private func collectReports() throws(GlobalTableError) {
        guard !inFlight.isEmpty else { return }
        var delivered: [GlobalTableOutput] = []
        var failed: [GlobalTableOutput.ID] = []
        var firstError: KafkaError?
        var waiting: [(output: GlobalTableOutput, ticket: KafkaDeliveryTicket)] = []
        for entry in inFlight {
            switch entry.ticket.result {
            case nil: waiting.append(entry)
            case .success: delivered.append(entry.output)
            case .failure(let error):
                failed.append(entry.output.id)
                firstError = firstError ?? error
            }
        }
        inFlight = waiting
        if !delivered.isEmpty {
            do {
                try sink.outputsDelivered(delivered.map(\.id))
            } catch {
                throw GlobalTableError(
                    code: .sink, reason: "the sink could not store the delivery of \(delivered.count) outputs (dead letters); the next start sends them again",
                    underlying: error)
            }
            self.delivered += delivered.count
            for output in delivered { count(output.record) }
        }
        schedule.reported(delivered: delivered.map(\.id), failed: failed, now: .now)
        if let firstError { logFailure(count: failed.count, error: firstError) }
    }

    /// Outputs that could not even be handed to the producer.
    private func failed(_ ids: [GlobalTableOutput.ID], count: Int, error: KafkaError) {
        schedule.reported(delivered: [], failed: ids, now: .now)
        logFailure(count: count, error: error)
    }

    private func logFailure(count: Int, error: KafkaError) {
        logger.warning(
            "outputs (dead letters) not delivered; they stay pending and are sent again",
            metadata: [
                LogMetadataKey.records: "\(count)", LogMetadataKey.error: "\(error)",
                "retryIn": "\(schedule.retryAt.map { ContinuousClock.now.duration(to: $0) } ?? .zero)",
                "failedBatches": "\(schedule.consecutiveFailures)",
            ])
    }

    /// Counts a delivered output by its tally and logs it when the tally asks for it, with where
    /// its input came from (a dead letter's `original-*` headers).
    private func count(_ record: OutputRecord) {
        guard let tally = record.tally else { return }
        let key = tally.labels.reduce(tally.name) { "\($0)|\($1.name)=\($1.value)" }
        let counter = counters[key] ?? Counter(label: tally.name, dimensions: tally.labels.map { ($0.name, $0.value) })
        counters[key] = counter
        counter.increment()
        guard let message = tally.logMessage else { return }
        func header(_ name: String) -> String { record.headers.last { $0.key == name }?.stringValue ?? "-" }
        var metadata: Logger.Metadata = [
            LogMetadataKey.topic: "\(header(DeadLetter.HeaderName.originalTopic))",
            LogMetadataKey.partition: "\(header(DeadLetter.HeaderName.originalPartition))",
            LogMetadataKey.offset: "\(header(DeadLetter.HeaderName.originalOffset))",
            LogMetadataKey.key: "\(record.key.map { String(decoding: $0, as: UTF8.self) } ?? "-")",
            LogMetadataKey.correlationId: "\(header("correlation-id"))", LogMetadataKey.error: "\(header(DeadLetter.HeaderName.error))",
        ]
        for label in tally.labels where label.name != "topic" { metadata[label.name] = "\(label.value)" }
        logger.notice("\(message)", metadata: metadata)
    }
}
