import Foundation
import Manufacturing
import Streams
import TestSupport
import Testing

/// What the state-growth benchmark (issue 16) relies on, at a small scale: after retention, the
/// entries of the task stores and of their compacted changelogs are bounded by the work orders
/// still within their retention windows — not by the work orders driven through — and the
/// compacted changelog holds exactly what the stores hold, so a restore from it alone rebuilds
/// them.
@Suite("State growth: stores and compacted changelogs bounded by retention")
struct StateGrowthTests {
    static let day = ProcessingSettings.day

    @Test(
        "3,000 work orders over 60 days of event time on 4 partitions: live work orders, retirement records and ledger entries within their retention windows, the compacted changelog equal to the stores, a restore from it alone the same"
    )
    func boundedByRetention() throws {
        var settings = ProcessingSettings()
        settings.workOrderRetention = 3 * Self.day
        settings.orderRetention = 5 * Self.day
        settings.retirementRecordRetention = 10 * Self.day
        let workload = StateGrowthWorkload(workOrders: 3_000, days: 60, eventsPerOrder: 8, latePercent: 3, seed: 7)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("state-growth-test-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var options = StateGrowthRun.Options(workload: workload, directory: directory)
        options.partitions = 4
        options.commitEvery = 500
        options.settings = settings
        options.stateCacheBytes = 256 << 10
        let run = try StateGrowthRun(options)
        try run.run(sampleEvery: 1_000)

        #expect(run.outputs[Topics.workOrders, default: 0] >= 3_000, "every approval released (and retirements' tombstones): \(run.outputs)")
        #expect(run.outputs[Topics.quarantine, default: 0] == 0, "nothing quarantined: \(run.outputs)")
        #expect(run.lateInputs > 0)
        let end = try #require(run.checkpoints.last)
        #expect(end.approved == 3_000)
        let lifetime = StateGrowthWorkload.maxLifetime
        /// Work orders approved within `window` before the end (their retention may still hold them).
        func approvedWithin(_ window: Int64) -> Int { workload.approved(from: end.time - window - Self.day, to: end.time + 1) }

        let live = approvedWithin(settings.workOrderRetention + lifetime)
        #expect(end.liveWorkOrders > 0 && end.liveWorkOrders <= live, "live work orders \(end.liveWorkOrders), approved within their retention \(live)")
        let scheduled = end.processorSizes["confirmation/retirements_scheduled", default: -1]
        #expect(scheduled == end.liveWorkOrders, "one retirement scheduled per work order in the stores, none for the retired: \(scheduled)")
        let retired = approvedWithin(settings.workOrderRetention + settings.retirementRecordRetention + lifetime)
        #expect(end.retirementRecords > 0 && end.retirementRecords <= retired, "retirement records \(end.retirementRecords), bound \(retired)")
        let ledger = end.entries["releases/", default: 0]
        #expect(ledger <= approvedWithin(settings.orderRetention + Self.day), "ledger \(ledger): \(end.entries)")
        #expect(end.ledgerRetirementRecords <= approvedWithin(settings.orderRetention + settings.retirementRecordRetention))
        #expect(end.totalEntries < 3_000, "bounded by retention, not by the 3,000 driven through: \(end.entries)")

        // The compacted changelog converged on the stores: the same keys, task by task.
        var compactedEntries = 0
        for (name, tasks) in [("release", run.release), ("confirmation", run.confirmation)] {
            for task in tasks {
                let compacted = try run.changelog.storeKeys(task: StateGrowthRun.logName(name, task.partition))
                #expect(compacted == (try task.storedKeys()), "\(name) \(task.partition)")
                compactedEntries += compacted.count
            }
        }
        #expect(compactedEntries == end.totalEntries)
        let appended = (end.releaseAppended + end.confirmationAppended).reduce(0, +)
        let compactedBytes = (end.releaseLog + end.confirmationLog).map(\.bytes).reduce(0, +)
        #expect(compactedBytes * 5 < appended, "compaction keeps a fraction: \(compactedBytes) of \(appended) bytes")

        // A worker on an empty state directory rebuilds the same stores from the compacted changelog.
        try run.stop()
        let reopened = try run.reopen(directory: directory + "/empty")
        var restored = 0
        for task in reopened {
            #expect(task.reopening.localEntries == 0)
            restored += try task.harness.storedEntryCounts().values.reduce(0, +)
        }
        #expect(restored == end.totalEntries)
    }
}
