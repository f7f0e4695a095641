/// The confirmation state as written to the task's store and changelog on every commit: the
/// binary form of ``StateWriter`` behind a format byte. State written as JSON by earlier
/// versions (it starts with `{`) is still read.
extension WorkOrderProgress {
    /// 2 added `lastCause` at the end, 3 the retention's times and the ERP postings' count and
    /// digest after it; formats 1 and 2 are still read (their times unknown).
    static let formatVersion: UInt8 = 3

    /// The stored row: this progress and the work order's open `windows`.
    func bytes(windows: [Int64: WindowTotals]) -> [UInt8] {
        var w = StateWriter(capacity: 64 + recentEvents.count * 8 + windows.count * 96)
        w.byte(Self.formatVersion)
        w.count(recentEvents.count)
        for hash in recentEvents { w.uint64(hash) }
        w.double(seenGoodsReceipt)
        w.double(postedGoodsReceipt)
        w.double(postedScrap)
        w.byte((started ? 1 : 0) | (milestoneReached ? 2 : 0))
        w.count(windows.count)
        for (start, totals) in windows.sorted(by: { $0.key < $1.key }) {
            w.int64(start)
            totals.write(to: &w)
        }
        w.count(adjustments.count)
        for (start, n) in adjustments.sorted(by: { $0.key < $1.key }) {
            w.int64(start)
            w.count(n)
        }
        w.count(recentPostings.count)
        for id in recentPostings { w.string(id) }
        w.count(postingCount)
        if let lastStatus {
            w.byte(1)
            w.string(lastStatus)
        } else {
            w.byte(0)
        }
        w.count(lastRisks.count)
        for risk in lastRisks { w.string(risk) }
        EventCause.write(lastCause, to: &w)
        w.int64(lastActivity)
        w.optionalInt64(completedAt)
        w.count(erpPostings)
        w.uint64(postingDigest)
        return w.bytes
    }

    /// Reads either form, the row's open windows into `windows`; nil when the bytes are neither.
    init?(bytes: [UInt8], windows: inout [Int64: WindowTotals]) {
        guard let first = bytes.first else { return nil }
        if first == UInt8(ascii: "{") {
            guard let json = try? JSONParser.parse(bytes) else { return nil }
            self.init(json: json, windows: &windows)
            return
        }
        guard (1...Self.formatVersion).contains(first) else { return nil }
        var r = StateReader(bytes, from: 1)
        do throws(StateReader.Truncated) {
            self.init()
            for _ in 0..<(try r.count()) { recentEvents.append(try r.uint64()) }
            seenGoodsReceipt = try r.double()
            postedGoodsReceipt = try r.double()
            postedScrap = try r.double()
            let flags = try r.byte()
            started = flags & 1 != 0
            milestoneReached = flags & 2 != 0
            for _ in 0..<(try r.count()) {
                let start = try r.int64()
                windows[start] = try WindowTotals(reading: &r)
            }
            for _ in 0..<(try r.count()) {
                let start = try r.int64()
                adjustments[start] = try r.count()
            }
            for _ in 0..<(try r.count()) { recentPostings.append(try r.string()) }
            postingCount = try r.count()
            if try r.byte() == 1 { lastStatus = try r.string() }
            for _ in 0..<(try r.count()) { lastRisks.append(try r.string()) }
            if first >= 2 { lastCause = try EventCause.read(&r) }
            if first >= 3 {
                lastActivity = try r.int64()
                if try r.byte() == 1 { completedAt = try r.int64() }
                erpPostings = try r.count()
                postingDigest = try r.uint64()
            }
            guard r.atEnd else { return nil }
        } catch {
            return nil
        }
    }

    /// The JSON form of earlier versions (read only).
    private init?(json: JSONValue, windows: inout [Int64: WindowTotals]) {
        guard case .object(let o) = json else { return nil }
        self.init()
        recentEvents = o["ids"].strings.map(stableHash)
        seenGoodsReceipt = o["seenGR"].double
        postedGoodsReceipt = o["postedGR"].double
        postedScrap = o["postedScrap"].double
        started = o["started"].bool
        milestoneReached = o["milestone"].bool
        if case .object(let w)? = o["windows"] {
            for member in w.members { if let start = Int64(member.key), let totals = WindowTotals(json: member.value) { windows[start] = totals } }
        }
        if case .object(let a)? = o["adjustments"] {
            for member in a.members { if let start = Int64(member.key) { adjustments[start] = Int(Optional(member.value).double) } }
        }
        recentPostings = o["postings"].strings
        postingCount = Int(o["postingCount"].double)
        if case .string(let status)? = o["status"] { lastStatus = status }
        lastRisks = o["risks"].strings
    }
}

extension WindowTotals {
    func write(to w: inout StateWriter) {
        w.count(operations.count)
        for (seq, op) in operations.sorted(by: { $0.key < $1.key }) {
            w.int64(Int64(seq))
            w.double(op.goodQty)
            w.double(op.scrapQty)
        }
        w.double(goodsReceipt)
        w.double(scrap)
        w.count(eventCount)
        EventCause.write(lastCause, to: &w)
    }

    init(reading r: inout StateReader) throws(StateReader.Truncated) {
        self.init()
        for _ in 0..<(try r.count()) {
            let seq = Int(try r.int64())
            operations[seq] = Operation(goodQty: try r.double(), scrapQty: try r.double())
        }
        goodsReceipt = try r.double()
        scrap = try r.double()
        eventCount = try r.count()
        lastCause = try EventCause.read(&r)
    }

    /// The JSON form of earlier versions (read only).
    init?(json: JSONValue) {
        guard case .object(let o) = json else { return nil }
        self.init()
        if case .object(let ops)? = o["ops"] {
            for member in ops.members {
                guard let seq = Int(member.key), case .object(let op) = member.value else { continue }
                operations[seq] = Operation(goodQty: op["g"].double, scrapQty: op["s"].double)
            }
        }
        goodsReceipt = o["gr"].double
        scrap = o["scrap"].double
        eventCount = Int(o["n"].double)
        if case .object(let c)? = o["cause"], case .string(let e)? = c["e"], case .string(let corr)? = c["c"], case .string(let t)? = c["t"] {
            lastCause = EventCause(eventId: e, correlationId: corr, topic: t, partition: Int(c["p"].double), offset: Int64(c["o"].double))
        }
    }
}

extension Optional where Wrapped == JSONValue {
    fileprivate var double: Double {
        if case .number(let n, _)? = self { return n }
        return 0
    }

    fileprivate var bool: Bool {
        if case .bool(let b)? = self { return b }
        return false
    }

    fileprivate var strings: [String] {
        guard case .array(let values)? = self else { return [] }
        return values.compactMap { if case .string(let s) = $0 { s } else { nil } }
    }
}

/// A released work order as the confirmation store keeps it: the binary form behind a format
/// byte, about a third of its JSON (the store holds one per released work order, and each goes to
/// the changelog once), with the input that released it when nothing else has happened to it —
/// then the row alone says what its progress is, and no progress row is written. Format 2 added
/// that cause at the end; format 1 rows (without it) and rows written as JSON by earlier versions
/// are still read. Format 3 added the stream time the work order was received (its retention
/// counts from it while nothing else happened to it).
extension WorkOrder {
    static let storedFormatVersion: UInt8 = 3

    /// The row without a release cause (its progress has a row of its own).
    var storedBytes: [UInt8] { storedBytes(releaseCause: nil, receivedAt: .min) }

    /// - Parameter receivedAt: stream time when the table record came; `Int64.min` when unknown.
    func storedBytes(releaseCause: EventCause?, receivedAt: Int64) -> [UInt8] {
        var w = StateWriter(
            capacity: 96 + workOrderId.utf8.count + orderId.utf8.count + plant.utf8.count + itemId.utf8.count + uom.utf8.count + components.count * 24)
        w.byte(Self.storedFormatVersion)
        w.string(workOrderId)
        w.string(orderId)
        w.string(plant)
        w.string(itemId)
        w.double(orderedQty)
        w.string(uom)
        w.int64(dueDate.milliseconds)
        w.count(components.count)
        for component in components {
            w.string(component.itemId)
            w.double(component.qtyPer)
            w.string(component.uom)
        }
        w.count(finalOperationSeq)
        EventCause.write(releaseCause, to: &w)
        w.int64(receivedAt)
        return w.bytes
    }

    /// Reads either form; nil when the bytes are neither.
    init?(storedBytes bytes: [UInt8]) {
        guard let row = Self.storedRow(bytes) else { return nil }
        self = row.workOrder
    }

    /// The work order and, when the row carries them, the input that released it and the stream
    /// time it was received (`Int64.min`: unknown).
    static func storedRow(_ bytes: [UInt8]) -> (workOrder: WorkOrder, releaseCause: EventCause?, receivedAt: Int64)? {
        guard let first = bytes.first else { return nil }
        if first == UInt8(ascii: "{") {
            return WorkOrder(json: bytes).map { ($0, nil, .min) }
        }
        guard (1...Self.storedFormatVersion).contains(first) else { return nil }
        var r = StateReader(bytes, from: 1)
        do throws(StateReader.Truncated) {
            let workOrderId = try r.string()
            let orderId = try r.string()
            let plant = try r.string()
            let itemId = try r.string()
            let orderedQty = try r.double()
            let uom = try r.string()
            let dueDate = Timestamp(milliseconds: try r.int64())
            var components: [BillOfMaterials.Component] = []
            for _ in 0..<(try r.count()) {
                components.append(.init(itemId: try r.string(), qtyPer: try r.double(), uom: try r.string()))
            }
            let finalOperationSeq = try r.count()
            let releaseCause = first == 1 ? nil : try EventCause.read(&r)
            let receivedAt = first >= 3 ? try r.int64() : .min
            guard r.atEnd else { return nil }
            let workOrder = WorkOrder(
                workOrderId: workOrderId, orderId: orderId, plant: plant, itemId: itemId, orderedQty: orderedQty, uom: uom,
                dueDate: dueDate, components: components, finalOperationSeq: finalOperationSeq)
            return (workOrder, releaseCause, receivedAt)
        } catch {
            return nil
        }
    }
}

extension EventCause {
    /// A flag byte, then the fields; 0 alone for none.
    static func write(_ cause: EventCause?, to w: inout StateWriter) {
        guard let cause else { return w.byte(0) }
        w.byte(1)
        w.string(cause.eventId)
        w.string(cause.correlationId)
        w.string(cause.topic)
        w.count(cause.partition)
        w.int64(cause.offset)
    }

    static func read(_ r: inout StateReader) throws(StateReader.Truncated) -> EventCause? {
        switch try r.byte() {
        case 0: return nil
        case 1:
            return EventCause(eventId: try r.string(), correlationId: try r.string(), topic: try r.string(), partition: try r.count(), offset: try r.int64())
        default: throw StateReader.Truncated()
        }
    }
}
