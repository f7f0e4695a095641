import Foundation
import Streams
import Synchronization

/// A ``GlobalTableSink`` in memory that keeps every record applied, the positions, and counts;
/// it can hold `apply` until released and fail chosen batches, to test the loader around it. A
/// record whose value starts with `poison` leaves a dead letter in its outbox (and one starting
/// with `poison-huge` one of 2 MB, which the producer refuses).
final class GlobalTableTestSink: GlobalTableSink {
    struct State {
        /// Latest value per `topic/key`; a tombstone removes the key.
        var rows: [String: String] = [:]
        var positions: [TopicPartition: Int64] = [:]
        /// Offsets applied per partition, in the order applied.
        var offsets: [TopicPartition: [Int64]] = [:]
        var appliedRecords = 0
        var batches = 0
        var holding = false
        /// Fails a batch that contains a record with this value, without storing anything of it.
        var failOnValue: String?
        /// The outbox: outputs by id, until delivered.
        var pending: [GlobalTableOutput.ID: OutputRecord] = [:]
        var nextOutputID: GlobalTableOutput.ID = 1
        /// Ids reported delivered, in order (a repeat would be a duplicate).
        var delivered: [GlobalTableOutput.ID] = []
        /// Calls of `pendingOutputs`.
        var outboxLooks = 0
    }

    struct InjectedFailure: Error, CustomStringConvertible {
        var description: String { "injected sink failure" }
    }

    private let state: Mutex<State>

    init(_ state: State = State()) {
        self.state = Mutex(state)
    }

    var snapshot: State { state.withLock { $0 } }

    func hold() { state.withLock { $0.holding = true } }
    func release() { state.withLock { $0.holding = false } }
    func failOn(value: String?) { state.withLock { $0.failOnValue = value } }

    /// True while a call to `apply` is waiting for ``release()``.
    let waiting = Atomic<Bool>(false)

    func storedPositions() throws -> [TopicPartition: Int64] {
        state.withLock { $0.positions }
    }

    func apply(_ records: [StreamRecord], positions: [TopicPartition: Int64]) throws {
        while state.withLock({ $0.holding }) {
            waiting.store(true, ordering: .releasing)
            Thread.sleep(forTimeInterval: 0.005)
        }
        waiting.store(false, ordering: .releasing)
        try state.withLock { state in
            if let poison = state.failOnValue, records.contains(where: { $0.value.map { String(decoding: $0, as: UTF8.self) } == poison }) {
                throw InjectedFailure()
            }
            for record in records {
                if let value = record.value.map({ String(decoding: $0, as: UTF8.self) }), value.hasPrefix("poison") {
                    var letter = DeadLetter.record(for: record, reason: "MALFORMED_JSON", error: "not JSON: \(value)")
                    if value.hasPrefix("poison-huge") { letter.value = Array(repeating: 0x78, count: 2_000_000) }
                    state.pending[state.nextOutputID] = letter
                    state.nextOutputID += 1
                }
                let key = "\(record.topic)/\(record.keyString ?? "")"
                state.rows[key] = record.value.map { String(decoding: $0, as: UTF8.self) }
                state.offsets[record.topicPartition, default: []].append(record.offset)
            }
            state.positions.merge(positions) { $1 }
            state.appliedRecords += records.count
            state.batches += 1
        }
    }

    func pendingOutputs(limit: Int) throws -> [GlobalTableOutput] {
        state.withLock { state in
            state.outboxLooks += 1
            return state.pending.keys.sorted().prefix(limit).map { GlobalTableOutput(id: $0, record: state.pending[$0]!) }
        }
    }

    func outputsDelivered(_ ids: [GlobalTableOutput.ID]) throws {
        state.withLock { state in
            for id in ids { state.pending[id] = nil }
            state.delivered += ids
        }
    }
}
