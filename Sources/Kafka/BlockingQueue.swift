import Dispatch
import Foundation
import Synchronization

/// Runs blocking librdkafka calls (poll with timeout, flush, commit, transaction calls) on a
/// serial dispatch queue of their own, never on Swift's cooperative thread pool.
struct BlockingQueue: Sendable {
    private let queue: DispatchQueue

    init(label: String) {
        queue = DispatchQueue(label: label)
    }

    func run<T: Sendable>(_ body: @escaping @Sendable () throws(KafkaError) -> T) async throws(KafkaError) -> T {
        let result: Result<T, KafkaError> = await withCheckedContinuation { continuation in
            queue.async {
                do throws(KafkaError) {
                    continuation.resume(returning: .success(try body()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }
}

/// A thread of its own that serves a client's callbacks (`rd_kafka_poll`) until stopped.
final class PollLoop: Sendable {
    private final class Flag: Sendable {
        let stopped = Atomic<Bool>(false)
    }

    private let flag = Flag()
    private let finished = DispatchSemaphore(value: 0)

    init(name: String, client: RDKafkaClient) {
        startNamedThread(name) { [flag, finished] in
            while !flag.stopped.load(ordering: .acquiring) {
                client.poll(timeoutMilliseconds: 50)
            }
            finished.signal()
        }
    }

    /// Stops the loop and waits for its thread to end (at most one poll interval).
    func stop() {
        if flag.stopped.exchange(true, ordering: .acquiringAndReleasing) { return }
        finished.wait()
    }
}
