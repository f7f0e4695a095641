import Foundation
import PropertyBased
import Streams
import TestSupport
import Testing

@testable import Manufacturing

/// Task stores on disk with memory as a bounded cache (issue 16, part 1): the cache's size must
/// never change what a processor does.
@Suite("Stores on disk with a bounded cache")
struct StoresOnDiskPropertyTests {
    /// Everything a driver forwarded, per topic and key in the order forwarded (the order the
    /// contract keeps; records of different work orders closing at the same instant may come in
    /// either order): value and headers.
    static func outputs(_ driver: ProcessorTestDriver) -> [String: [String]] {
        var byKey: [String: [String]] = [:]
        for output in driver.drainOutputs() {
            let headers = output.headers.map { "\($0.key)=\($0.value.map { String(decoding: $0, as: UTF8.self) } ?? "nil")" }.joined(separator: ",")
            let value = output.value.map { String(decoding: $0, as: UTF8.self) } ?? "null"
            byKey["\(output.topic)|\(String(decoding: output.key ?? [], as: UTF8.self))", default: []].append("\(value)|\(headers)")
        }
        return byKey
    }

    static func directory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("stores-on-disk-\(UUID().uuidString.prefix(8))").path
    }

    @Test(
        "the confirmation processor gives the same outputs, record for record per key, with its stores in memory, on disk behind a one-entry cache, and on disk behind an unbounded cache — over random releases, events (late, duplicated, of unknown work orders), replays, clock ticks and retirements"
    )
    func oneEntryCacheEqualsUnbounded() async throws {
        await propertyCheck(count: 8, input: Gen.int(in: 0...1_000_000).array(of: 100)) { picks in _ = Self.check(picks) }
    }

    @Test("the same over fixed inputs (a quick regression check)")
    func fixedInputs() {
        var retired = 0
        for seed in 1...6 {
            var state = UInt64(seed) &* 0x9E37_79B9_7F4A_7C15
            let picks = (0..<100).map { _ in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return Int(state >> 44)
            }
            retired += Self.check(picks)
        }
        #expect(retired > 0, "the inputs retire work orders too")
    }

    /// Runs `picks` through the three drivers and compares; returns the work orders retired.
    @discardableResult
    static func check(_ picks: [Int]) -> Int {
        do {
            var settings = ProcessingSettings()
            settings.workOrderRetention = 2 * 3_600_000  // retirements within the run
            settings.workOrderIdleRetention = 6 * 3_600_000
            settings.retirementRecordRetention = ProcessingSettings.day
            let oneEntry = Self.directory()
            let unbounded = Self.directory()
            defer {
                try? FileManager.default.removeItem(atPath: oneEntry)
                try? FileManager.default.removeItem(atPath: unbounded)
            }
            guard
                let drivers = try? [
                    ProcessorTestDriver(processor: ConfirmationProcessor(settings: settings), wallClock: Shop.minutes(0), idleTimeout: settings.idleTimeout),
                    ProcessorTestDriver(
                        processor: ConfirmationProcessor(settings: settings), wallClock: Shop.minutes(0), idleTimeout: settings.idleTimeout,
                        directory: oneEntry, cache: StateCache(capacityBytes: 1 << 30, maxEntries: 1)),
                    ProcessorTestDriver(
                        processor: ConfirmationProcessor(settings: settings), wallClock: Shop.minutes(0), idleTimeout: settings.idleTimeout,
                        directory: unbounded, cache: StateCache(capacityBytes: 1 << 30)),
                ]
            else {
                Issue.record("a driver could not open its state file")
                return 0
            }
            // Each its own order (status events are keyed by order).
            let workOrders = (0..<4).map { index in
                var workOrder = Shop.workOrder("WO-P\(index)-10", ordered: Double(10 + 10 * index))
                workOrder.orderId = "470\(index)"
                return workOrder
            }
            var sent: [StreamRecord] = []
            var offsets: [String: Int64] = [:]
            var minute = 0.0
            func next(_ topic: String, key: String, value: [UInt8]) -> StreamRecord {
                let offset = offsets[topic, default: 0]
                offsets[topic] = offset + 1
                return StreamRecord(topic: topic, partition: 0, offset: offset, key: Array(key.utf8), value: value, timestamp: 0)
            }
            for (step, pick) in picks.enumerated() {
                let id = "WO-P\(pick % 5)-10"  // the fifth is never released: parked, then UNKNOWN_WORK_ORDER
                var actions: [(ProcessorTestDriver) throws -> Void] = []
                switch pick % 11 {
                case 0:
                    let workOrder = workOrders[(pick / 11) % 4]
                    let record = next(
                        Topics.workOrders, key: workOrder.workOrderId, value: Shop.envelope(workOrder, id: "work-order:\(workOrder.workOrderId)"))
                    actions.append { try $0.pipe(record) }
                case 1:
                    let record = sent.isEmpty ? nil : sent[(pick / 11) % sent.count]
                    if let record { actions.append { try $0.pipe(record) } }  // replayed, or a copy at its offset
                case 2:
                    let by = Int64((pick / 11) % 30) * 60_000
                    actions.append { try $0.advanceWallClock(by: by) }
                case 3:
                    minute += Double((pick / 11) % 200)  // a long pause: windows close, work orders retire
                    fallthrough
                default:
                    minute += Double(pick % 3)
                    let at = Shop.minutes(max(0, minute - Double((pick / 7) % 40)))  // some later than the grace
                    let event =
                        pick % 4 == 0
                        ? Shop.scrap(id, qty: Double(1 + pick % 3), at: at, id: "ev-\(step)")
                        : Shop.completed(id, op: [10, 20, 30][pick % 3], good: Double(1 + pick % 7), at: at, final: pick % 3 == 2, id: "ev-\(step)")
                    let record = next(event.topic, key: event.key, value: event.value)
                    sent.append(record)
                    let flush = pick % 5 != 0  // sometimes several records between commits, as the runtime does
                    actions.append { try $0.pipe(record, flush: flush) }
                }
                for driver in drivers {
                    for action in actions { try? action(driver) }
                }
            }
            for driver in drivers { try? driver.advanceWallClock(by: 2 * ProcessingSettings.day) }
            let reference = Self.outputs(drivers[0])
            #expect(!reference.isEmpty)
            for (driver, cache) in [(drivers[1], "one-entry cache"), (drivers[2], "unbounded cache")] {
                let outputs = Self.outputs(driver)
                let differing = Set(outputs.keys).union(reference.keys).sorted().first { outputs[$0] != reference[$0] }
                #expect(differing == nil, "\(cache): \(differing ?? "") differs: \(outputs[differing ?? ""] ?? []) against \(reference[differing ?? ""] ?? [])")
            }
            let storesInMemory = drivers[0].stores.mapValues { $0.entries(prefix: "").map { "\($0.key)=\($0.value)" } }
            #expect(drivers[1].stores.mapValues { $0.entries(prefix: "").map { "\($0.key)=\($0.value)" } } == storesInMemory, "the same state")
            return (drivers[1].processor as? ConfirmationProcessor)?.retiredWorkOrders ?? 0
        }
    }
}
