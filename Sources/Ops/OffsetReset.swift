import Foundation
import Kafka
import Logging
import Manufacturing

/// Resets a processor's consumer-group offsets for a replay: to the earliest or latest offset, a
/// point in time, a duration back, a shift, or an explicit offset. Re-processing is safe: the
/// processors never post a postingId twice nor release a work order twice; status events may
/// repeat.
///
/// - Important: Kafka refuses the change while the group has live members (`UNKNOWN_MEMBER_ID`):
///   stop every worker of the group first.
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

    /// The processors' input topics, by name (`release`, `confirmation`).
    public static let inputs: [String: [String]] = [
        "release": [Topics.orderApproved],
        "confirmation": [Topics.workOrders, Topics.operationCompleted, Topics.scrapReported],
    ]

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

    /// Applies a plan. Refused while the group has live members.
    public func apply(group: String, _ changes: [Change]) async throws {
        let admin = try KafkaAdminClient(configuration: client, logger: logger)
        do {
            _ = try await admin.alterConsumerGroupOffsets(
                group: group, offsets: changes.map { KafkaTopicPartitionOffset($0.partition, offset: $0.target) })
        } catch {
            if error.code == .unknownMemberID || error.code == .rebalanceInProgress {
                throw ResetError("group \(group) has live members (\(error.code)): stop every worker of the group, then reset")
            }
            throw error
        }
    }

    /// Parses `earliest`, `latest`, `2026-11-27T06:00:00Z`, `-15m` / `-2h` (a duration back from
    /// now), `shift:-100`, `offset:42`.
    public static func parseTarget(_ text: String, now: Int64) throws -> Target {
        switch text {
        case "earliest": return .earliest
        case "latest": return .latest
        default: break
        }
        if text.hasPrefix("shift:"), let n = Int64(text.dropFirst(6)) { return .shift(n) }
        if text.hasPrefix("offset:"), let n = Int64(text.dropFirst(7)), n >= 0 { return .offset(n) }
        if text.hasPrefix("-"), let ms = try? MillwrightConfiguration.duration("--to", String(text.dropFirst())) { return .time(now - ms) }
        if let time = try? Timestamp(rfc3339: text) { return .time(time.milliseconds) }
        throw ResetError("--to \(text): expected earliest, latest, an RFC 3339 UTC time (2026-11-27T06:00:00Z), a duration back (-15m, -2h), shift:<±n> or offset:<n>")
    }
}

public struct ResetError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = description }
}
