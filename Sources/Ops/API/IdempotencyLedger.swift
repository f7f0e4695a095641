import Synchronization

/// The answers of the order API by `Idempotency-Key`: the first request with a key does the
/// work; a request with the same key and the same body gets that answer (waiting for it while
/// it is being worked out, so concurrent identical requests do the work once); with another
/// body, a conflict. Only answers that ``keep`` accepts are remembered (a refusal is worked
/// out again next time, so a request refused for master data passes once it is fixed).
///
/// Keys are kept for `retention` and at most `capacity` of them, the oldest going first. They
/// live in this process: another worker, or this one after a restart, does not know them.
///
/// - Important: Thread-safe.
final class IdempotencyLedger<Answer: Sendable>: Sendable {
    /// What a request gets.
    enum Outcome {
        /// The answer, and whether it was another request's.
        case answer(Answer, replayed: Bool)
        /// The key was used with another body.
        case conflict
    }

    private enum Entry {
        /// Being worked out by the first request; identical ones wait here for its answer.
        case pending(fingerprint: [UInt8], waiters: [CheckedContinuation<Answer, any Error>])
        case done(fingerprint: [UInt8], Answer, expires: ContinuousClock.Instant)
    }

    private struct State {
        var entries: [String: Entry] = [:]
        /// Keys in the order they were remembered, for expiry (`head` is the oldest still there).
        var order: [String] = []
        var head = 0
    }

    private let state = Mutex(State())
    let retention: Duration
    let capacity: Int
    private let keep: @Sendable (Answer) -> Bool

    init(retention: Duration, capacity: Int, keep: @escaping @Sendable (Answer) -> Bool) {
        self.retention = retention
        self.capacity = capacity
        self.keep = keep
    }

    /// Answers the request with `key` and `fingerprint` (the normalised body): runs `work` when
    /// the key is new, else the first request's answer or a conflict. An error of `work` is
    /// every waiting request's error, and the key is forgotten.
    func answer(key: String, fingerprint: [UInt8], work: @escaping @Sendable () async throws -> Answer) async throws -> Outcome {
        let now = ContinuousClock.now
        let claim: Claim = state.withLock { state in
            expire(&state, now: now)
            switch state.entries[key] {
            case .done(let known, let answer, _): return known == fingerprint ? .replay(answer) : .conflict
            case .pending(let known, _): return known == fingerprint ? .wait : .conflict
            case nil:
                state.entries[key] = .pending(fingerprint: fingerprint, waiters: [])
                return .run
            }
        }
        switch claim {
        case .conflict: return .conflict
        case .replay(let answer): return .answer(answer, replayed: true)
        case .wait: return .answer(try await wait(key: key), replayed: true)
        case .run:
            // The first request does the work itself; the waiters get its answer or its error.
            let result: Result<Answer, any Error>
            do { result = .success(try await work()) } catch { result = .failure(error) }
            finish(key, result)
            return .answer(try result.get(), replayed: false)
        }
    }

    /// Waits for the answer of the request working out `key`.
    private func wait(key: String) async throws -> Answer {
        try await withCheckedThrowingContinuation { continuation in
            let now: Result<Answer, any Error>? = state.withLock { state in
                switch state.entries[key] {
                case .pending(let fingerprint, var waiters):
                    waiters.append(continuation)
                    state.entries[key] = .pending(fingerprint: fingerprint, waiters: waiters)
                    return nil
                case .done(_, let answer, _): return .success(answer)
                case nil: return .failure(LedgerError())  // the first request failed meanwhile
                }
            }
            if let now { continuation.resume(with: now) }
        }
    }

    /// The first request of a key failed, and this one waited for it.
    struct LedgerError: Error, CustomStringConvertible {
        var description: String { "the first request with this Idempotency-Key failed; send it again" }
    }

    private enum Claim {
        case replay(Answer)
        case wait
        case run
        case conflict
    }

    /// How many keys are remembered or in progress.
    var count: Int { state.withLock { $0.entries.count } }

    private func finish(_ key: String, _ result: Result<Answer, any Error>) {
        let kept = (try? result.get()).map(keep) ?? false
        let waiters: [CheckedContinuation<Answer, any Error>] = state.withLock { state in
            guard case .pending(let fingerprint, let waiters) = state.entries[key] else { return [] }
            if kept, case .success(let answer) = result {
                state.entries[key] = .done(fingerprint: fingerprint, answer, expires: .now + retention)
                state.order.append(key)
            } else {
                state.entries.removeValue(forKey: key)
            }
            return waiters
        }
        for waiter in waiters { waiter.resume(with: result) }
    }

    /// Forgets the oldest answers while they are past their retention or over the capacity.
    private func expire(_ state: inout State, now: ContinuousClock.Instant) {
        while state.head < state.order.count {
            let key = state.order[state.head]
            guard case .done(_, _, let expires) = state.entries[key] else {
                state.head += 1  // forgotten already, or claimed again since
                continue
            }
            guard expires <= now || state.entries.count > capacity else { break }
            state.entries.removeValue(forKey: key)
            state.head += 1
        }
        if state.head > 1_024 && state.head * 2 > state.order.count {
            state.order.removeFirst(state.head)
            state.head = 0
        }
    }
}
