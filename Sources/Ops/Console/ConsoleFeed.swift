import Foundation
import Kafka
import Logging
import Manufacturing
import ServiceLifecycle
import Synchronization

/// Tails the plants' outputs for the console (``ConsoleFeedState``): the postings on
/// `erp.production-confirmation.v1` and the releases on every `mes.<plant>.production-release.v1`
/// from an hour back, and ERP's order status from the start of its retention (7 days: an order
/// whose latest status is older than that leaves the at-risk list; the latest status per order
/// wins). It reads what ERP and MES read (`read_committed`, no consumer group), so every worker
/// and `millwright console` show the same numbers, whichever partitions they process, and a
/// restart loses nothing: it reads the hour again.
///
/// New plants' release topics are picked up within ``discoveryInterval``. A broker outage or any
/// other failure is logged and retried; it never stops the process it runs in.
///
/// - Important: Thread-safe; ``summary(plant:now:)`` may be called from any task while ``run()`` tails.
public final class ConsoleFeed: Service, Sendable {
    public let client: KafkaClientConfiguration
    private let logger: Logger
    private let state = Mutex(ConsoleFeedState())
    private let progress = Mutex(Progress())
    public static let discoveryInterval: Duration = .seconds(15)

    public struct Progress: Sendable, Hashable {
        /// Every partition assigned at the start has been read to the end it had.
        public var caughtUp = false
        /// Partitions still being read up to the end they had when assigned.
        public var behind = 0
        /// The last failure, until the feed reads again.
        public var failure: String?
    }

    public init(client: KafkaClientConfiguration, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public var status: Progress { progress.withLock { $0 } }

    public func summary(plant: String, now: Int64) -> ConsoleFeedState.Summary {
        state.withLock { $0.summary(plant: plant, now: now) }
    }

    public var plants: [String] { state.withLock { $0.plantCodes } }

    // MARK: Tailing

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await self.tail()
                } catch is CancellationError {
                    return
                } catch {
                    self.logger.warning("console feed: reading the outputs failed; retrying in 5 s", metadata: ["error": "\(error)"])
                    self.progress.withLock { $0.failure = "\(error)" }
                    try await Task.sleep(for: .seconds(5))
                }
            }
        }
    }

    private func tail() async throws {
        var configuration = KafkaConsumerConfiguration(client: client, groupID: nil)
        configuration.isolationLevel = .readCommitted
        configuration.enablePartitionEOF = true
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        defer { try? consumer.close() }
        state.withLock { $0 = ConsoleFeedState() }  // a retry reads everything again
        var assigned = Set<KafkaTopicPartition>()
        var behind = Set<KafkaTopicPartition>()
        var first = true
        var lastDiscovery = ContinuousClock.now.advanced(by: .zero - Self.discoveryInterval)
        var lastPrune = ContinuousClock.now
        while !Task.isCancelled {
            if ContinuousClock.now - lastDiscovery >= Self.discoveryInterval {
                lastDiscovery = .now
                let added = try await discover(excluding: assigned)
                if !added.isEmpty {
                    try consumer.incrementalAssign(added)
                    for position in added { assigned.insert(position.topicPartition) }
                    if first { behind.formUnion(added.map(\.topicPartition)) }
                }
                if first {
                    first = false
                    if behind.isEmpty { progress.withLock { $0.caughtUp = true } }
                }
            }
            let events = try await consumer.pollBatch(maxMessages: 5_000, timeout: .milliseconds(500))
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            state.withLock { state in
                for event in events {
                    if case .message(let message) = event { Self.ingest(message, into: &state, now: now) }
                }
            }
            var ended = false
            for event in events {
                if case .partitionEOF(let end) = event, behind.remove(end.topicPartition) != nil { ended = true }
            }
            if ended || !events.isEmpty {
                let remaining = behind.count
                progress.withLock {
                    $0.behind = remaining
                    $0.failure = nil
                    if remaining == 0 { $0.caughtUp = true }
                }
            }
            if ContinuousClock.now - lastPrune >= .seconds(60) {
                lastPrune = .now
                state.withLock { $0.prune(now: now) }
            }
        }
    }

    /// The output partitions not assigned yet, each with where to start: status from the
    /// beginning, postings and releases from an hour back.
    private func discover(excluding assigned: Set<KafkaTopicPartition>) async throws -> [KafkaTopicPartitionOffset] {
        let admin = try KafkaAdminClient(configuration: client, logger: logger)
        // A short timeout: a shutdown waits for this call (it cannot be cancelled).
        let topics = try await admin.listTopics(timeout: .seconds(3)).filter { topic in
            topic.name == Topics.productionConfirmation || topic.name == Topics.erpOrderStatus || Self.releasePlant(topic.name) != nil
        }
        let hourAgo = Int64(Date().timeIntervalSince1970 * 1000) - ConsoleFeedState.windowMinutes * 60_000
        let locator = KafkaTimestampLocator(client: client, logger: logger)
        var positions: [KafkaTopicPartitionOffset] = []
        for topic in topics {
            for partition in topic.partitions {
                let tp = KafkaTopicPartition(topic: topic.name, partition: partition.id)
                guard !assigned.contains(tp) else { continue }
                if topic.name == Topics.erpOrderStatus {
                    positions.append(KafkaTopicPartitionOffset(tp, offset: KafkaOffset.beginning))
                } else {
                    positions.append(KafkaTopicPartitionOffset(tp, offset: try await locator.offset(for: tp, atOrAfter: hourAgo).offset))
                }
            }
        }
        return positions
    }

    /// `P100` of `mes.P100.production-release.v1`.
    static func releasePlant(_ topic: String) -> String? {
        let prefix = "mes."
        let suffix = ".production-release.v1"
        guard topic.hasPrefix(prefix), topic.hasSuffix(suffix), topic.count > prefix.count + suffix.count else { return nil }
        return String(topic.dropFirst(prefix.count).dropLast(suffix.count))
    }

    /// One output record into the state; records it cannot read are skipped (the processors
    /// wrote them; the schema tests hold them to the contract).
    static func ingest(_ message: KafkaConsumerMessage, into state: inout ConsoleFeedState, now: Int64) {
        guard let value = message.value else { return }
        let at = message.timestamp?.milliseconds ?? now
        if let plant = releasePlant(message.topic) {
            state.release(plant: plant, releasedAt: at)
            return
        }
        // Millwright's own outputs are read in one pass (no JSON tree: every worker reads every
        // posting and status); anything else through the full parser, which decides.
        switch message.topic {
        case Topics.productionConfirmation:
            if let posting = PlainOutputReader.posting(value) {
                return state.posting(plant: posting.plant, windowStart: posting.windowStart.milliseconds, postedAt: at)
            }
        case Topics.erpOrderStatus:
            if let s = PlainOutputReader.orderStatus(value) {
                let order = ConsoleFeedState.AtRiskOrder(
                    orderId: s.orderId, workOrderId: s.workOrderId, status: s.status, riskReasons: s.riskReasons, dueDate: s.dueDate, updatedAt: s.updatedAt)
                return state.status(order, plant: s.plant, atRisk: s.atRisk)
            }
        default:
            return
        }
        guard let envelope = try? JSONParser.parse(value), let data = envelope["data"] else { return }
        switch message.topic {
        case Topics.productionConfirmation:
            guard case .string(let plant)? = data["plant"], case .string(let start)? = data["windowStart"],
                let windowStart = try? Timestamp(rfc3339: start)
            else { return }
            state.posting(plant: plant, windowStart: windowStart.milliseconds, postedAt: at)
        case Topics.erpOrderStatus:
            guard case .string(let orderId)? = data["orderId"], case .string(let status)? = data["status"] else { return }
            func string(_ key: String) -> String? { if case .string(let s)? = data[key] { s } else { nil } }
            var reasons: [String] = []
            if case .array(let values)? = data["riskReasons"] {
                reasons = values.compactMap { if case .string(let s) = $0 { s } else { nil } }
            }
            let order = ConsoleFeedState.AtRiskOrder(
                orderId: orderId, workOrderId: string("workOrderId"), status: status, riskReasons: reasons, dueDate: string("dueDate"),
                updatedAt: string("updatedAt"))
            state.status(order, plant: string("plant"), atRisk: data["atRisk"] == .bool(true))
        default:
            return
        }
    }
}
