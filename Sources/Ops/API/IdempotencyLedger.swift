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
        case pending(fingerprint: [UInt8], Task<Answer, any Error>)
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
            case .pending(let known, let task): return known == fingerprint ? .wait(task) : .conflict
            case nil:
                let task = Task { [self] in
                    do {
                        let answer = try await work()
                        finish(key, answer)
                        return answer
                    } catch {
                        self.state.withLock { _ = $0.entries.removeValue(forKey: key) }
                        throw error
                    }
                }
                state.entries[key] = .pending(fingerprint: fingerprint, task)
                return .run(task)
            }
        }
        switch claim {
        case .conflict: return .conflict
        case .replay(let answer): return .answer(answer, replayed: true)
        case .wait(let task): return .answer(try await task.value, replayed: true)
        case .run(let task): return .answer(try await task.value, replayed: false)
        }
    }

    private enum Claim {
        case replay(Answer)
        case wait(Task<Answer, any Error>)
        case run(Task<Answer, any Error>)
        case conflict
    }

    /// How many keys are remembered or in progress.
    var count: Int { state.withLock { $0.entries.count } }

    private func finish(_ key: String, _ answer: Answer) {
        let kept = keep(answer)
        state.withLock { state in
            guard case .pending(let fingerprint, _) = state.entries[key] else { return }
            if kept {
                state.entries[key] = .done(fingerprint: fingerprint, answer, expires: .now + retention)
                state.order.append(key)
            } else {
                state.entries.removeValue(forKey: key)
            }
        }
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
