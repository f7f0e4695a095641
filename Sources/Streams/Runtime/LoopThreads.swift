import Dispatch
import Kafka
import Synchronization

/// The loop threads of one processor in one process, when there are several. The first one's
/// consumer is the process's only member of the processor's group; its rebalance hook shares the
/// partitions it is given among the loop threads, and the others read theirs with consumers of
/// their own that join no group (assigned partitions, fetch positions of their own). Their
/// transactions carry the member's group metadata, and the group offsets are committed through
/// the member.
///
/// Why one member, not one per thread (as Kafka Streams has): members that join together race
/// each other into the group, and on the in-process cluster (librdkafka 2.0.2's mock) a member
/// whose SyncGroup comes after the leader's is refused and starts a second rebalance, which the
/// mock holds for the session timeout less a second (Docs/performance.md, sixth session).
///
/// - Important: Thread-safe.
public final class LoopThreads: Sendable {
    /// How many loop threads the processor has in this process.
    public let count: Int
    private let state = Mutex<State>(State())

    private struct State {
        var member: KafkaConsumer?
        var mailboxes: [Int: LoopMailbox] = [:]
    }

    public init(count: Int) {
        precondition(count >= 1, "at least one loop thread")
        self.count = count
    }

    /// The group member's consumer, once the first loop thread created it.
    var member: KafkaConsumer? { state.withLock { $0.member } }

    func setMember(_ consumer: KafkaConsumer) { state.withLock { $0.member = consumer } }

    func register(_ thread: Int, _ mailbox: LoopMailbox) { state.withLock { $0.mailboxes[thread] = mailbox } }

    func mailbox(_ thread: Int) -> LoopMailbox? { state.withLock { $0.mailboxes[thread] } }

    /// Loop threads (after the first) that take requests now.
    var openThreads: [Int] {
        state.withLock { s in s.mailboxes.filter { $0.value.isOpen }.keys.sorted() }
    }
}

/// Requests from the group member's loop thread to another loop thread of the processor, taken
/// by that thread between polls.
final class LoopMailbox: Sendable {
    enum Request: Sendable {
        /// Open tasks for these partitions (restore them) and read their inputs from the group's
        /// committed offsets.
        case assign([Int32])
        /// Commit, then drop these partitions' tasks and stop reading them; then signal.
        case revoke([Int32], DispatchSemaphore)
        /// Drop these partitions' tasks without committing (another member may own them); then
        /// signal.
        case lost([Int32], DispatchSemaphore)
    }

    private let state = Mutex<(open: Bool, requests: [Request])>((true, []))

    var isOpen: Bool { state.withLock { $0.open } }

    /// Partitions posted to be opened and not taken yet (for the receiving thread's readiness).
    var pendingAssignedPartitions: Int {
        state.withLock { s in
            s.requests.reduce(0) { count, request in
                if case .assign(let partitions) = request { count + partitions.count } else { count }
            }
        }
    }

    /// Adds a request; false once the loop thread stopped (nothing will take it).
    func post(_ request: Request) -> Bool {
        state.withLock { s in
            guard s.open else { return false }
            s.requests.append(request)
            return true
        }
    }

    func take() -> [Request] {
        state.withLock { s in
            defer { s.requests = [] }
            return s.requests
        }
    }

    /// Takes no more requests; returns those not taken yet.
    func close() -> [Request] {
        state.withLock { s in
            s.open = false
            defer { s.requests = [] }
            return s.requests
        }
    }
}
