import ArgumentParser
import Foundation
import Manufacturing
import Ops
import Streams

/// The input a run pre-loads: its work orders (all released before the first event) and its MES
/// events, produced by key (murmur2, the producer's default) onto the catalog's 12 partitions.
enum Shape: String, ExpressibleByArgument, CaseIterable {
    /// The benchmark's first shape: 2,000 work orders that never complete (ordered 10⁹), 80,000
    /// events over one hour of event time in strict order, every seventh a scrap report, every
    /// other completion final. Few postings per event.
    case classic
    /// A busy plant (issue 20): 5,000 work orders, 100,000 `mes.operation-completed.v1` events
    /// over two hours of event time, ±1 s jitter, each for a work order drawn at random; every
    /// event a final completion of 6 pieces and each work order ordered 6 × its events, so every
    /// window a work order has events in posts goods receipt and moves its ERP and CRM status,
    /// and its last event completes it.
    case outputHeavy = "output-heavy"

    var defaultEvents: Int { self == .classic ? 80_000 : 100_000 }
    var defaultWorkOrders: Int { self == .classic ? 2_000 : 5_000 }
    var defaultSpanMinutes: Int { self == .classic ? 60 : 120 }
    var defaultJitterMilliseconds: Int { self == .classic ? 0 : 1_000 }
}

/// One run's input, from the shape and the options that override its defaults.
struct ShapeInput {
    var shape: Shape
    var events: Int
    var workOrders: Int
    var spanMinutes: Int
    var jitterMilliseconds: Int

    var description: String {
        "shape \(shape.rawValue): \(events) events, \(workOrders) work orders, \(spanMinutes) min of event time, jitter ±\(jitterMilliseconds) ms"
    }

    /// Which work order each event is for: in turn (classic), or drawn at random from a fixed
    /// seed (output-heavy: some work orders then have windows without events, as in a plant).
    func assignment() -> [Int] {
        guard shape == .outputHeavy else { return (0..<events).map { $0 % workOrders } }
        var random = SimulationRandom(seed: 21)
        return (0..<events).map { _ in Int(random.next() % UInt64(workOrders)) }
    }

    /// The work-order table: the classic shape's never complete (ordered 10⁹); the output-heavy
    /// shape's are ordered 6 × their events, so each completes with its last event.
    func table() -> [OutputRecord] {
        var counts = [Int](repeating: 0, count: workOrders)
        if shape == .outputHeavy { for w in assignment() { counts[w] += 1 } }
        return (0..<workOrders).map {
            StreamsBenchmark.workOrder(
                "WO-T\($0)-1", ordered: shape == .outputHeavy ? Double(6 * max(1, counts[$0])) : 1e9, releasedAt: baseTime - 3_600_000)
        }
    }

    /// The first event's time: six hours ago, aligned to a window. The work orders are released an
    /// hour before it (their release time starts their retention: released at the epoch, every
    /// work order would be retired at the first event).
    var baseTime: Int64 { Int64(Date().timeIntervalSince1970 * 1000) / 900_000 * 900_000 - 6 * 3_600_000 }

    /// The events, in append order: event time rising evenly over the span from six hours ago
    /// (aligned to a window), each moved by a jitter drawn from a fixed seed (so runs compare).
    func input() -> [OutputRecord] {
        let base = baseTime
        let span = Int64(spanMinutes) * 60_000
        var random = SimulationRandom(seed: 20)
        let assigned = assignment()
        return (0..<events).map { i in
            let id = "WO-T\(assigned[i])-1"
            var at = base + Int64(i) * span / Int64(max(1, events))
            if jitterMilliseconds > 0 { at += Int64(random.next() % UInt64(2 * jitterMilliseconds + 1)) - Int64(jitterMilliseconds) }
            switch shape {
            case .classic:
                if i % 7 == 3 {
                    let data = ScrapReported(
                        workOrderId: id, operationSeq: 20, plant: "P100", scrapQty: 1, uom: "EA", reasonCode: "DAMAGE",
                        reportedAt: Timestamp(milliseconds: at))
                    return Envelope(
                        eventId: "t-\(i)", correlationId: "crm-req-\(id)", occurredAt: Timestamp(milliseconds: at),
                        source: EventSource(system: "MES", plant: "P100"), data: data
                    )
                    .outputRecord(topic: Topics.scrapReported, key: id, causationId: "bench", timestamp: at)
                }
                return StreamsBenchmark.completion(id, good: 1, at: at, eventId: "t-\(i)", timestamp: at, final: i % 2 == 0)
            case .outputHeavy:
                return StreamsBenchmark.completion(id, good: 6, at: at, eventId: "t-\(i)", timestamp: at, final: true)
            }
        }
    }
}

extension StreamsBenchmark {
    static func workOrder(_ id: String, ordered: Double, releasedAt: Int64) -> OutputRecord {
        let json =
            #"{"workOrderId":"\#(id)","orderId":"\#(id)","plant":"P100","itemId":"GB-200","orderedQty":\#(ordered),"uom":"EA","dueDate":"2030-01-01T00:00:00.000Z","components":[{"itemId":"HS-200","qtyPer":1,"uom":"EA"},{"itemId":"OIL","qtyPer":0.75,"uom":"L"}],"finalOperationSeq":30}"#
        guard let workOrder = WorkOrder(json: Array(json.utf8)) else { fatalError("fixture") }
        return Envelope(
            eventId: "wo-\(id)", correlationId: "bench", occurredAt: Timestamp(milliseconds: releasedAt), source: EventSource(system: "Millwright"),
            data: workOrder
        )
        .outputRecord(topic: Topics.workOrders, key: id, causationId: "bench", timestamp: releasedAt)
    }

    static func completion(_ id: String, good: Double, at: Int64, eventId: String, timestamp: Int64, final: Bool = true) -> OutputRecord {
        let data = OperationCompleted(
            workOrderId: id, operationSeq: final ? 30 : 10, workCenter: "WC-ASSY-02", plant: "P100", goodQty: good, uom: "EA",
            completedAt: Timestamp(milliseconds: at), final: final)
        return Envelope(
            eventId: eventId, correlationId: "crm-req-\(id)", occurredAt: Timestamp(milliseconds: at), source: EventSource(system: "MES", plant: "P100"),
            data: data
        )
        .outputRecord(topic: Topics.operationCompleted, key: id, causationId: "bench", timestamp: timestamp)
    }
}
