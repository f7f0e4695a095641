import Foundation
import Manufacturing
import Streams

/// The state-growth benchmark's input (issue 16): work orders approved evenly over the run's
/// days, each followed after a lead time by its MES events over a production time, the last few
/// final completions that bring it to its ordered quantity (so every work order completes), a few
/// percent of the others late (event time 10 minutes to 2 hours before their arrival, past the
/// grace). Generated in arrival order with a bounded heap of the work orders in production — the
/// input is never held whole — and deterministic from the seed.
public struct StateGrowthWorkload: Sendable {
    public var workOrders: Int
    public var days: Int
    public var eventsPerOrder: Int
    public var latePercent: Double
    public var seed: UInt64
    /// Event time of the first approval: 2026-01-01T00:00:00Z.
    public var start: Int64 = 1_767_225_600_000

    static let hour: Int64 = 3_600_000
    /// Lead time from approval to first event: 1 to 13 hours; production: 4 to 48 hours.
    static let maxLead = 13 * hour
    static let maxProduction = 48 * hour
    /// The longest a work order takes from its approval to its last event.
    public static let maxLifetime = maxLead + maxProduction

    public init(workOrders: Int, days: Int, eventsPerOrder: Int, latePercent: Double, seed: UInt64) {
        self.workOrders = workOrders
        self.days = days
        self.eventsPerOrder = eventsPerOrder
        self.latePercent = latePercent
        self.seed = seed
    }

    /// Approvals are spread over this span, so that the last work order completes within the days.
    public var releaseSpan: Int64 { max(1, Int64(days) * ProcessingSettings.day - Self.maxLifetime) }

    /// When work order `index` is approved (event time).
    public func releaseTime(_ index: Int) -> Int64 { start + Int64(index) * releaseSpan / Int64(max(1, workOrders)) }

    /// How many work orders are approved at event times in `from..<to`.
    public func approved(from: Int64, to: Int64) -> Int {
        func firstAtOrAfter(_ time: Int64) -> Int {
            var low = 0
            var high = workOrders
            while low < high {
                let mid = (low + high) / 2
                if releaseTime(mid) < time { low = mid + 1 } else { high = mid }
            }
            return low
        }
        return max(0, firstAtOrAfter(to) - firstAtOrAfter(from))
    }

    public static func orderId(_ index: Int) -> String { String(4_000_000_000 + index) }
    public static func workOrderId(_ index: Int) -> String { "WO-\(orderId(index))-10" }

    /// One work order's shape, drawn from the seed.
    struct Plan {
        var release: Int64
        var firstEvent: Int64
        var production: Int64
        var events: Int
        var finals: Int
    }

    func plan(_ index: Int) -> Plan {
        var random = GrowthRandom(seed: seed &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(index))
        let release = releaseTime(index)
        let lead = Self.hour + Int64(random.next() % UInt64(12 * Self.hour))
        let production = 4 * Self.hour + Int64(random.next() % UInt64(44 * Self.hour))
        let spread = max(1, eventsPerOrder / 5)
        let events = max(2, eventsPerOrder - spread + Int(random.next() % UInt64(2 * spread + 1)))
        return Plan(release: release, firstEvent: release + lead, production: production, events: events, finals: max(1, min(5, events / 6)))
    }

    /// One input record, at its arrival time (the simulated wall clock).
    public struct Input {
        public var record: OutputRecord
        public var arrival: Int64
        public var isApproval: Bool
        public var isLate: Bool
    }

    /// The inputs in arrival order.
    public func makeIterator() -> Iterator { Iterator(workload: self) }

    public struct Iterator: IteratorProtocol {
        let workload: StateGrowthWorkload
        var nextApproval = 0
        /// Work orders in production by their next event's arrival: (arrival, work order, event index).
        var heap = MinHeap()
        var plans: [Int: Plan] = [:]

        init(workload: StateGrowthWorkload) { self.workload = workload }

        public mutating func next() -> Input? {
            let approvalTime = nextApproval < workload.workOrders ? workload.releaseTime(nextApproval) : Int64.max
            if let top = heap.top, top.time < approvalTime {
                heap.pop()
                return event(top)
            }
            guard nextApproval < workload.workOrders else { return nil }
            let index = nextApproval
            nextApproval += 1
            let plan = workload.plan(index)
            plans[index] = plan
            heap.push(.init(time: plan.firstEvent, workOrder: Int32(index), event: 0))
            return approval(index, plan)
        }

        func approval(_ index: Int, _ plan: Plan) -> Input {
            let quantity = Double(10 * plan.finals)
            let order = OrderApproved(
                orderId: StateGrowthWorkload.orderId(index), orderLine: 10, customerId: "C-\(10_000 + index % 500)", customerName: "Customer \(index % 500)",
                itemId: "GB-200", quantity: quantity, uom: "EA", plant: "P100", bomRevision: "B",
                dueDate: Timestamp(milliseconds: plan.release + 7 * ProcessingSettings.day), priority: .normal)
            let record = Envelope(
                eventId: "approved-\(index)", correlationId: "crm-req-\(index)", occurredAt: Timestamp(milliseconds: plan.release),
                source: EventSource(system: "ERP", plant: "P100"), data: order
            )
            .outputRecord(topic: Topics.orderApproved, key: order.orderId, causationId: "growth", timestamp: plan.release)
            return Input(record: record, arrival: plan.release, isApproval: true, isLate: false)
        }

        mutating func event(_ pending: MinHeap.Entry) -> Input {
            let index = Int(pending.workOrder)
            let k = Int(pending.event)
            guard let plan = plans[index] else { fatalError("a work order in the heap has a plan") }
            if k + 1 < plan.events {
                heap.push(.init(time: eventTime(plan, k + 1), workOrder: pending.workOrder, event: Int16(k + 1)))
            } else {
                plans[index] = nil
            }
            let id = StateGrowthWorkload.workOrderId(index)
            let final = k >= plan.events - plan.finals
            var random = GrowthRandom(seed: workload.seed ^ (UInt64(index) << 16) ^ UInt64(k) ^ 0xA5A5)
            let late = !final && Double(random.next() % 10_000) < workload.latePercent * 100
            let arrival = pending.time
            let at = late ? arrival - 10 * 60_000 - Int64(random.next() % UInt64(110 * 60_000)) : arrival
            let metadata = (eventId: "mes-\(index)-\(k)", correlation: "crm-req-\(index)")
            let record: OutputRecord
            if !final && k % 10 == 9 {
                let data = ScrapReported(
                    workOrderId: id, operationSeq: 20, plant: "P100", scrapQty: 0.1, uom: "EA", reasonCode: "DAMAGE", reportedAt: Timestamp(milliseconds: at))
                record = Envelope(
                    eventId: metadata.eventId, correlationId: metadata.correlation, occurredAt: Timestamp(milliseconds: at),
                    source: EventSource(system: "MES", plant: "P100"), data: data
                )
                .outputRecord(topic: Topics.scrapReported, key: id, causationId: "growth", timestamp: arrival)
            } else {
                let data = OperationCompleted(
                    workOrderId: id, operationSeq: final ? 30 : (k % 2 == 0 ? 10 : 20), workCenter: "WC-ASSY-02", plant: "P100", goodQty: final ? 10 : 1,
                    uom: "EA", completedAt: Timestamp(milliseconds: at), final: final)
                record = Envelope(
                    eventId: metadata.eventId, correlationId: metadata.correlation, occurredAt: Timestamp(milliseconds: at),
                    source: EventSource(system: "MES", plant: "P100"), data: data
                )
                .outputRecord(topic: Topics.operationCompleted, key: id, causationId: "growth", timestamp: arrival)
            }
            return Input(record: record, arrival: arrival, isApproval: false, isLate: late)
        }

        func eventTime(_ plan: Plan, _ k: Int) -> Int64 {
            plan.firstEvent + Int64(k) * plan.production / Int64(max(1, plan.events - 1))
        }
    }

    /// A binary min-heap of pending events by arrival time (ties: work order, event).
    struct MinHeap {
        struct Entry {
            var time: Int64
            var workOrder: Int32
            var event: Int16
            func less(_ other: Entry) -> Bool {
                (time, workOrder, event) < (other.time, other.workOrder, other.event)
            }
        }
        private var entries: [Entry] = []
        var top: Entry? { entries.first }
        var count: Int { entries.count }

        mutating func push(_ entry: Entry) {
            entries.append(entry)
            var child = entries.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard entries[child].less(entries[parent]) else { break }
                entries.swapAt(child, parent)
                child = parent
            }
        }

        mutating func pop() {
            guard !entries.isEmpty else { return }
            entries.swapAt(0, entries.count - 1)
            entries.removeLast()
            var parent = 0
            while true {
                let left = 2 * parent + 1
                let right = left + 1
                var smallest = parent
                if left < entries.count, entries[left].less(entries[smallest]) { smallest = left }
                if right < entries.count, entries[right].less(entries[smallest]) { smallest = right }
                guard smallest != parent else { return }
                entries.swapAt(parent, smallest)
                parent = smallest
            }
        }
    }
}

/// SplitMix64: the workload's draws, the same for a seed on every run.
struct GrowthRandom {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
