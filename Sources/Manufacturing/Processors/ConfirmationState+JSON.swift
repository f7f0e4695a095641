/// Compact JSON for the confirmation state, written on every commit: hand-rolled over
/// `JSONValue`, several times faster than `JSONEncoder` for these small objects.
extension WorkOrderProgress {
    var json: JSONValue {
        var object = JSONObject()
        object.set("ids", .array(recentEventIds.map { .string($0) }))
        object.set("seenGR", .quantity(seenGoodsReceipt))
        object.set("postedGR", .quantity(postedGoodsReceipt))
        object.set("postedScrap", .quantity(postedScrap))
        object.set("started", .bool(started))
        object.set("milestone", .bool(milestoneReached))
        object.set("windows", .object(JSONObject(windows.sorted { $0.key < $1.key }.map { (key: String($0.key), value: $0.value.json) })))
        object.set("adjustments", .object(JSONObject(adjustments.sorted { $0.key < $1.key }.map { (key: String($0.key), value: .number(Double($0.value), isInteger: true)) })))
        object.set("postings", .array(recentPostings.map { .string($0) }))
        object.set("postingCount", .number(Double(postingCount), isInteger: true))
        if let lastStatus { object.set("status", .string(lastStatus)) }
        object.set("risks", .array(lastRisks.map { .string($0) }))
        return .object(object)
    }

    init?(json: JSONValue) {
        guard case .object(let o) = json else { return nil }
        self.init()
        recentEventIds = o["ids"].strings
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
    var json: JSONValue {
        var object = JSONObject()
        object.set("ops", .object(JSONObject(operations.sorted { $0.key < $1.key }.map {
            (key: String($0.key), value: ["g": .quantity($0.value.goodQty), "s": .quantity($0.value.scrapQty)])
        })))
        object.set("gr", .quantity(goodsReceipt))
        object.set("scrap", .quantity(scrap))
        object.set("n", .number(Double(eventCount), isInteger: true))
        if let cause = lastCause { object.set("cause", cause.json) }
        return .object(object)
    }

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
        lastCause = o["cause"].flatMap(EventCause.init(json:))
    }
}

extension EventCause {
    var json: JSONValue {
        [
            "e": .string(eventId), "c": .string(correlationId), "t": .string(topic),
            "p": .number(Double(partition), isInteger: true), "o": .number(Double(offset), isInteger: true),
        ]
    }

    init?(json: JSONValue) {
        guard case .object(let o) = json, case .string(let e)? = o["e"], case .string(let c)? = o["c"], case .string(let t)? = o["t"] else { return nil }
        self.init(eventId: e, correlationId: c, topic: t, partition: Int(o["p"].double), offset: Int64(o["o"].double))
    }
}

extension Optional where Wrapped == JSONValue {
    var double: Double {
        if case .number(let n, _)? = self { return n }
        return 0
    }

    var bool: Bool {
        if case .bool(let b)? = self { return b }
        return false
    }

    var strings: [String] {
        guard case .array(let values)? = self else { return [] }
        return values.compactMap { if case .string(let s) = $0 { s } else { nil } }
    }
}
