import Streams

/// What a processor keeps of a work order (or a released order) after it retired: its state is
/// deleted, this stays under `retired:<workOrderId>` for ``ProcessingSettings/retirementRecordRetention``
/// so that a late or replayed input of it is recognised — quarantined as `WORK_ORDER_RETIRED`,
/// never applied, posted or released again. About 30 bytes.
struct RetirementRecord: Equatable {
    /// Stream time of the retirement.
    var retiredAt: Int64
    /// The work order's plant (a bounded label for the metrics), if known.
    var plant: String?
    /// Postings ERP received for it, and the XOR of their ids' FNV-1a 64 (order-independent: an
    /// auditor can compare it with ERP's postings of the work order). 0 for a release ledger's.
    var erpPostings = 0
    var postingDigest: UInt64 = 0

    static let formatVersion: UInt8 = 1

    var bytes: [UInt8] {
        var w = StateWriter(capacity: 32 + (plant?.utf8.count ?? 0))
        w.byte(Self.formatVersion)
        w.int64(retiredAt)
        w.string(plant ?? "")
        w.count(erpPostings)
        w.uint64(postingDigest)
        return w.bytes
    }

    init(retiredAt: Int64, plant: String?, erpPostings: Int = 0, postingDigest: UInt64 = 0) {
        self.retiredAt = retiredAt
        self.plant = plant
        self.erpPostings = erpPostings
        self.postingDigest = postingDigest
    }

    init?(bytes: [UInt8]) {
        guard bytes.first == Self.formatVersion else { return nil }
        var r = StateReader(bytes, from: 1)
        do throws(StateReader.Truncated) {
            retiredAt = try r.int64()
            let plant = try r.string()
            self.plant = plant.isEmpty ? nil : plant
            erpPostings = try r.count()
            postingDigest = try r.uint64()
            guard r.atEnd else { return nil }
        } catch {
            return nil
        }
    }

    /// The store key of a work order's record.
    static func key(_ workOrderId: String) -> String { "retired:\(workOrderId)" }

    /// The quarantine (WORK_ORDER_RETIRED) of an input `record` of the retired work order:
    /// `original` its envelope, located at `source` (where it was produced), keyed as it was.
    func quarantine(
        of record: StreamRecord, source: RecordOrigin, detail: String, key: String, eventId: String, factory: OutputFactory
    ) -> OutputRecord {
        let quarantine = Quarantine(
            reason: .workOrderRetired, detail: detail, originalTopic: source.topic, originalPartition: Int(source.partition),
            originalOffset: source.offset, original: (try? JSONParser.parse(record.value ?? [])) ?? .null)
        return factory.record(quarantine, topic: Topics.quarantine, key: record.keyString ?? key, eventId: "quarantine:\(eventId)")
            .tallied(.quarantine(.workOrderRetired, plant: plant))
    }

    /// The digest as quarantine details write it: 16 hex digits.
    var digestText: String {
        let hex = String(postingDigest, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
