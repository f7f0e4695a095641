import Streams

/// Retention of finished work: a work order that completed (or had no event for
/// `workOrderIdleRetention`) is retired `workOrderRetention` of stream time after that. Its row,
/// progress, windows and parked events leave the store (the deletes reach the changelog as
/// tombstones, so compaction shrinks it), its record on the work-order table gets a tombstone too,
/// and a ``RetirementRecord`` stays for `retirementRecordRetention`: an event for it meanwhile is
/// quarantined as WORK_ORDER_RETIRED, and a table record read again does not bring it back.
extension ConfirmationProcessor {
    /// How often (stream time) expired retirement records and replayable quarantines are looked
    /// for: a scan of the store's retirement records, once a day.
    static let sweepInterval: Int64 = ProcessingSettings.day

    /// When `state`'s work order retires under the settings; nil when unknown (not stamped yet).
    func retirementTime(of state: WorkOrderProgress) -> Int64? {
        state.retiresAt(retention: settings.workOrderRetention, idleRetention: settings.workOrderIdleRetention)
    }

    /// Schedules the work order's retirement at the time its state says, or stamps it first when
    /// that time is unknown (state written by an earlier version).
    func scheduleRetirement(_ id: String, _ state: WorkOrderProgress) {
        if let time = retirementTime(of: state) { retirements.schedule(id, at: time) } else { unstamped.append(id) }
    }

    /// The retirement record of a work order, if it was retired (and its record not expired yet).
    func retirementRecord(_ id: String) -> RetirementRecord? {
        store?.get(RetirementRecord.key(id)).flatMap(RetirementRecord.init(bytes:))
    }

    /// The stream-time side of retention: stamps state of unknown age, retires what is due,
    /// and once a day deletes expired retirement records and replayable quarantines.
    func retainUntil(_ time: Int64, context: any ProcessorContext) {
        if !unstamped.isEmpty { stampUnknown(at: time) }
        if retirements.isDue(at: time) { retire(at: time, context: context) }
        if time >= nextSweep { sweep(at: time) }
    }

    /// Work orders whose rows were written before their times were kept count from `time`, the
    /// first stream time this processor saw: never retired earlier than they would have been.
    /// Their rows are written again with it, so a restart does not postpone them again.
    func stampUnknown(at time: Int64) {
        let ids = unstamped
        unstamped = []
        for id in ids {
            if progress[id] != nil {
                modifyProgress(id) { Self.stamp(&$0, at: time) }
                dirty.insert(id)
                if let state = progress[id] { scheduleRetirement(id, state) }
            } else if let bytes = store?.get("progress:\(id)"), var stored = StoredProgress(bytes: bytes) {
                Self.stamp(&stored.progress, at: time)
                store?.put("progress:\(id)", stored.bytes)
                scheduleRetirement(id, stored.progress)
            } else if let bytes = store?.get("workorder:\(id)"), let row = WorkOrder.storedRow(bytes) {
                store?.put("workorder:\(id)", row.workOrder.storedBytes(releaseCause: row.releaseCause, receivedAt: time))
                scheduleRetirement(id, .released(by: row.releaseCause, at: time))
            }
        }
    }

    static func stamp(_ state: inout WorkOrderProgress, at time: Int64) {
        if state.lastActivity == .min { state.lastActivity = time }
        if state.isCompleted && state.completedAt == nil { state.completedAt = time }
    }

    /// Retires the work orders due at `time`; one whose retirement moved later (an event since)
    /// or that still has a window open or events parked is scheduled again.
    func retire(at time: Int64, context: any ProcessorContext) {
        for (_, ids) in retirements.takeDue(at: time) {
            for id in ids.sorted() {  // in a stable order: a replay gives the same outputs
                // Gone from the store meanwhile.
                guard let resident = resident(id), let state = progress[id] else { continue }
                guard let due = retirementTime(of: state) else {
                    unstamped.append(id)
                    continue
                }
                if due > time {
                    retirements.schedule(id, at: due)
                } else if windowStore.hasOpenWindows(id) || parked[id] != nil {
                    retirements.schedule(id, at: time + settings.windowSize + settings.grace)
                } else {
                    retireNow(resident.workOrder, state: state, at: time, context: context)
                }
            }
        }
    }

    func retireNow(_ workOrder: WorkOrder, state: WorkOrderProgress, at time: Int64, context: any ProcessorContext) {
        let id = workOrder.workOrderId
        guard let store else { return }
        for key in ["workorder:\(id)", "progress:\(id)", "parked:\(id)"] where store.get(key) != nil { store.delete(key) }
        let record = RetirementRecord(retiredAt: time, plant: workOrder.plant, erpPostings: state.erpPostings, postingDigest: state.postingDigest)
        store.put(RetirementRecord.key(id), record.bytes)
        workOrders[id] = nil
        progress[id] = nil
        windowStore.restore(id, windows: [:])
        dueSchedule.cancel(id)
        dirty.remove(id)
        touched.remove(id)
        newWorkOrders.remove(id)
        dirtyParking.remove(id)
        retiredWorkOrders += 1
        // The work-order table's record goes too: compaction removes it, so reading the table
        // from its start later does not find it (and the retirement record need not outlive it).
        context.forward(OutputRecord(topic: Topics.workOrders, key: Array(id.utf8), value: nil))
    }

    /// Deletes retirement records older than `retirementRecordRetention` and forgets replayable
    /// quarantines as old (a replay cannot reach their input any more); stamps entries of unknown
    /// age (written by an earlier version) with `time`.
    func sweep(at time: Int64) {
        nextSweep = time.addingSaturated(Self.sweepInterval)
        let horizon = settings.retirementRecordRetention
        if let store {
            for (key, value) in store.entries(prefix: "retired:") {
                guard let record = RetirementRecord(bytes: value) else { continue }
                if record.retiredAt.addingSaturated(horizon) <= time { store.delete(key) }
            }
        }
        for (key, at) in replayable {
            if at == .min {
                replayable[key] = time
                appliedDirty = true
            } else if at.addingSaturated(horizon) <= time {
                replayable[key] = nil
                appliedDirty = true
            }
        }
    }

    /// An MES event of a retired work order: quarantined as WORK_ORDER_RETIRED, not applied.
    func quarantineRetired(
        _ record: StreamRecord, metadata: EventMetadata, workOrderId: String, retirement: RetirementRecord, context: any ProcessorContext
    ) {
        let source = record.origin ?? RecordOrigin(topic: record.topic, partition: record.partition, offset: record.offset)
        let factory = OutputFactory(now: context.wallClock, correlationId: metadata.correlationId, causationId: metadata.eventId, plant: retirement.plant)
        context.forward(
            retirement.quarantine(
                of: record, source: source,
                detail:
                    "work order \(workOrderId) was retired at \(Timestamp(milliseconds: retirement.retiredAt).rfc3339) (stream time), its retention after it finished having passed; \(retirement.erpPostings) postings went to ERP (digest \(retirement.digestText)); the event is not applied",
                key: workOrderId, eventId: metadata.eventId, factory: factory))
    }

    /// `replayable` as stored: quarantined input (`topic:offset`) → stream time it was quarantined
    /// (`null` while unknown).
    static func replayableBytes(_ entries: [String: Int64]) -> [UInt8] {
        JSONWriter.bytes(
            .object(
                JSONObject(
                    entries.sorted { $0.key < $1.key }.map { ($0.key, $0.value == .min ? .null : .number(Double($0.value), isInteger: true)) })))
    }

    /// Reads either form: the object, or the array of keys earlier versions wrote (their time
    /// unknown, `Int64.min`, stamped by the next sweep).
    static func replayable(_ bytes: [UInt8]) -> [String: Int64]? {
        switch try? JSONParser.parse(bytes) {
        case .array(let keys)?:
            return Dictionary(keys.compactMap(\.stringValue).map { ($0, Int64.min) }, uniquingKeysWith: { a, _ in a })
        case .object(let object)?:
            var entries: [String: Int64] = [:]
            for member in object.members {
                if case .null = member.value {
                    entries[member.key] = .min
                } else {
                    guard let at = member.value.int64 else { return nil }
                    entries[member.key] = at
                }
            }
            return entries
        default:
            return nil
        }
    }
}
