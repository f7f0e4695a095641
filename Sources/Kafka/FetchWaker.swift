import Dispatch
import Foundation
import Synchronization

/// Wakes librdkafka 2.0.2's fetchers after the application drained a full local queue.
///
/// A partition whose local queue holds `queued.min.messages` is taken off its broker's fetch
/// list, and the broker thread decides again only when something wakes it — in 2.0.2 nothing
/// does until its one-second idle timer runs out (later versions added `fetch.queue.backoff.ms`
/// for this). A consumer that drains the queue faster than that sits idle for up to a second at a
/// time. Any request to a broker wakes its thread, which then finds the drained partitions
/// fetchable again: so when a poll comes back short after at least half of
/// `queued.min.messages` went through, this thread sends one ListOffsets round (offsets for the
/// latest timestamp, one request per leader) for the assigned partitions and ignores the answer.
/// At most one round is in flight; a slow consumer never triggers one.
final class FetchWaker: Sendable {
    private final class State: Sendable {
        let requested = Atomic<Bool>(false)
        let stopped = Atomic<Bool>(false)
        let rounds = Atomic<Int>(0)
        let consumedSinceRound = Atomic<Int>(0)
    }

    private let state = State()
    private let signal = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let threshold: Int

    init(client: RDKafkaClient, prefetch: Int) {
        threshold = max(1, prefetch / 2)
        startNamedThread("kafka-waker") { [state, signal, finished] in
            while true {
                signal.wait()
                if state.stopped.load(ordering: .acquiring) { break }
                state.requested.store(false, ordering: .releasing)
                guard let assigned = try? client.assignment(), !assigned.isEmpty else { continue }
                let latest = assigned.map { KafkaTopicPartitionOffset(topic: $0.topic, partition: $0.partition, offset: KafkaOffset.end) }
                _ = try? client.offsetsForTimes(latest, timeout: .milliseconds(500))
                state.rounds.add(1, ordering: .relaxed)
            }
            finished.signal()
        }
    }

    /// Called after every poll with how many messages it asked for and got.
    func polled(asked: Int, got: Int) {
        let consumed = state.consumedSinceRound.add(got, ordering: .relaxed).newValue
        guard got < asked, consumed >= threshold else { return }
        wake()
    }

    /// Sends a round now (unless one is in flight): after a resume, whose partitions librdkafka
    /// 2.0.2 otherwise fetches again only when their broker thread next wakes (~0.5 s).
    func wake() {
        state.consumedSinceRound.store(0, ordering: .relaxed)
        if state.requested.exchange(true, ordering: .acquiringAndReleasing) { return }
        signal.signal()
    }

    /// Wake-up rounds sent so far.
    var rounds: Int { state.rounds.load(ordering: .relaxed) }

    /// Ends the thread, after the round in flight (at most its 500 ms timeout).
    func stop() {
        if state.stopped.exchange(true, ordering: .acquiringAndReleasing) { return }
        signal.signal()
        finished.wait()
    }
}
