import Foundation
import Ops
import Testing

@Suite("The dev summary: the worker's Prometheus series summed, rates between snapshots")
struct DevSummaryTests {
    static let exposition = """
        # HELP millwright_releases_total x
        # TYPE millwright_releases_total counter
        millwright_releases_total{plant="P100"} 7
        millwright_releases_total{plant="P200"} 3
        millwright_postings_total{kind="WINDOW",plant="P100"} 4
        millwright_postings_total{kind="MILESTONE",plant="P100"} 1
        millwright_quarantined_total{reason="INACTIVE_PLANT",plant="P300"} 2
        millwright_dead_letters_total{reason="MALFORMED_JSON",topic="mes.operation-completed.v1"} 1
        millwright_consumer_lag_records{processor="release",thread="0",topic="erp.order-approved.v1",partition="0"} 5
        millwright_consumer_lag_records{processor="confirmation",thread="0",topic="mes.operation-completed.v1",partition="3"} 6
        millwright_input_records_total{processor="release",topic="erp.order-approved.v1"} 12
        millwright_output_records_total{processor="release",topic="mes.P100.production-release.v1"} 20
        millwright_transaction_duration_seconds_bucket{processor="release",le="+Inf"} 99
        """

    @Test("counters are summed over their labels; releases by plant and quarantines by reason kept; other series ignored")
    func snapshot() {
        let snapshot = DevSummary.Snapshot(metrics: Self.exposition, sent: 40)
        #expect(snapshot.releases == 10 && snapshot.releasesByPlant == ["P100": 7, "P200": 3])
        #expect(snapshot.postings == 5 && snapshot.quarantined == 2 && snapshot.quarantinedByReason == ["INACTIVE_PLANT": 2])
        #expect(snapshot.deadLetters == 1 && snapshot.lag == 11 && snapshot.inputs == 12 && snapshot.outputs == 20 && snapshot.sent == 40)
    }

    @Test("rates are the difference between two snapshots over the interval; the screen shows totals, rates and the footer")
    func render() {
        var summary = DevSummary()
        summary.update(DevSummary.Snapshot(metrics: "millwright_postings_total{kind=\"WINDOW\"} 10\n", sent: 100), interval: 1)
        summary.update(DevSummary.Snapshot(metrics: Self.exposition.replacingOccurrences(of: "} 4", with: "} 29"), sent: 160), interval: 2)
        let screen = summary.render(title: "T", footer: ["console: x"])
        #expect(screen.contains("sent by the simulator     160         30/s"))
        #expect(screen.contains("postings to ERP           30          10/s"))
        #expect(screen.contains("(P100 7, P200 3)") && screen.contains("(INACTIVE_PLANT 2)"))
        #expect(screen.hasSuffix("console: x\n"))
    }
}
