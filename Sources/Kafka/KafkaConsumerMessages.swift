/// The events of a ``KafkaConsumer`` as an `AsyncSequence`: each step that runs out of buffered
/// events polls a batch on the consumer's own queue.
public struct KafkaConsumerEvents: AsyncSequence, Sendable {
    public typealias Element = KafkaConsumerEvent

    let consumer: KafkaConsumer
    /// Events fetched per hop to the consumer's queue. Default 10,000.
    public var batchSize: Int = 10_000
    /// How long one poll waits before the sequence checks for cancellation. Default 100 ms.
    public var pollTimeout: Duration = .milliseconds(100)

    public struct AsyncIterator: AsyncIteratorProtocol {
        let consumer: KafkaConsumer
        let batchSize: Int
        let pollTimeout: Duration
        var buffer: [KafkaConsumerEvent] = []
        var index = 0

        public mutating func next() async throws -> KafkaConsumerEvent? {
            while index == buffer.count {
                if Task.isCancelled || consumer.isClosed { return nil }
                let result: Result<[KafkaConsumerEvent], KafkaError>
                do throws(KafkaError) {
                    result = .success(try await consumer.pollBatch(maxMessages: batchSize, timeout: pollTimeout))
                } catch {
                    result = .failure(error)
                }
                switch result {
                case .success(let events): buffer = events
                case .failure(let error) where error.code == .closed: return nil
                case .failure(let error): throw error
                }
                index = 0
            }
            defer { index += 1 }
            return buffer[index]
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(consumer: consumer, batchSize: batchSize, pollTimeout: pollTimeout)
    }
}

/// The messages of a ``KafkaConsumer`` as an `AsyncSequence` (partition-EOF markers skipped).
public struct KafkaConsumerMessages: AsyncSequence, Sendable {
    public typealias Element = KafkaConsumerMessage

    var events: KafkaConsumerEvents

    public struct AsyncIterator: AsyncIteratorProtocol {
        var events: KafkaConsumerEvents.AsyncIterator

        public mutating func next() async throws -> KafkaConsumerMessage? {
            while let event = try await events.next() {
                if case .message(let message) = event { return message }
            }
            return nil
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(events: events.makeAsyncIterator())
    }
}
