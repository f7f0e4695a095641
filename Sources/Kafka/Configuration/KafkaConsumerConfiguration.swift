import Foundation

/// Settings of a ``KafkaConsumer``.
public struct KafkaConsumerConfiguration: Sendable {
    public enum IsolationLevel: String, Sendable {
        /// See only records of committed transactions (and non-transactional ones).
        case readCommitted = "read_committed"
        case readUncommitted = "read_uncommitted"
    }

    public enum OffsetReset: String, Sendable {
        case earliest, latest
        /// Fail with an error when there is no committed offset.
        case error
    }

    public enum RebalanceProtocol: Sendable {
        /// Eager: every member gives up all partitions at each rebalance (range/roundrobin).
        case eager
        /// Cooperative sticky: only moved partitions are revoked.
        case cooperative
    }

    /// Shared client settings.
    public var client: KafkaClientConfiguration
    /// `group.id`. `nil` for a consumer that only uses `assign` (no group). Default `nil`.
    public var groupID: String? = nil
    /// `group.instance.id` for static membership. Default `nil`.
    public var groupInstanceID: String? = nil
    /// `isolation.level`. Default `.readCommitted`.
    public var isolationLevel: IsolationLevel = .readCommitted
    /// `auto.offset.reset`: where to start without a committed offset. Default `.earliest`.
    public var autoOffsetReset: OffsetReset = .earliest
    /// `session.timeout.ms`. Default 45 s.
    public var sessionTimeout: Duration = .seconds(45)
    /// `heartbeat.interval.ms`. Default 3 s.
    public var heartbeatInterval: Duration = .seconds(3)
    /// `max.poll.interval.ms`: a member that does not poll this long leaves the group. Default 300 s.
    public var maxPollInterval: Duration = .seconds(300)
    /// `enable.auto.commit`. Default `false`: the caller commits.
    public var enableAutoCommit: Bool = false
    /// `enable.auto.offset.store`. Default `false`: the caller stores offsets of what it finished.
    public var enableAutoOffsetStore: Bool = false
    /// `enable.partition.eof`: deliver ``KafkaConsumerEvent/partitionEOF(_:)``. Default `false`.
    public var enablePartitionEOF: Bool = false
    /// Assignment strategy family. Default `.eager` (range,roundrobin).
    public var rebalanceProtocol: RebalanceProtocol = .eager
    /// `fetch.wait.max.ms`. Default 100 ms.
    public var fetchWaitMax: Duration = .milliseconds(100)
    /// `fetch.error.backoff.ms`: the pause after a fetch error. Default 50 ms (librdkafka: 500 ms).
    /// It does not shorten librdkafka 2.0.2's pause after the local queue reached
    /// `maxPrefetchedMessages`; ``wakeFetcherAfterDrain`` does (Docs/performance.md).
    public var fetchBackoff: Duration = .milliseconds(50)
    /// `queued.min.messages`: records prefetched into the local queue before fetching pauses.
    /// Default 100,000 (librdkafka's). Lower it to bound memory with large records.
    public var maxPrefetchedMessages: Int = 100_000

    /// The `queued.min.messages` librdkafka is given: ``maxPrefetchedMessages``, or the client's
    /// additional property of that name, which is set after it and wins.
    public var effectivePrefetchedMessages: Int {
        client.additionalProperties["queued.min.messages"].flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } ?? maxPrefetchedMessages
    }
    /// Wake librdkafka's fetchers when a poll comes back short after at least half of
    /// `maxPrefetchedMessages` went through: one ListOffsets round to the partition leaders, from
    /// a thread of the consumer's own. librdkafka 2.0.2 otherwise takes a partition whose local
    /// queue was full off the fetch list for up to a second (its broker thread's idle timer), and
    /// a consumer that drains faster than that waits. Default `true`; the cost is one small
    /// request per leader per half a prefetch consumed.
    public var wakeFetcherAfterDrain: Bool = true

    public init(client: KafkaClientConfiguration, groupID: String? = nil) {
        self.client = client
        self.groupID = groupID
    }

    public init(bootstrapServers: [String], groupID: String? = nil) {
        self.init(client: KafkaClientConfiguration(bootstrapServers: bootstrapServers), groupID: groupID)
    }

    func properties() throws(KafkaError) -> [(String, String)] {
        try client.validate()
        if sessionTimeout <= heartbeatInterval {
            throw .configuration("sessionTimeout: must be longer than heartbeatInterval")
        }
        var result = client.properties
        // librdkafka needs a group.id to create a consumer handle even for assign-only use.
        result.append(("group.id", groupID ?? "millwright-unused-\(UInt32.random(in: 0...UInt32.max))"))
        if let groupInstanceID { result.append(("group.instance.id", groupInstanceID)) }
        result += [
            ("isolation.level", isolationLevel.rawValue),
            ("auto.offset.reset", autoOffsetReset.rawValue),
            ("session.timeout.ms", String(sessionTimeout.milliseconds)),
            ("heartbeat.interval.ms", String(heartbeatInterval.milliseconds)),
            ("max.poll.interval.ms", String(maxPollInterval.milliseconds)),
            ("enable.auto.commit", enableAutoCommit ? "true" : "false"),
            ("enable.auto.offset.store", enableAutoOffsetStore ? "true" : "false"),
            ("enable.partition.eof", enablePartitionEOF ? "true" : "false"),
            ("fetch.wait.max.ms", String(fetchWaitMax.milliseconds)),
            ("fetch.error.backoff.ms", String(fetchBackoff.milliseconds)),
            ("queued.min.messages", String(maxPrefetchedMessages)),
            (
                "partition.assignment.strategy",
                rebalanceProtocol == .eager ? "range,roundrobin" : "cooperative-sticky"
            ),
        ]
        result += client.additionalProperties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        return result
    }
}
