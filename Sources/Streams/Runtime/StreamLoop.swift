import Foundation
import Kafka
import Logging

/// The loop's state: only the loop thread touches it (the rebalance listener runs on that thread
/// too, inside the poll).
final class StreamLoop: KafkaRebalanceListener, @unchecked Sendable {
    // @unchecked: every member is used from the worker's loop thread only (the listener is
    // called by librdkafka inside `pollBatch`, on the same thread).
    //
    // Many stored properties, on purpose: this is one thread's context, shared by the seams that
    // extend it (StreamLoop+Input, +Commit, +Tasks, +Rebalance), each of which owns a group below:
    // the clients (consumer, producer, committer), the tasks, the input (buffers, start offsets,
    // paused partitions, tables catching up), the commit (in flight, schedule, ledger, timings) and
    // the share-out (mailbox, shared). The decisions are in the value types they hold
    // (CommitSchedule, TransactionLedger, TaskInputBuffer), tested without I/O.
    unowned let worker: StreamWorker
    /// The consumer this thread reads its partitions with: the group member's (thread 0, or a
    /// single loop thread), or one of its own that joins no group (`LoopThreads`).
    let consumer: KafkaConsumer
    /// Requests from the group member's thread, for a loop thread after the first.
    let mailbox: LoopMailbox?
    /// Partitions this (member) thread gave to other loop threads, by thread.
    var shared: [Int32: Int] = [:]
    /// The processor's table topics and its other (event) input topics, worked out once.
    let tableTopics: [String]
    let eventTopics: [String]
    let producer: KafkaProducer
    let logger: Logger
    var tasks: [Int32: StreamTask] = [:]
    /// Where each assigned input partition starts (its committed offset, or 0): the fetch
    /// position until the first record of it is consumed.
    var startOffsets: [KafkaTopicPartition: Int64] = [:]
    /// Fetched records per task, released in event-time order.
    var buffers: [Int32: TaskInputBuffer] = [:]
    /// Event partitions paused because their task's buffer is full.
    var pausedForBackpressure = Set<KafkaTopicPartition>()

    /// Tasks whose table partitions are still catching up (partition → table topic → end offset
    /// at assignment); their event records stay in their buffers until then.
    var tableCatchUp: [Int32: [String: Int64]] = [:]
    /// Where the loop thread's time went since the last hand-over (the `debug` log line "transaction
    /// handed over"): waiting in the poll, waiting for the transaction before to finish.
    var pollTime: Duration = .zero
    var commitWaitTime: Duration = .zero
    /// The transaction being committed on the committer thread, if any.
    var inFlight: PendingCommit?
    /// When to hand a transaction over, how long to poll.
    var schedule: CommitSchedule
    /// Batch ids, aborted batches and their notes; `poisoned` after an error.
    var ledger: TransactionLedger
    let committer: DispatchQueue
    /// Loop turns so far: where the round of tasks starts.
    var turn = 0
    /// Where a repartitioned processor's tasks forward records that belong to another task (set
    /// when the loop starts).
    var routing: KeyRouting?
    let instance: String

    init(worker: StreamWorker) throws(StreamsError) {
        self.worker = worker
        let configuration = worker.configuration
        logger = worker.workerLogger
        instance = worker.instanceID()
        ledger = TransactionLedger(instance: instance)
        schedule = CommitSchedule(
            commitInterval: configuration.commitInterval, idleWait: configuration.idleCommitWait,
            maxRecords: configuration.maxRecordsPerTransaction, now: .now)
        committer = DispatchQueue(label: "millwright-\(worker.definition.name)-commit")
        tableTopics = worker.definition.inputTopics.filter(worker.definition.tableTopics.contains)
        eventTopics = worker.definition.inputTopics.filter { !worker.definition.tableTopics.contains($0) }
        let member = worker.threads == nil || worker.thread == 0
        var consumerConfiguration = KafkaConsumerConfiguration(
            client: configuration.client, groupID: member ? "\(configuration.group).\(worker.definition.name)" : nil)
        consumerConfiguration.isolationLevel = .readCommitted
        consumerConfiguration.autoOffsetReset = .earliest
        consumerConfiguration.sessionTimeout = configuration.sessionTimeout
        consumerConfiguration.heartbeatInterval = .milliseconds(min(1000, configuration.sessionTimeout.wholeMilliseconds / 4))
        consumerConfiguration.maxPrefetchedMessages = configuration.maxPrefetchedMessages
        // The group member's statistics give the brokers' state and round-trip times (metrics).
        var statistics: (@Sendable (String) -> Void)?
        if member, let interval = configuration.statisticsInterval {
            consumerConfiguration.client.statisticsInterval = interval
            statistics = { [metrics = worker.metrics] json in
                if let parsed = KafkaStatistics(json: json) { metrics.publish(parsed) }
            }
        }
        do { consumer = try KafkaConsumer(configuration: consumerConfiguration, logger: logger, statisticsHandler: statistics) } catch {
            throw StreamsError(kafka: error)
        }
        worker.watchCluster { [consumer] in consumer.allBrokersDownSince }
        if let threads = worker.threads {
            if member {
                threads.setMember(consumer)
                mailbox = nil
            } else {
                let mailbox = LoopMailbox()
                threads.register(worker.thread, mailbox)
                self.mailbox = mailbox
            }
        } else {
            mailbox = nil
        }
        var producerConfiguration = KafkaProducerConfiguration(client: configuration.client)
        producerConfiguration.transactionalID = "\(configuration.group).\(worker.definition.name).\(instance)"
        producerConfiguration.linger = .milliseconds(2)
        do { producer = try KafkaProducer(configuration: producerConfiguration, logger: logger) } catch { throw StreamsError(kafka: error) }
    }

    /// Every input topic's partition of these partition numbers (one task each).
    func inputPartitions(_ numbers: [Int32]) -> [KafkaTopicPartition] {
        numbers.flatMap { p in worker.definition.inputTopics.map { KafkaTopicPartition(topic: $0, partition: p) } }
    }

    /// The group member's consumer: for the group's committed offsets, the transactions' group
    /// metadata and the group offset commits.
    func group() throws(KafkaError) -> KafkaConsumer {
        guard mailbox != nil else { return consumer }
        guard let member = worker.threads?.member else {
            throw KafkaError(code: .invalidState, reason: "the group member's loop thread of \(worker.definition.name) has not started")
        }
        return member
    }

    func run() throws(StreamsError) {
        do { try loop() } catch {
            ledger.poisoned = true
            throw error
        }
    }

    private func loop() throws(StreamsError) {
        // The group's changelog, before anything reads or writes it (a cluster that creates
        // topics on first use would make it with its own partition count, uncompacted).
        if let preparer = worker.configuration.topicPreparer {
            try kafka { () throws(KafkaError) in try preparer.prepareChangelog(worker.changelogTopic) }
        }
        if let topic = worker.repartitionTopic { routing = try prepareRouting(topic) }
        try kafka { () throws(KafkaError) in try producer.initTransactions(timeout: .seconds(30)) }
        producer.prepareTopics([worker.changelogTopic] + worker.definition.outputTopics)
        if mailbox == nil {
            try kafka { () throws(KafkaError) in try consumer.subscribe(topics: worker.definition.inputTopics, listener: self) }
        } else {
            worker.updateHealth { joined, _ in joined = true }  // the member joined for it
        }
        logger.info(
            "worker started",
            metadata: [
                "topics": "\(worker.definition.inputTopics)", "changelog": "\(worker.changelogTopic)", "instance": "\(instance)",
                "life": "\(ledger.life)",
            ])
        let interval = worker.configuration.wallClockInterval.wholeMilliseconds
        var pollTimeout = CommitSchedule.idlePoll
        var lastPublished: Int64 = 0
        defer { worker.metrics.removeGauges() }
        while !worker.isStopping {
            if let mailbox { serve(mailbox.take()) }
            let polling = ContinuousClock.now
            let events = try kafka { () throws(KafkaError) in try consumer.pollBatch(maxMessages: worker.configuration.maxPollRecords, timeout: pollTimeout) }
            worker.progressed()
            pollTime += .now - polling
            let idle = schedule.polled(anything: !events.isEmpty, at: .now)
            let now = Self.now()
            for event in events {
                guard case .message(let message) = event, tasks[message.partition] != nil else { continue }
                // A copy, not librdkafka's message: the buffers hold thousands of records ahead
                // (held, they kept ~10 MB more at the benchmark's peak).
                buffers[message.partition, default: TaskInputBuffer()].append(message.detached())
            }
            var processed = 0
            // The transaction's budget goes round the tasks, starting one further each turn: in
            // a burst no task waits until every other one has drained. Its outputs have a budget
            // too: once they reach it, the turn stops and the transaction is full.
            let order = tasks.keys.sorted()
            turn &+= 1
            let maxOutputBytes = worker.configuration.maxOutputBytesPerTransaction
            var outputBytes = tasks.values.reduce(0) { $0 + $1.outputBytes }
            for index in order.indices where outputBytes < maxOutputBytes {
                let partition = order[(index + turn) % order.count]
                let task = tasks[partition]!
                let before = task.outputBytes
                processed += try drain(
                    task, partition: partition, now: now, budget: schedule.budget(processedThisTurn: processed),
                    outputLimit: maxOutputBytes - (outputBytes - before))
                outputBytes += task.outputBytes - before
            }
            try applyBackpressure()
            if processed > 0 { worker.record { $0.processedRecords += processed } }
            if !tableCatchUp.isEmpty { try resumeCaughtUpTasks() }
            // A task whose tables are still catching up has no clock yet: its wall-clock timers
            // would decide on rows not read yet (parked events quarantined as UNKNOWN_WORK_ORDER
            // while their release waits in the work-order table behind them), and its stream
            // time would move up while its events are held.
            for task in tasks.values where tableCatchUp[task.partition] == nil {
                do { try task.tick(now: now, interval: interval) } catch {
                    throw StreamsError(.processor, "processor \(worker.definition.name) failed on the clock of task \(task.partition): \(error)")
                }
            }
            if now - lastPublished >= interval {
                lastPublished = now
                publishMetrics()
                checkClusterReachable()
            }
            let next = schedule.turnEnded(processed: processed, idle: idle, outputsFull: outputBytes >= maxOutputBytes, now: .now)
            pollTimeout = next.pollTimeout
            try finishCommit(wait: next.waitForInFlight)
            if inFlight == nil && next.handOver { try beginCommit() }
        }
        try commit()
        logger.info("worker stopping: leaving the group")
    }

    /// While librdkafka says every broker is down, asks the cluster for its topics (at most
    /// 1 s; at most once a loop turn a second): an answer means it is back, which an idle loop
    /// thread would otherwise not learn (no commit, no statistics on threads after the first).
    func checkClusterReachable() {
        guard consumer.allBrokersDownSince != nil else { return }
        if (try? consumer.topics(timeout: .seconds(1))) != nil {
            consumer.clusterReached()
            logger.notice("the Kafka cluster answers again")
        }
    }

    func close() {
        // Requests that came after the last commit (or after an error): nothing to commit, only
        // tasks to drop and the member's thread to release.
        if let mailbox { serve(mailbox.close(), committed: true) }
        try? consumer.close()  // the revoke hook commits what is left (nothing after an error: `poisoned`)
        producer.flushQuietly()
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}

extension KafkaProducer {
    /// Flushes for up to 10 s, ignoring failures (blocking; for the loop thread as it ends —
    /// the client is destroyed with the loop).
    fileprivate func flushQuietly() {
        try? flush(timeout: .seconds(10))
    }
}
