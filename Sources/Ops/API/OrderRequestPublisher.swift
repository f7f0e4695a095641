import Kafka
import Logging
import Manufacturing
import Streams

/// Where accepted order requests go: `crm.order-request.v1`. The order API's handlers see only
/// this, so they are tested without a broker.
public protocol OrderRequestPublisher: Sendable {
    /// Publishes the record and returns once the cluster has acknowledged it.
    func publish(_ record: OutputRecord) async throws
}

/// Publishes on an idempotent producer of its own (acks=all), waiting for each delivery report:
/// an accepted request is on the topic before the API answers 201.
///
/// - Important: Thread-safe. ``close()`` when the server has stopped.
public final class KafkaOrderRequestPublisher: OrderRequestPublisher {
    private let producer: KafkaProducer

    /// Creates the producer (linger 5 ms, deliveries given up after 30 s) and looks up the topic.
    public init(client: KafkaClientConfiguration, logger: Logger) throws(KafkaError) {
        var configuration = KafkaProducerConfiguration(client: client)
        configuration.linger = .milliseconds(5)
        configuration.messageTimeout = .seconds(30)
        producer = try KafkaProducer(configuration: configuration, logger: logger)
        producer.prepareTopics([Topics.orderRequest])
    }

    /// Sends the record and waits for its delivery report; throws the delivery's error.
    public func publish(_ record: OutputRecord) async throws {
        try await producer.sendAndAwait(KafkaProducerMessage(record))
    }

    /// Delivers what is queued (up to 10 s) and closes the producer.
    public func close() async {
        await producer.close(timeout: .seconds(10))
    }
}
