import Kafka

/// Settings of a ``GlobalTableLoader``: where the cluster is and how the loader reads.
///
/// The loader always reads with `isolation.level=read_committed`, without a consumer group
/// (every instance reads every partition), from its sink's positions or the beginning, and with
/// partition-EOF events on; those are not settings.
public struct GlobalTableConfiguration: Sendable {
    /// Brokers, client id and security. No default: required.
    public var client: KafkaClientConfiguration
    /// Records handed to the sink in one `apply` at most (one SQLite transaction for the master-data
    /// store). Default 5,000.
    public var maxBatchSize: Int = 5_000
    /// How long one poll waits for the first record; also the longest time ``GlobalTableLoader/stop()``
    /// waits for the polling thread to notice. Default 100 ms.
    public var pollTimeout: Duration = .milliseconds(100)
    /// How long ``GlobalTableLoader/start()`` keeps trying to find the topics and their high
    /// watermarks before it fails. Default 30 s.
    public var startTimeout: Duration = .seconds(30)
    /// How often the topics' partitions are listed again while running, so partitions added later
    /// are read too. Default 60 s.
    public var partitionRefreshInterval: Duration = .seconds(60)
    /// Pause after a retriable Kafka error before polling again. Default 500 ms.
    public var retryBackoff: Duration = .milliseconds(500)
    /// `queued.min.messages`: records librdkafka prefetches per partition. Default 100,000
    /// (librdkafka's); lower it to bound memory when records are large.
    public var maxPrefetchedMessages: Int = 100_000
    /// `message.timeout.ms` of the producer that sends the sink's outputs (dead letters of
    /// records it rejected): an output not acknowledged within it counts as failed, stays in the
    /// sink and is sent again after a backoff (0.5 s doubling to 30 s). Default 60 s.
    public var outboxDeliveryTimeout: Duration = .seconds(60)
    /// How long a stopping loader waits for the delivery reports of outputs in flight; those not
    /// reported by then stay in the sink and the next loader sends them again. Default 5 s.
    public var outboxStopTimeout: Duration = .seconds(5)

    /// Every other setting at its default.
    public init(client: KafkaClientConfiguration) {
        self.client = client
    }

    /// `host:port[,host:port…]`.
    public init(bootstrapServers: String) {
        self.init(client: KafkaClientConfiguration(bootstrapServers: bootstrapServers))
    }

    /// Checks every setting once, at the edge; the message names the setting.
    func validate() throws(GlobalTableError) {
        func fail(_ reason: String) -> GlobalTableError { GlobalTableError(code: .configuration, reason: reason) }
        if client.bootstrapServers.isEmpty { throw fail("client.bootstrapServers: at least one host:port is required") }
        if maxBatchSize < 1 { throw fail("maxBatchSize: must be ≥ 1 (got \(maxBatchSize))") }
        if pollTimeout <= .zero { throw fail("pollTimeout: must be > 0 (got \(pollTimeout))") }
        if startTimeout <= .zero { throw fail("startTimeout: must be > 0 (got \(startTimeout))") }
        if partitionRefreshInterval <= .zero {
            throw fail("partitionRefreshInterval: must be > 0 (got \(partitionRefreshInterval))")
        }
        if retryBackoff < .zero { throw fail("retryBackoff: must be ≥ 0 (got \(retryBackoff))") }
        if maxPrefetchedMessages < 1 { throw fail("maxPrefetchedMessages: must be ≥ 1 (got \(maxPrefetchedMessages))") }
        if outboxDeliveryTimeout < .milliseconds(1) { throw fail("outboxDeliveryTimeout: must be ≥ 1 ms (got \(outboxDeliveryTimeout))") }
        if outboxStopTimeout < .zero { throw fail("outboxStopTimeout: must be ≥ 0 (got \(outboxStopTimeout))") }
    }

    /// The consumer the loader reads with.
    var consumerConfiguration: KafkaConsumerConfiguration {
        var consumer = KafkaConsumerConfiguration(client: client, groupID: nil)
        consumer.isolationLevel = .readCommitted
        consumer.autoOffsetReset = .earliest
        consumer.enablePartitionEOF = true
        consumer.enableAutoCommit = false
        consumer.enableAutoOffsetStore = false
        consumer.maxPrefetchedMessages = maxPrefetchedMessages
        return consumer
    }
}
