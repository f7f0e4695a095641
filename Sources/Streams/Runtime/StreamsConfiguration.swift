import Foundation
import Kafka

/// Settings of the stream runtime (one ``StreamWorker`` per processor definition).
public struct StreamsConfiguration: Sendable {
    /// Brokers, client id, security, raw librdkafka properties.
    public var client: KafkaClientConfiguration
    /// The consumer group prefix; each processor joins `<group>.<processor>` and keeps its state in
    /// `millwright.<group>.<processor>.changelog.v1`, so groups on one cluster never share state.
    /// Letters, digits, `.`, `_` and `-` only (it is part of topic names). Default `millwright`.
    public var group: String = "millwright"
    /// Where local state lives between restarts: task state (SQLite per task, current to a
    /// changelog offset), the master-data cache and the instance ids. Default `./state`.
    public var stateDirectory: String = "state"
    /// How often a transaction is committed while input keeps coming: the longest processed
    /// records wait for their transaction to begin. Default 100 ms.
    public var commitInterval: Duration = .milliseconds(100)
    /// When no record has come for this long, the input has paused: what was
    /// processed is committed at once instead of at the next `commitInterval` (the end of a
    /// burst, a trickle of events). A steady stream keeps the interval. Transactions then come
    /// at most once per such pause, and one at a time. `commitInterval` or more: commit on the
    /// interval only. Default 10 ms.
    public var idleCommitWait: Duration = .milliseconds(10)
    /// Input records processed into one transaction at most: when a transaction holds this many
    /// and the one before is still committing, the loop waits for it and starts the next. Bounds
    /// what a burst (a table read from its start, a backlog after downtime) holds in memory at
    /// once as outputs and changelog records. Default 10,000.
    public var maxRecordsPerTransaction: Int = 10_000
    /// Output bytes one transaction holds at most, as packed (``OutputBatch``: keys, values,
    /// header names and values, ~20 bytes of framing per record): when the tasks' outputs since
    /// the last hand-over reach this, the turn stops processing and the transaction is handed over
    /// as if full. Bounds memory where input records make many or large outputs (a posting and two
    /// status events every few events), which `maxRecordsPerTransaction` alone does not; larger
    /// transactions cost less per record (fewer changelog rows, commits and flushes:
    /// Docs/performance.md). Default 8 MiB.
    public var maxOutputBytesPerTransaction: Int = 8 << 20
    /// Unprocessed records a task holds per event partition before that partition is paused (it
    /// resumes below a fifth of this). With `maxPrefetchedMessages` it bounds the input held in
    /// memory; smaller values cost throughput (Docs/performance.md). Default 5,000.
    public var maxBufferedRecordsPerPartition: Int = 5_000
    /// How often a task's local state file (its cache of the changelog) is written: committed
    /// batches are staged and written together, last value per key, and when the task leaves.
    /// A worker that dies reads at most this much more changelog at its restart. `.zero` writes
    /// every commit. Default 1 s.
    public var stateFileInterval: Duration = .seconds(1)
    /// Task stores live in their task's local state file (SQLite); this many bytes of the entries
    /// read lately stay in memory, shared by the worker's tasks (``StateCache``: keys, values and
    /// ~64 bytes each, least recently used out first). A task whose file cannot be used keeps its
    /// stores in memory. Default 32 MiB.
    public var stateCacheBytes: Int = 32 << 20
    /// Records polled at most per loop turn. Default 2,000.
    public var maxPollRecords: Int = 2_000
    /// `queued.min.messages` of the worker's consumer: records prefetched before fetching pauses
    /// (librdkafka 2.0.2 counts the whole consumer queue, all partitions together). Default 30,000
    /// (librdkafka: 100,000) to bound memory; the fetch waker (`wakeFetcherAfterDrain`) keeps a
    /// drained queue from waiting for librdkafka's idle timer. 40,000 until the seventh session:
    /// 30,000 measured a lower peak RSS at the same speed (Docs/performance.md).
    public var maxPrefetchedMessages: Int = 30_000
    /// Loop threads per processor, each with its own consumer, transactional producer and share of
    /// the tasks (Kafka Streams' `num.stream.threads`); the first is the group member and shares
    /// the partitions out (`LoopThreads`). One loop thread keeps about one core busy. Default:
    /// the machine's cores, at most 4 (``defaultStreamThreads``).
    public var streamThreads: Int = StreamsConfiguration.defaultStreamThreads

    /// The machine's active cores, at most 4: past that each thread adds a consumer, a
    /// transactional producer and a committer for gains not measured here (2-core machine).
    public static var defaultStreamThreads: Int { min(4, max(1, ProcessInfo.processInfo.activeProcessorCount)) }
    /// How often the group member's librdkafka statistics are read for the broker metrics
    /// (`statistics.interval.ms`); `nil` turns them off. Default 10 s.
    public var statisticsInterval: Duration? = .seconds(10)
    /// Creates missing output topics before the first record goes to them (a new plant's
    /// release topic); `nil` leaves that to the cluster (auto-creation, or a failed transaction).
    public var topicPreparer: (any OutputTopicPreparer)?
    /// How often the processors' wall-clock hook runs. Default 1 s.
    public var wallClockInterval: Duration = .seconds(1)
    /// A quiet partition's stream time moves to the wall clock after this. Default 60 s.
    public var idleTimeout: Duration = .seconds(60)
    /// `session.timeout.ms` of the group. Default 10 s (a killed worker's partitions move after it).
    public var sessionTimeout: Duration = .seconds(10)
    /// What a task does when its changelog no longer has the history its state needs (the log
    /// starts past the offset its local state is current to, or past 0 without local state:
    /// retention or DeleteRecords deleted it). Off (the default): the error is logged and
    /// reported in readiness, and the worker stops (``StreamsError/Code/stateLoss``). On: the
    /// same error is logged and reported, `millwright_state_loss_total` counts it, and the task
    /// is rebuilt from what is left (its local state and the changelog from its start).
    public var allowStateLoss = false
    /// Identifies this worker's transactional producer across restarts on the same state
    /// directory, so a restarted worker fences its own zombie. Default: read from or written to
    /// the state directory.
    public var instanceID: String? = nil

    public init(client: KafkaClientConfiguration) {
        self.client = client
    }

    /// What Kafka allows in a topic name.
    static let topicNameCharacters = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")

    /// Checks every setting; the message names the setting and the rule.
    public func validate() throws(StreamsError) {
        if group.isEmpty { throw StreamsError(.configuration, "group: must not be empty") }
        if let bad = group.unicodeScalars.first(where: { !Self.topicNameCharacters.contains($0) }) {
            throw StreamsError(
                .configuration, "group: '\(group)' has '\(bad)'; letters, digits, '.', '_' and '-' only (the group is part of its changelog topics' names)")
        }
        if group.utf8.count > 200 { throw StreamsError(.configuration, "group: at most 200 characters (it is part of topic names)") }
        if commitInterval < .milliseconds(1) { throw StreamsError(.configuration, "commitInterval: at least 1 ms") }
        if idleCommitWait < .milliseconds(1) { throw StreamsError(.configuration, "idleCommitWait: at least 1 ms") }
        if maxRecordsPerTransaction < 1 { throw StreamsError(.configuration, "maxRecordsPerTransaction: at least 1") }
        if maxOutputBytesPerTransaction < 1024 { throw StreamsError(.configuration, "maxOutputBytesPerTransaction: at least 1024") }
        if maxBufferedRecordsPerPartition < 5 { throw StreamsError(.configuration, "maxBufferedRecordsPerPartition: at least 5") }
        if streamThreads < 1 || streamThreads > 64 { throw StreamsError(.configuration, "streamThreads: from 1 to 64") }
        if stateFileInterval < .zero { throw StreamsError(.configuration, "stateFileInterval: not negative") }
        if stateCacheBytes < 0 { throw StreamsError(.configuration, "stateCacheBytes: not negative") }
        if maxPollRecords < 1 { throw StreamsError(.configuration, "maxPollRecords: at least 1") }
        if idleTimeout < .seconds(1) { throw StreamsError(.configuration, "idleTimeout: at least 1 s") }
        if sessionTimeout < .seconds(6) { throw StreamsError(.configuration, "sessionTimeout: at least 6 s (Kafka's minimum)") }
    }
}

/// One processor as the runtime runs it: what it reads, where its state is logged, how to make
/// an instance for a task.
public struct ProcessorDefinition: Sendable {
    /// Short name (`release`, `confirmation`); part of the group id and the changelog topic.
    public var name: String
    /// Co-partitioned input topics: partition p of each forms task p.
    public var inputTopics: [String]
    /// The changelog, when not the group's own (``changelogTopic(group:)``); partitioned like the
    /// inputs. Default nil: `millwright.<group>.<name>.changelog.v1`.
    public var changelogTopic: String?
    /// Inputs that are tables (for example the work-order table): within a poll their records are
    /// processed before the event streams', whatever their timestamps, so a table row is there
    /// before the events that need it. Default none.
    public var tableTopics: Set<String>
    /// Topics the processor is known to write to (others may follow from the data): looked up
    /// when the worker starts, so the first outputs are not held back. Default none.
    public var outputTopics: [String]
    /// Records may reach the wrong task (their producers partitioned by another key or hash, or
    /// sent no key): the processor forwards them to the task owning their key through the
    /// group's repartition topic (`millwright.<group>.<name>.repartition.v1`, partitioned like the
    /// first table topic), which the worker reads as one more input
    /// (``ProcessorContext/repartition(_:key:)``). Default false.
    public var repartitions: Bool = false
    /// Makes the processor of one task (partition number).
    public var makeProcessor: @Sendable (Int32) -> any StreamProcessor

    public init(
        name: String, inputTopics: [String], tableTopics: Set<String> = [], outputTopics: [String] = [], changelogTopic: String? = nil,
        repartitions: Bool = false, makeProcessor: @escaping @Sendable (Int32) -> any StreamProcessor
    ) {
        self.name = name
        self.repartitions = repartitions
        self.inputTopics = inputTopics
        self.tableTopics = tableTopics
        self.outputTopics = outputTopics
        self.changelogTopic = changelogTopic
        self.makeProcessor = makeProcessor
    }

    /// The changelog a worker of `group` writes and restores from: ``changelogTopic`` if set,
    /// else `millwright.<group>.<name>.changelog.v1` (as Kafka Streams names its changelogs after
    /// the application id): every group has its own state.
    public func changelogTopic(group: String) -> String {
        changelogTopic ?? Self.changelogTopic(group: group, processor: name)
    }

    /// The repartition topic of a repartitioned processor in `group`
    /// (`millwright.<group>.<name>.repartition.v1`), `nil` for one that is not.
    public func repartitionTopic(group: String) -> String? {
        repartitions ? "millwright.\(group).\(name).repartition.v1" : nil
    }

    /// The topic whose partitioning the repartition topic follows: the first table topic (the
    /// state is keyed like it), else the first input.
    var keyPartitionedTopic: String? {
        inputTopics.first(where: tableTopics.contains) ?? inputTopics.first
    }

    /// `millwright.<group>.<processor>.changelog.v1`: the catalog's
    /// `millwright.{group}.<processor>.changelog.v1` for that group.
    public static func changelogTopic(group: String, processor: String) -> String {
        "millwright.\(group).\(processor).changelog.v1"
    }
}
