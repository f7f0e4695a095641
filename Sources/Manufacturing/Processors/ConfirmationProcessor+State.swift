import Foundation
import Streams

/// The confirmation processor's state: written to its store on `flush`, read back on the first
/// record of a task (a restore) and when an event or a due date needs a work order again.
extension ConfirmationProcessor {
    // MARK: State

    /// `applied`: input topic → next offset applied, keys sorted.
    static func appliedBytes(_ offsets: [String: Int64]) -> [UInt8] {
        JSONWriter.bytes(.object(JSONObject(offsets.sorted { $0.key < $1.key }.map { ($0.key, .number(Double($0.value), isInteger: true)) })))
    }

    static func applied(_ bytes: [UInt8]) -> [String: Int64]? {
        guard case .object(let object)? = try? JSONParser.parse(bytes) else { return nil }
        var offsets: [String: Int64] = [:]
        for member in object.members {
            guard let offset = member.value.int64 else { return nil }
            offsets[member.key] = offset
        }
        return offsets
    }

    /// Writes what changed to the store: called before every commit (and by the test driver
    /// after every record).
    /// Open windows, work orders held in memory, parked events, quarantined inputs a replay may apply.
    public func stateSizes() -> [(name: String, value: Int)] {
        [
            ("open_windows", windowStore.count),
            ("resident_work_orders", workOrders.count),
            ("parked_events", parked.values.reduce(0) { $0 + $1.count }),
            ("replayable_quarantines", replayable.count),
            ("retirements_scheduled", retirements.count),
        ]
    }

    public func flush(context: any ProcessorContext) throws {
        let store = context.store(Self.storeName)
        // A work order just released, with nothing else happened yet, is one row: the work order
        // with its release cause (its progress follows from that when it is read back). Half
        // the rows, changelog records and file writes of loading the table.
        var rowSaysAll: Set<String> = []
        for id in newWorkOrders {
            guard let workOrder = workOrders[id]?.workOrder else { continue }
            if let i = progress.index(forKey: id), progress.values[i].isJustReleased, !windowStore.hasOpenWindows(id) {
                store.put("workorder:\(id)", workOrder.storedBytes(releaseCause: progress.values[i].lastCause, receivedAt: progress.values[i].lastActivity))
                rowSaysAll.insert(id)
            } else {
                store.put("workorder:\(id)", workOrder.storedBytes)
            }
        }
        newWorkOrders.removeAll()
        for id in dirty where !rowSaysAll.contains(id) {
            if let i = progress.index(forKey: id) { store.put("progress:\(id)", progress.values[i].bytes(windows: windowStore.windows(of: id))) }
        }
        for id in dirtyParking {
            if let list = parked[id] { store.put("parked:\(id)", ParkedEvent.bytes(list)) } else { store.delete("parked:\(id)") }
        }
        if appliedDirty {
            store.put("applied", Self.appliedBytes(appliedOffsets))
            store.put("replayable", Self.replayableBytes(replayable))
            appliedDirty = false
        }
        for id in dirty.union(touched) { evictIfQuiet(id) }
        dirty.removeAll()
        touched.removeAll()
        dirtyParking.removeAll()
    }

    // MARK: Resident work orders

    /// The work order and its progress in memory, read back from the store if it was evicted.
    func resident(_ id: String) -> Resident? {
        if let resident = workOrders[id] { return resident }
        guard let bytes = store?.get("workorder:\(id)"), let row = WorkOrder.storedRow(bytes) else { return nil }
        let resident = Resident(row.workOrder)
        workOrders[id] = resident
        if let bytes = store?.get("progress:\(id)"), let stored = StoredProgress(bytes: bytes) {
            adopt(stored, for: id)
        } else if let cause = row.releaseCause {
            progress[id] = .released(by: cause, at: row.receivedAt)  // released, nothing else since (no progress row)
        }
        touched.insert(id)
        return resident
    }

    /// Holds a work order's stored progress in memory, its open windows in the window store.
    func adopt(_ stored: StoredProgress, for id: String) {
        progress[id] = stored.progress
        windowStore.restore(id, windows: stored.windows)
    }

    /// Drops a work order from memory when it has no open window and nothing parked, its state
    /// already in the store (called after the flush wrote it). A completed one also leaves the due
    /// schedule; any other keeps its place there (it may still turn LATE).
    func evictIfQuiet(_ id: String) {
        guard let index = progress.index(forKey: id), !windowStore.hasOpenWindows(id), parked[id] == nil, let resident = workOrders[id], store != nil
        else { return }
        let completed = progress.values[index].isCompleted  // one flag: no copy of the whole progress
        progress.remove(at: index)
        workOrders[id] = nil
        if completed { dueSchedule.cancel(id) }
    }

    /// Work orders held in memory (for tests and statistics).
    var residentWorkOrders: Int { workOrders.count }

    /// Restores the task's state from its store (after an assignment or a restart).
    func load(_ context: any ProcessorContext) {
        guard !loaded else { return }
        loaded = true
        let store = context.store(Self.storeName)
        self.store = store
        // In memory: work orders with an open window. Every one not completed keeps its due date
        // scheduled; the rest stay in the store until an event or the due date needs them.
        // Every work order is scheduled to retire, from its progress row or, with none, its row.
        var done = Set<String>()
        var withProgress = Set<String>()
        for (key, value) in store.entries(prefix: "progress:") {
            guard let stored = StoredProgress(bytes: value) else { continue }
            let id = String(key.dropFirst("progress:".count))
            withProgress.insert(id)
            scheduleRetirement(id, stored.progress)
            if stored.isDone { done.insert(id) } else if !stored.windows.isEmpty { adopt(stored, for: id) }
        }
        for (key, value) in store.entries(prefix: "workorder:") {
            let id = String(key.dropFirst("workorder:".count))
            guard !done.contains(id), let row = WorkOrder.storedRow(value) else { continue }
            if !withProgress.contains(id) { scheduleRetirement(id, .released(by: row.releaseCause, at: row.receivedAt)) }
            if progress[id] != nil { workOrders[id] = Resident(row.workOrder) }
            due(at: row.workOrder.dueDate.milliseconds, for: id)
        }
        if let value = store.get("applied"), let offsets = Self.applied(value) {
            appliedOffsets = offsets
        }
        if let value = store.get("replayable"), let entries = Self.replayable(value) {
            replayable = entries
        }
        for (key, value) in store.entries(prefix: "parked:") {
            guard let list = ParkedEvent.list(value) else { continue }
            parked[String(key.dropFirst("parked:".count))] = list
        }
    }
}

/// A work order held in memory. A reference: looking one up costs one retain, not one per field.
final class Resident {
    let workOrder: WorkOrder
    init(_ workOrder: WorkOrder) { self.workOrder = workOrder }
}
