import Testing

@testable import Manufacturing

/// The confirmation state's stored form (written to the task store and changelog on every commit).
@Suite("Confirmation state bytes")
struct ConfirmationStateTests {
    static func populated() -> StoredProgress {
        var state = WorkOrderProgress()
        state.recentEvents = [stableHash("mes-1"), stableHash("mes-2"), .max, 0]
        state.seenGoodsReceipt = 120.5
        state.postedGoodsReceipt = 100
        state.postedScrap = 0.25
        state.started = true
        state.milestoneReached = true
        var window = WindowTotals()
        window.add(
            .completed(
                OperationCompleted(
                    workOrderId: "WO-1", operationSeq: 30, workCenter: "WC-1", plant: "P100", goodQty: 20.5, uom: "EA",
                    completedAt: Timestamp(milliseconds: 1_000), final: true)),
            cause: EventCause(eventId: "mes-1", correlationId: "crm-req-ü", topic: "mes.operation-completed.v1", partition: 7, offset: 1 << 40))
        window.add(
            .scrap(
                ScrapReported(
                    workOrderId: "WO-1", operationSeq: -1, plant: "P100", scrapQty: 0.25, uom: "EA", reasonCode: "DAMAGE",
                    reportedAt: Timestamp(milliseconds: 2_000))),
            cause: EventCause(eventId: "mes-2", correlationId: "c", topic: "mes.scrap-reported.v1", partition: 0, offset: 0))
        state.adjustments = [0: 3, 900_000: 1]
        state.recentPostings = ["WO-1:2026-11-27T08:00:00.000Z", "WO-1:2026-11-27T08:15:00.000Z:adj1"]
        state.postingCount = 7
        state.lastStatus = "IN_PRODUCTION"
        state.lastRisks = ["LATE", "SCRAP_OVER_TOLERANCE"]
        state.lastCause = EventCause(eventId: "mes-2", correlationId: "c", topic: "mes.scrap-reported.v1", partition: 0, offset: 0)
        state.lastActivity = 1_795_766_400_000
        state.completedAt = -1
        state.erpPostings = 300
        state.postingDigest = .max - 1
        return StoredProgress(progress: state, windows: [-900_000: WindowTotals(), 1_800_000: window])
    }

    @Test("every field survives the binary form: hashes, quantities, flags, windows with their causes, adjustments, postings, status")
    func roundTrip() {
        let state = Self.populated()
        #expect(StoredProgress(bytes: state.bytes) == state)
        #expect(StoredProgress(bytes: StoredProgress(progress: WorkOrderProgress()).bytes) == StoredProgress(progress: WorkOrderProgress()))
    }

    @Test("state in binary format 1 (before the last cause was kept) is still read, with no last cause")
    func formatOne() {
        var state = Self.populated()
        state.progress.lastCause = nil
        state.progress.lastActivity = .min
        state.progress.completedAt = nil
        state.progress.erpPostings = 0
        state.progress.postingDigest = 0
        let current = state.bytes
        // Format 3's tail for unknown times and no posting: activity (8), no completion (1), 0 (1), digest (8).
        #expect(current.first == 3 && current.suffix(18) == [0, 0, 0, 0, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        let formatTwo = [2] + current.dropFirst().dropLast(18)
        #expect(formatTwo.last == 0, "format 2 ends with the empty cause flag")
        #expect(StoredProgress(bytes: Array(formatTwo)) == state)
        let formatOne = [1] + current.dropFirst().dropLast(19)
        #expect(StoredProgress(bytes: Array(formatOne)) == state)
        #expect(StoredProgress(bytes: [1] + Self.populated().bytes.dropFirst()) == nil, "a format 1 row cannot carry a cause")
    }

    @Test("state in binary format 2 (before the retention's times) is still read, its times unknown: the processor stamps them")
    func formatTwo() {
        var state = Self.populated()
        let current = state.bytes
        // Format 3's tail here: activity (8), completion flag and time (9), 300 as LEB128 (2), digest (8).
        let formatTwo = [2] + current.dropFirst().dropLast(27)
        state.progress.lastActivity = .min
        state.progress.completedAt = nil
        state.progress.erpPostings = 0
        state.progress.postingDigest = 0
        #expect(StoredProgress(bytes: Array(formatTwo)) == state)
        #expect(state.progress.retiresAt(retention: 1, idleRetention: 1) == nil, "no time to count from")
    }

    @Test("the same state always gives the same bytes (windows and adjustments in key order)")
    func deterministic() {
        var reordered = Self.populated()
        reordered.windows = Dictionary(uniqueKeysWithValues: reordered.windows.reversed())
        #expect(reordered.bytes == Self.populated().bytes)
    }

    @Test("state written as JSON by earlier versions is still read; event ids become their hashes")
    func legacyJSON() {
        let json =
            #"{"ids":["mes-1"],"seenGR":10,"postedGR":5,"postedScrap":1,"started":true,"milestone":false,"windows":{"900000":{"ops":{"10":{"g":5,"s":1}},"gr":5,"scrap":1,"n":2,"cause":{"e":"mes-1","c":"corr","t":"mes.operation-completed.v1","p":3,"o":42}}},"adjustments":{"0":2},"postings":["p1"],"postingCount":1,"status":"IN_PRODUCTION","risks":["LATE"]}"#
        let state = StoredProgress(bytes: Array(json.utf8))
        #expect(state?.progress.recentEvents == [stableHash("mes-1")])
        #expect(state?.progress.postedGoodsReceipt == 5)
        #expect(state?.windows[900_000]?.operations[10]?.goodQty == 5)
        #expect(state?.windows[900_000]?.lastCause?.offset == 42)
        #expect(state?.progress.adjustments[0] == 2)
        #expect(state?.progress.lastStatus == "IN_PRODUCTION")
        #expect(state?.progress.lastRisks == ["LATE"])
    }

    @Test("truncated, extended or unknown-format bytes are refused, never misread")
    func damaged() {
        let bytes = Self.populated().bytes
        for length in 0..<bytes.count {
            #expect(StoredProgress(bytes: Array(bytes.prefix(length))) == nil, "cut at \(length) of \(bytes.count)")
        }
        #expect(StoredProgress(bytes: bytes + [0]) == nil)
        #expect(StoredProgress(bytes: [9] + bytes.dropFirst()) == nil)
    }

    @Test("the duplicate check's hash is stable across processes (FNV-1a 64, known values)")
    func stableHashValues() {
        #expect(stableHash("") == 0xcbf2_9ce4_8422_2325)
        #expect(stableHash("a") == 0xaf63_dc4c_8601_ec8c)
    }

    static let storedWorkOrder = WorkOrder(
        json: Array(
            #"{"workOrderId":"WO-4711-10","orderId":"4711","plant":"P100","itemId":"GB-200","orderedQty":12.5,"uom":"EA","dueDate":"2026-12-01T06:30:00.000Z","components":[{"itemId":"HS-200","qtyPer":1,"uom":"EA"},{"itemId":"OIL","qtyPer":0.75,"uom":"L"}],"finalOperationSeq":30}"#
                .utf8))!

    @Test("a stored work order survives the binary form field by field, and a row written as JSON by earlier versions is still read")
    func workOrderStoredForm() {
        let workOrder = Self.storedWorkOrder
        let bytes = workOrder.storedBytes
        #expect(WorkOrder(storedBytes: bytes) == workOrder)
        #expect(bytes.count * 2 < JSONWriter.bytes(workOrder.json).count, "under half the size of its JSON")
        #expect(WorkOrder(storedBytes: JSONWriter.bytes(workOrder.json)) == workOrder, "legacy JSON row")
    }

    @Test("a work order row carries its release cause when asked, and a format-1 row (before the cause) is still read, without one")
    func workOrderReleaseCause() throws {
        let workOrder = Self.storedWorkOrder
        let cause = EventCause(eventId: "work-order:WO-4711-10", correlationId: "erp-4711", topic: Topics.workOrders, partition: 3, offset: 42)
        let row = try #require(WorkOrder.storedRow(workOrder.storedBytes(releaseCause: cause, receivedAt: .min)))
        #expect(row.workOrder == workOrder)
        #expect(row.releaseCause == cause)
        #expect(WorkOrder.storedRow(workOrder.storedBytes)?.releaseCause == nil)
        #expect(WorkOrder.storedRow(workOrder.storedBytes(releaseCause: cause, receivedAt: 42))?.receivedAt == 42)
        // Format 1: the same fields, no cause flag nor time at the end; format 2: no time.
        let formatOne = [1] + workOrder.storedBytes.dropFirst().dropLast(9)
        let old = try #require(WorkOrder.storedRow(Array(formatOne)))
        #expect(old.workOrder == workOrder && old.releaseCause == nil && old.receivedAt == .min)
        let formatTwo = [2] + workOrder.storedBytes(releaseCause: cause, receivedAt: 42).dropFirst().dropLast(8)
        let two = try #require(WorkOrder.storedRow(Array(formatTwo)))
        #expect(two.workOrder == workOrder && two.releaseCause == cause && two.receivedAt == .min)
    }

    @Test("a truncated, extended or unknown-format work order row is refused, never misread")
    func workOrderDamaged() {
        let cause = EventCause(eventId: "e", correlationId: "c", topic: "t", partition: 1, offset: 2)
        for bytes in [Self.storedWorkOrder.storedBytes, Self.storedWorkOrder.storedBytes(releaseCause: cause, receivedAt: 7)] {
            for length in 0..<bytes.count {
                #expect(WorkOrder(storedBytes: Array(bytes.prefix(length))) == nil, "cut at \(length) of \(bytes.count)")
            }
            #expect(WorkOrder(storedBytes: bytes + [0]) == nil)
            #expect(WorkOrder(storedBytes: [9] + bytes.dropFirst()) == nil)
        }
    }

    @Test(
        "parked events and applied offsets are stored with the project's JSON writer and read back; the form JSONEncoder (sorted keys) wrote before reads the same, so a store written by the previous version restores"
    )
    func parkedAndAppliedJSON() throws {
        let event = ParkedEvent(
            topic: "mes.operation-completed.v1", partition: 7, offset: 42, key: "WO-1", value: "{\"a\": \"é\\n\"}", correlationHeader: nil,
            parkedAt: 1_796_385_600_000)
        let bytes = ParkedEvent.bytes([event])
        #expect(String(decoding: bytes, as: UTF8.self).hasPrefix(#"[{"key":"WO-1","offset":42,"parkedAt":1796385600000,"partition":7,"topic""#))
        let back = try #require(ParkedEvent.list(bytes))
        #expect(back.count == 1 && back[0].value == event.value && back[0].key == "WO-1" && back[0].correlationHeader == nil && back[0].partition == 7)
        let previous = Array(#"[{"correlationHeader":"c-1","offset":3,"parkedAt":1796385600001,"partition":2,"topic":"t","value":"v"}]"#.utf8)
        let old = try #require(ParkedEvent.list(previous))
        #expect(old[0].correlationHeader == "c-1" && old[0].key == nil && old[0].offset == 3 && old[0].parkedAt == 1_796_385_600_001)
        #expect(ParkedEvent.list(Array(#"[{"topic":"t"}]"#.utf8)) == nil, "an entry that does not read is not half-restored")

        let applied = ["mes.scrap-reported.v1": Int64(9_007_199_254_740_991), "mes.operation-completed.v1": 0]
        #expect(ConfirmationProcessor.applied(ConfirmationProcessor.appliedBytes(applied)) == applied)
        #expect(ConfirmationProcessor.applied(Array(#"{"a":1,"b":2}"#.utf8)) == ["a": 1, "b": 2])
        #expect(ConfirmationProcessor.applied(Array(#"{"a":1.5}"#.utf8)) == nil)
    }
}
