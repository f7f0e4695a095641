/// The life of a ``GlobalTableLoader`` as a value: idle → starting → running → finished, whether
/// it has caught up, and who waits for what. It does no I/O; the loader turns its answers into
/// actions (resuming waiters, signalling the polling thread). Generic over the waiter so tests can
/// drive it with plain values.
struct GlobalTableStateMachine<Waiter> {
    enum Phase {
        /// Created, not started.
        case idle
        /// Finding partitions, reading stored positions and watermarks, assigning.
        case starting
        /// Polling and applying.
        case running(GlobalTableCatchUp)
        /// The polling thread ended: stopped (`nil`) or failed.
        case finished(GlobalTableError?)
    }

    /// Waiters to resume, all with the same result.
    struct Resumption {
        var waiters: [Waiter]
        var result: Result<Void, GlobalTableError>
    }

    enum StopAction {
        /// Never started: finished now; resume these and close the consumer.
        case finishedBeforeStart([Resumption])
        /// Tell the polling thread to stop; waiting for ``finished(_:)``.
        case stopPollingThread
        /// Already stopping or finished.
        case none
    }

    enum WaitKind { case catchUp, finish }

    private(set) var phase: Phase = .idle
    private(set) var stopRequested = false
    private var nextID: UInt64 = 0
    /// Ids handed out whose waiter is not registered yet.
    private var issued: Set<UInt64> = []
    /// Ids that timed out or were cancelled before their waiter was registered.
    private var expiredEarly: [UInt64: GlobalTableError] = [:]
    private var catchUpWaiters: [UInt64: Waiter] = [:]
    private var finishWaiters: [UInt64: Waiter] = [:]

    /// True while running and every partition has reached its target.
    var isCaughtUp: Bool {
        if case .running(let catchUp) = phase { return catchUp.isCaughtUp }
        return false
    }

    /// The error the loader failed with, if it did.
    var failure: GlobalTableError? {
        if case .finished(let error) = phase { return error }
        return nil
    }

    /// Per topic, offsets loaded towards the targets at start; empty before partitions are assigned.
    var progress: [GlobalTableProgress] {
        if case .running(let catchUp) = phase { return catchUp.progress }
        return []
    }

    /// What is still behind, for a timeout message.
    var lagDescription: String {
        switch phase {
        case .idle: return "not started"
        case .starting: return "still starting (finding partitions and watermarks)"
        case .running(let catchUp): return catchUp.lagDescription
        case .finished(let error): return error.map { "failed: \($0.reason)" } ?? "stopped"
        }
    }

    // MARK: Lifecycle

    mutating func start() throws(GlobalTableError) {
        switch phase {
        case .idle where !stopRequested:
            phase = .starting
        case .idle, .finished:
            throw GlobalTableError(code: .invalidState, reason: "the loader was stopped; create a new one to load again")
        case .starting, .running:
            throw GlobalTableError(code: .invalidState, reason: "the loader is already started")
        }
    }

    /// Partitions are assigned; reading begins. Resumes catch-up waiters if nothing is behind.
    mutating func assigned(_ catchUp: GlobalTableCatchUp) -> Resumption? {
        guard case .starting = phase else { return nil }
        phase = .running(catchUp)
        return catchUp.isCaughtUp ? takeCatchUpWaiters(.success(())) : nil
    }

    /// A batch was applied (or only end-of-partition events arrived).
    mutating func applied(positions: [TopicPartition: Int64], ends: Set<TopicPartition>) -> Resumption? {
        guard case .running(var catchUp) = phase else { return nil }
        let wasCaughtUp = catchUp.isCaughtUp
        for (partition, position) in positions { catchUp.advance(partition, to: position) }
        for partition in ends { catchUp.reachedEnd(partition) }
        phase = .running(catchUp)
        return !wasCaughtUp && catchUp.isCaughtUp ? takeCatchUpWaiters(.success(())) : nil
    }

    mutating func requestStop() -> StopAction {
        if stopRequested { return .none }
        stopRequested = true
        switch phase {
        case .idle:
            return .finishedBeforeStart(finish(nil))
        case .starting, .running:
            return .stopPollingThread
        case .finished:
            return .none
        }
    }

    /// The polling thread ended, cleanly (`nil`) or with an error. Resumes every waiter.
    mutating func finished(_ error: GlobalTableError?) -> [Resumption] {
        if case .finished = phase { return [] }
        return finish(error)
    }

    private mutating func finish(_ error: GlobalTableError?) -> [Resumption] {
        phase = .finished(error)
        var resumptions: [Resumption] = []
        if !catchUpWaiters.isEmpty {
            let notCaughtUp = error ?? GlobalTableError(code: .stopped, reason: "the loader stopped before it caught up")
            resumptions.append(takeCatchUpWaiters(.failure(notCaughtUp)))
        }
        if !finishWaiters.isEmpty {
            resumptions.append(Resumption(waiters: Array(finishWaiters.values), result: error.map { .failure($0) } ?? .success(())))
            finishWaiters.removeAll()
        }
        return resumptions
    }

    private mutating func takeCatchUpWaiters(_ result: Result<Void, GlobalTableError>) -> Resumption {
        defer { catchUpWaiters.removeAll() }
        return Resumption(waiters: Array(catchUpWaiters.values), result: result)
    }

    // MARK: Waiters

    /// An id for a waiter about to be registered; ``expire(_:with:)`` may come before or after it.
    mutating func issueWaiterID() -> UInt64 {
        nextID += 1
        issued.insert(nextID)
        return nextID
    }

    /// Registers a waiter, or answers at once (`nil`: it waits).
    mutating func wait(_ kind: WaitKind, id: UInt64, _ waiter: Waiter) -> Result<Void, GlobalTableError>? {
        issued.remove(id)
        if let error = expiredEarly.removeValue(forKey: id) { return .failure(error) }
        switch (kind, phase) {
        case (.catchUp, .running(let catchUp)) where catchUp.isCaughtUp:
            return .success(())
        case (.catchUp, .finished(let error)):
            return .failure(error ?? GlobalTableError(code: .stopped, reason: "the loader is stopped"))
        case (.finish, .finished(let error)):
            return error.map { .failure($0) } ?? .success(())
        case (.catchUp, _):
            catchUpWaiters[id] = waiter
        case (.finish, _):
            finishWaiters[id] = waiter
        }
        return nil
    }

    /// Ends one wait early (timeout, cancellation). Returns the waiter to resume with `error`, or
    /// `nil` when it was already resumed or is not registered yet (then registering answers `error`).
    mutating func expire(_ id: UInt64, with error: GlobalTableError) -> Waiter? {
        if issued.remove(id) != nil {
            expiredEarly[id] = error
            return nil
        }
        return catchUpWaiters.removeValue(forKey: id) ?? finishWaiters.removeValue(forKey: id)
    }
}
