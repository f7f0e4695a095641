import Streams

/// The release ledger's retention: an entry (`<workOrderId>` → the release) leaves the ledger
/// `orderRetention` of stream time after its release, for a ``RetirementRecord`` kept
/// `retirementRecordRetention` (looked for once a day of stream time). Within that horizon an
/// approval of the order read for the first time is quarantined as WORK_ORDER_RETIRED; a replay
/// cannot reach further back than the input topic's retention (7 days).
extension ReleaseProcessor {
    /// A ledger entry: format byte 1, the release's stream time, plant and event id. Entries of
    /// earlier versions are the event id as text (their time unknown).
    static func ledgerBytes(eventId: String, releasedAt: Int64, plant: String) -> [UInt8] {
        var w = StateWriter(capacity: 16 + eventId.utf8.count + plant.utf8.count)
        w.byte(1)
        w.int64(releasedAt)
        w.string(plant)
        w.string(eventId)
        return w.bytes
    }

    /// The release's stream time and plant; nil for an entry written by an earlier version.
    static func ledgerEntry(_ bytes: [UInt8]) -> (releasedAt: Int64, plant: String)? {
        guard bytes.first == 1 else { return nil }
        var r = StateReader(bytes, from: 1)
        do throws(StateReader.Truncated) {
            let releasedAt = try r.int64()
            let plant = try r.string()
            _ = try r.string()
            return r.atEnd ? (releasedAt, plant) : nil
        } catch {
            return nil
        }
    }

    /// Whether a ledger key names a work order (not `applied:<topic>` or a retirement record).
    static func isLedgerEntry(_ key: String) -> Bool { !key.hasPrefix("applied:") && !key.hasPrefix("retired:") }

    func loadRetirements(_ ledger: any KeyValueStore) {
        for (key, value) in ledger.entries(prefix: "") where Self.isLedgerEntry(key) {
            if let entry = Self.ledgerEntry(value) {
                retirements.schedule(key, at: entry.releasedAt.addingSaturated(settings.orderRetention))
            } else {
                unstamped.append(key)
            }
        }
    }

    func retainUntil(_ time: Int64, context: any ProcessorContext) {
        let ledger = context.store(Self.storeName)
        if !unstamped.isEmpty {
            // An entry of unknown age counts from now: retired no earlier than it would have been.
            for id in unstamped {
                guard let value = ledger.get(id), Self.ledgerEntry(value) == nil else { continue }
                ledger.put(id, Self.ledgerBytes(eventId: String(decoding: value, as: UTF8.self), releasedAt: time, plant: ""))
                retirements.schedule(id, at: time.addingSaturated(settings.orderRetention))
            }
            unstamped = []
        }
        if retirements.isDue(at: time) {
            for (_, ids) in retirements.takeDue(at: time) {
                for id in ids.sorted() {
                    guard let value = ledger.get(id), let entry = Self.ledgerEntry(value) else { continue }
                    let due = entry.releasedAt.addingSaturated(settings.orderRetention)
                    guard due <= time else {
                        retirements.schedule(id, at: due)
                        continue
                    }
                    ledger.delete(id)
                    ledger.put(RetirementRecord.key(id), RetirementRecord(retiredAt: time, plant: entry.plant.isEmpty ? nil : entry.plant).bytes)
                }
            }
        }
        if time >= nextSweep {
            nextSweep = time.addingSaturated(ConfirmationProcessor.sweepInterval)
            for (key, value) in ledger.entries(prefix: "retired:") {
                guard let record = RetirementRecord(bytes: value) else { continue }
                if record.retiredAt.addingSaturated(settings.retirementRecordRetention) <= time { ledger.delete(key) }
            }
        }
    }

    /// Orders in the ledger waiting to retire (for tests and statistics).
    public func stateSizes() -> [(name: String, value: Int)] { [("retirements_scheduled", retirements.count)] }
}
