import Foundation
import Kafka
import Logging
import Manufacturing
import Streams

/// Resets a processor's consumer-group offsets for a replay: to the earliest or latest offset, a
/// point in time, a duration back, a shift, or an explicit offset. Re-processing is safe: the
/// processors never post a postingId twice nor release a work order twice; status events may
/// repeat.
///
/// - Important: Kafka refuses the change while the group has live members (`UNKNOWN_MEMBER_ID`):
///   stop every worker of the group first. When the admin change is refused, the reset joins the
///   group itself and commits only if it is given every partition (no other member is live): the
///   way on librdkafka's in-process cluster, which refuses an outside change to any group that
///   ever had members, even after they all left cleanly; on Kafka it also covers a group whose
///   crashed member has not timed out yet. With a live member it commits nothing (that member
///   goes through one rebalance).
public struct OffsetReset: Sendable {
    public enum Target: Sendable, Hashable {
        case earliest
        case latest
        /// The first record at or after this time (ms since the epoch).
        case time(Int64)
        /// Committed offset + n (n may be negative), kept within the log.
        case shift(Int64)
        case offset(Int64)
    }

    /// One partition's change.
    public struct Change: Sendable, Hashable {
        public var partition: KafkaTopicPartition
        /// `nil` when the group has no committed offset there.
        public var current: Int64?
        public var target: Int64
    }

    public var client: KafkaClientConfiguration
    public var logger: Logger

    public init(client: KafkaClientConfiguration, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// The processors' input topics, by name (`release`, `confirmation`), without the groups' own
    /// (``topics(of:group:)``).
    public static let inputs: [String: [String]] = [
        "release": [Topics.orderApproved],
        "confirmation": [Topics.workOrders, Topics.operationCompleted, Topics.scrapReported],
    ]

    /// Every topic a processor of `group` (the workers' `group`) reads: its inputs, and for the
    /// confirmation processor its repartition topic (MES events forwarded to the task holding
    /// their work order), so that a replay applies again what was quarantined after forwarding.
    public static func topics(of processor: String, group: String) -> [String] {
        let own = processor == "confirmation" ? [MillwrightWorker.confirmation(settings: ProcessingSettings()).repartitionTopic(group: group)!] : []
        return (inputs[processor] ?? []) + own
    }

    /// Works out the new offsets without changing anything.
    public func plan(group: String, topics: [String], partitions: [Int32]? = nil, to target: Target) async throws -> [Change] {
        let admin = try KafkaAdminClient(configuration: client, logger: logger)
        let metadata = try await admin.listTopics()
        var all: [KafkaTopicPartition] = []
        for topic in topics {
            guard let found = metadata.first(where: { $0.name == topic }) else {
                throw ResetError("topic \(topic) does not exist on the cluster")
            }
            for p in found.partitions where partitions?.contains(p.id) ?? true {
                all.append(KafkaTopicPartition(topic: topic, partition: p.id))
            }
        }
        if all.isEmpty { throw ResetError("no partitions match (topics \(topics.joined(separator: ", ")), partitions \(partitions.map { "\($0)" } ?? "all"))") }
        let committed = try await admin.listConsumerGroupOffsets(group: group, partitions: all)
        let locator = KafkaTimestampLocator(client: client, logger: logger)
        var changes: [Change] = []
        for tp in all {
            let marks = try await admin.watermarks(tp)
            let current = committed.first { $0.topicPartition == tp }.map(\.offset).flatMap { $0 >= 0 ? $0 : nil }
            let wanted: Int64
            switch target {
            case .earliest: wanted = marks.low
            case .latest: wanted = marks.high
            case .time(let ms): wanted = try await locator.offset(for: tp, atOrAfter: ms).offset
            case .shift(let n): wanted = (current ?? marks.low) + n
            case .offset(let o): wanted = o
            }
            changes.append(Change(partition: tp, current: current, target: min(max(wanted, marks.low), marks.high)))
        }
        return changes
    }

    /// One input partition's position for `offsets show` and `--wait`.
    public struct PartitionLag: Sendable, Hashable {
        public var partition: KafkaTopicPartition
        /// `nil`: the group has committed nothing there.
        public var committed: Int64?
        /// The high watermark.
        public var end: Int64
        /// `end − committed` (from the log start when nothing is committed).
        public var lag: Int64
    }

    /// Committed offset, end and lag of every partition of `topics` for `group`.
    public func lag(group: String, topics: [String]) async throws -> [PartitionLag] {
        let admin = try KafkaAdminClient(configuration: client, logger: logger)
        let metadata = try await admin.listTopics()
        var all: [KafkaTopicPartition] = []
        for topic in topics {
            for p in metadata.first(where: { $0.name == topic })?.partitions ?? [] { all.append(KafkaTopicPartition(topic: topic, partition: p.id)) }
        }
        let committed = try await admin.listConsumerGroupOffsets(group: group, partitions: all)
        var lags: [PartitionLag] = []
        for tp in all {
            let marks = try await admin.watermarks(tp)
            let current = committed.first { $0.topicPartition == tp }.map(\.offset).flatMap { $0 >= 0 ? $0 : nil }
            lags.append(PartitionLag(partition: tp, committed: current, end: marks.high, lag: max(0, marks.high - max(current ?? marks.low, marks.low))))
        }
        return lags
    }

    /// Records an executed reset on `ops.audit.v1`; returns the audit record's eventId.
    /// - Parameter actor: who acts, when not the user running this process (the operator API).
    public func audit(group: String, target: String, plan: [Change], applied: Applied, actor: String? = nil) async throws -> String {
        let changes: [JSONValue] = plan.map { change in
            [
                "topic": .string(change.partition.topic), "partition": .number(Double(change.partition.partition), isInteger: true),
                "from": change.current.map { .number(Double($0), isInteger: true) } ?? .null, "to": .number(Double(change.target), isInteger: true),
            ]
        }
        return try await OperatorAudit(client: client, logger: logger, user: actor).record(
            action: "OFFSET_RESET", group: group,
            details: [
                ("target", .string(target)), ("method", .string(applied == .altered ? "ADMIN_API" : "SOLE_MEMBER")), ("plan", .array(changes)),
            ])
    }

    /// How a plan was applied.
    public enum Applied: Sendable, Equatable {
        /// Through the admin API (AlterConsumerGroupOffsets): the way on Kafka.
        case altered
        /// By joining the group as its only member and committing (the admin change was refused).
        case committedAsSoleMember
    }

    /// Applies a plan. Refused while the group has live members.
    /// - Parameter subscribe: every input topic of the processor (for the sole-member path: a
    ///   live member would be given some of their partitions).
    @discardableResult
    public func apply(group: String, subscribe topics: [String], _ changes: [Change]) async throws -> Applied {
        let admin = try KafkaAdminClient(configuration: client, logger: logger)
        let offsets = changes.map { KafkaTopicPartitionOffset($0.partition, offset: $0.target) }
        let refusal: KafkaError
        do {
            _ = try await admin.alterConsumerGroupOffsets(group: group, offsets: offsets)
            return .altered
        } catch {
            refusal = error
        }
        guard refusal.code == .unknownMemberID || refusal.code == .rebalanceInProgress else { throw refusal }
        // Kafka refuses the change while the group has members; librdkafka's in-process cluster
        // refuses it for good once a group had any (and cannot describe groups: asking leaves
        // its admin client hanging). So the reset asks the group itself: it joins, and commits
        // only if no other member is live.
        try await commitAsSoleMember(admin, group: group, topics: topics, offsets: offsets)
        return .committedAsSoleMember
    }

    /// Joins `group` subscribed to `topics`, and commits `offsets` only if this member was given
    /// every partition of them: then no other member is live. Otherwise commits nothing, leaves,
    /// and reports the live members (the rebalance this caused gives the workers their
    /// partitions back at once).
    func commitAsSoleMember(_ admin: KafkaAdminClient, group: String, topics: [String], offsets: [KafkaTopicPartitionOffset]) async throws {
        let metadata = try await admin.listTopics()
        var all = Set<KafkaTopicPartition>()
        for topic in topics {
            for partition in metadata.first(where: { $0.name == topic })?.partitions ?? [] {
                all.insert(KafkaTopicPartition(topic: topic, partition: partition.id))
            }
        }
        var configuration = KafkaConsumerConfiguration(client: client, groupID: group)
        // Kafka's smallest session timeout (group.min.session.timeout.ms): librdkafka's in-process
        // cluster then holds the workers' next join at most 5 s after this member leaves; a
        // longer one (10 s) held it past a 6 s worker's JoinGroup timeout, and the group never
        // formed again.
        configuration.sessionTimeout = .seconds(6)
        configuration.heartbeatInterval = .seconds(1)
        configuration.enableAutoCommit = false
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        try consumer.subscribe(topics: topics)
        var assigned = Set<KafkaTopicPartition>()
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while ContinuousClock.now < deadline {
            _ = try await consumer.pollBatch(maxMessages: 1, timeout: .milliseconds(200))  // records are not kept
            assigned = Set(try consumer.assignment())
            if !assigned.isEmpty { break }  // the rebalance is over: all of it, or a live member's share less
        }
        guard assigned == all else {
            try? await consumer.close()
            throw ResetError(
                "group \(group) has live members: joining it gave this reset \(assigned.count) of \(all.count) partitions; stop every worker of the group, then reset"
            )
        }
        do {
            try await consumer.commit(offsets)
        } catch {
            try? await consumer.close()
            throw error
        }
        try await consumer.close()
    }

    /// Parses `earliest`, `latest`, `2026-11-27T06:00:00Z`, `-15m` / `-2h` / `2h-ago` (a duration
    /// back from now), `shift:-100`, `offset:42`.
    public static func parseTarget(_ text: String, now: Int64) throws -> Target {
        let text = text.trimmingCharacters(in: .whitespaces)
        switch text.lowercased() {
        case "earliest": return .earliest
        case "latest": return .latest
        default: break
        }
        if text.hasPrefix("shift:"), let n = Int64(text.dropFirst(6)) { return .shift(n) }
        if text.hasPrefix("offset:"), let n = Int64(text.dropFirst(7)), n >= 0 { return .offset(n) }
        let back = text.hasPrefix("-") ? String(text.dropFirst()) : text.hasSuffix("-ago") ? String(text.dropLast(4)) : nil
        if let back, let ms = try? MillwrightConfiguration.duration("--to", back) { return .time(now - ms) }
        if let time = try? Timestamp(rfc3339: text) { return .time(time.milliseconds) }
        throw ResetError(
            "--to \(text): expected earliest, latest, an RFC 3339 UTC time (2026-11-27T06:00:00Z), a duration back (-15m, -2h or 2h-ago), shift:<±n> or offset:<n>"
        )
    }
}

public struct ResetError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = description }
}
