import Streams

/// Where an input event sits in Kafka: what a posting or quarantine points back to.
struct EventCause: Hashable {
    var eventId: String
    var correlationId: String
    var topic: String
    var partition: Int
    var offset: Int64
}

extension EventCause {
    /// The cause an input record gives: its event's ids, and where it was produced (its origin,
    /// when it came through the repartition topic).
    init(_ metadata: EventMetadata, _ record: StreamRecord) {
        let origin = record.origin ?? RecordOrigin(topic: record.topic, partition: record.partition, offset: record.offset)
        self.init(
            eventId: metadata.eventId, correlationId: metadata.correlationId, topic: origin.topic, partition: Int(origin.partition), offset: origin.offset)
    }
}

/// Sums of one window (or of one late event) not posted yet.
struct WindowTotals: Hashable {
    struct Operation: Hashable {
        var goodQty: Double = 0
        var scrapQty: Double = 0
    }

    var operations: [Int: Operation] = [:]
    var goodsReceipt: Double = 0
    var scrap: Double = 0
    var eventCount = 0
    var lastCause: EventCause?

    mutating func add(_ event: ShopFloorEvent, cause: EventCause) {
        switch event {
        case .completed(let c):
            operations[c.operationSeq, default: Operation()].goodQty += c.goodQty
            if c.final { goodsReceipt += c.goodQty }
        case .scrap(let s):
            operations[s.operationSeq, default: Operation()].scrapQty += s.scrapQty
            scrap += s.scrapQty
        }
        eventCount += 1
        lastCause = cause
    }
}

/// One MES event, either kind.
enum ShopFloorEvent {
    case completed(OperationCompleted)
    case scrap(ScrapReported)

    var workOrderId: String {
        switch self {
        case .completed(let c): return c.workOrderId
        case .scrap(let s): return s.workOrderId
        }
    }

    var eventTime: Int64 {
        switch self {
        case .completed(let c): return c.completedAt.milliseconds
        case .scrap(let s): return s.reportedAt.milliseconds
        }
    }
}

/// Everything the confirmation side keeps for one work order.
struct WorkOrderProgress: Equatable {
    /// Stable hashes of the latest event ids applied (bounded): the same event sent twice by MES
    /// changes nothing. Replayed input is recognised by its offset (``ConfirmationProcessor``'s
    /// applied offsets). 8 bytes an id instead of the id: this list is most of a work order's state.
    var recentEvents: [UInt64] = []
    /// Goods receipt of every final completion seen (for the completion milestone).
    var seenGoodsReceipt: Double = 0
    /// What ERP has received.
    var postedGoodsReceipt: Double = 0
    var postedScrap: Double = 0
    var started = false
    var milestoneReached = false
    /// Adjustments posted per window start.
    var adjustments: [Int64: Int] = [:]
    /// The latest posting ids sent to ERP or quarantine (bounded): never twice.
    var recentPostings: [String] = []
    /// Postings made so far (sequence for status event ids).
    var postingCount = 0
    /// The last status and risk reasons sent.
    var lastStatus: String?
    var lastRisks: [String] = []
    /// The input behind the latest change: the release, then each event applied. A status that
    /// changes with time alone (LATE at the due date) carries its correlation id.
    var lastCause: EventCause?
    /// Stream time of the latest input that changed it (the release, then each event applied), for
    /// the idle retention; `Int64.min` when unknown (a row written before format 3).
    var lastActivity: Int64 = .min
    /// Stream time at which COMPLETED was first sent, for the retention; nil before (or unknown,
    /// in a row written before format 3).
    var completedAt: Int64?
    /// Postings sent to ERP, and a digest of their ids (XOR of each id's FNV-1a 64: the same
    /// whatever their order): what the retirement record keeps of them.
    var erpPostings = 0
    var postingDigest: UInt64 = 0

    /// COMPLETED was sent.
    var isCompleted: Bool { lastStatus == OrderStatusCode.completed.rawValue }

    /// A work order just released by `cause` at stream time `time`: RELEASED (the release side
    /// said so), nothing else.
    static func released(by cause: EventCause?, at time: Int64) -> WorkOrderProgress {
        var progress = WorkOrderProgress()
        progress.lastStatus = OrderStatusCode.released.rawValue
        progress.lastCause = cause
        progress.lastActivity = time
        return progress
    }

    /// Nothing has happened since the release: the work-order row with its release cause and time
    /// says all of it (``WorkOrder/storedBytes(releaseCause:receivedAt:)``).
    var isJustReleased: Bool { self == .released(by: lastCause, at: lastActivity) }

    /// Counts a posting sent to ERP in ``erpPostings`` and ``postingDigest``.
    mutating func recordErpPosting(_ postingId: String) {
        erpPostings += 1
        postingDigest ^= stableHash(postingId)
    }

    /// The stream time at which the work order retires: `retention` after it completed (or after
    /// a later event: one still coming keeps it), or `idleRetention` + `retention` after its
    /// latest activity while not completed; nil when the time it counts from is unknown (a row
    /// written before format 3: the processor stamps it first).
    func retiresAt(retention: Int64, idleRetention: Int64) -> Int64? {
        if isCompleted {
            guard let completedAt else { return nil }
            return max(completedAt, lastActivity).addingSaturated(retention)
        }
        guard lastActivity != .min else { return nil }
        return lastActivity.addingSaturated(idleRetention).addingSaturated(retention)
    }
}

extension Int64 {
    /// `self + other`, stopping at `Int64.max` / `Int64.min` instead of overflowing.
    func addingSaturated(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }
}

/// A work order's progress row as stored (`progress:<workOrderId>`): its progress and its open
/// windows, written and committed together.
struct StoredProgress: Equatable {
    var progress: WorkOrderProgress
    var windows: [Int64: WindowTotals]

    init(progress: WorkOrderProgress, windows: [Int64: WindowTotals] = [:]) {
        self.progress = progress
        self.windows = windows
    }

    /// Completed, with no window left open: nothing more happens unless a late event comes.
    var isDone: Bool { progress.isCompleted && windows.isEmpty }

    var bytes: [UInt8] { progress.bytes(windows: windows) }

    init?(bytes: [UInt8]) {
        var windows: [Int64: WindowTotals] = [:]
        guard let progress = WorkOrderProgress(bytes: bytes, windows: &windows) else { return nil }
        self.init(progress: progress, windows: windows)
    }
}

/// An MES event waiting for its work order.
struct ParkedEvent {
    var topic: String
    var partition: Int32
    var offset: Int64
    var key: String?
    var value: String
    var correlationHeader: String?
    var parkedAt: Int64
    /// Where the event was produced, when it reached this task through the repartition topic
    /// (`topic`, `partition` and `offset` are where this task read it).
    var origin: RecordOrigin?

    /// The MES topic the event was produced to.
    var sourceTopic: String { origin?.topic ?? topic }

    /// The store's form: a JSON object, members sorted, absent optionals left out.
    var json: JSONValue {
        var members: [(key: String, value: JSONValue)] = []
        if let correlationHeader { members.append(("correlationHeader", .string(correlationHeader))) }
        if let key { members.append(("key", .string(key))) }
        members.append(("offset", .number(Double(offset), isInteger: true)))
        if let origin {
            members.append(
                (
                    "origin",
                    .object(
                        JSONObject([
                            ("offset", .number(Double(origin.offset), isInteger: true)), ("partition", .number(Double(origin.partition), isInteger: true)),
                            ("topic", .string(origin.topic)),
                        ]))
                ))
        }
        members += [
            ("parkedAt", .number(Double(parkedAt), isInteger: true)), ("partition", .number(Double(partition), isInteger: true)),
            ("topic", .string(topic)), ("value", .string(value)),
        ]
        return .object(JSONObject(members))
    }

    init(
        topic: String, partition: Int32, offset: Int64, key: String?, value: String, correlationHeader: String?, parkedAt: Int64, origin: RecordOrigin? = nil
    ) {
        self.origin = origin
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.correlationHeader = correlationHeader
        self.parkedAt = parkedAt
    }

    init?(json: JSONValue) {
        guard let topic = json["topic"]?.stringValue, let partition = json["partition"]?.int64.flatMap({ Int32(exactly: $0) }),
            let offset = json["offset"]?.int64, let value = json["value"]?.stringValue, let parkedAt = json["parkedAt"]?.int64
        else { return nil }
        var origin: RecordOrigin?
        if let o = json["origin"] {
            guard let topic = o["topic"]?.stringValue, let partition = o["partition"]?.int64.flatMap({ Int32(exactly: $0) }), let offset = o["offset"]?.int64
            else { return nil }
            origin = RecordOrigin(topic: topic, partition: partition, offset: offset)
        }
        self.init(
            topic: topic, partition: partition, offset: offset, key: json["key"]?.stringValue, value: value,
            correlationHeader: json["correlationHeader"]?.stringValue, parkedAt: parkedAt, origin: origin)
    }

    /// A list of parked events, as stored under `parked:<workOrderId>`.
    static func bytes(_ list: [ParkedEvent]) -> [UInt8] { JSONWriter.bytes(.array(list.map(\.json))) }

    static func list(_ bytes: [UInt8]) -> [ParkedEvent]? {
        guard case .array(let items)? = try? JSONParser.parse(bytes) else { return nil }
        let list = items.compactMap(ParkedEvent.init(json:))
        return list.count == items.count ? list : nil
    }
}

extension Array {
    /// Appends, keeping the last `limit` elements.
    mutating func appendBounded(_ element: Element, limit: Int = 64) {
        append(element)
        if count > limit { removeFirst(count - limit) }
    }
}
