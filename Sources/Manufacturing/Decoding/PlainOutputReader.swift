/// Reads the few fields a reader of Millwright's own outputs needs (the console: a posting's plant
/// and window, an order status) in one pass over the bytes, without a JSON tree.
///
/// It takes the plain form only, as ``PlainEventDecoder`` does (strings of printable ASCII without
/// escapes, no `null` among the fields read), and answers nil for anything else: the caller then
/// reads the event with the full parser, which decides. For what it takes it returns what the full
/// parser's tree gives for the same members; a test compares the two.
public enum PlainOutputReader {
    /// A posting's `data.plant` and `data.windowStart`.
    public static func posting(_ bytes: [UInt8]) -> (plant: String, windowStart: Timestamp)? {
        var plant: String?
        var windowStart: Timestamp?
        let read = data(bytes) { key, s in
            switch key {
            case "plant": return once(&plant, s.text())
            case "windowStart": return once(&windowStart, s.timestamp())
            default: return s.skipValue()
            }
        }
        guard read, let plant, let windowStart else { return nil }
        return (plant, windowStart)
    }

    /// The members of an order status the console shows. Optional texts are nil when absent.
    public struct OrderStatusFields: Sendable, Hashable {
        public var orderId: String
        public var status: String
        public var workOrderId: String?
        public var plant: String?
        public var riskReasons: [String]
        public var atRisk: Bool
        public var dueDate: String?
        public var updatedAt: String?

        public init(
            orderId: String, status: String, workOrderId: String?, plant: String?, riskReasons: [String], atRisk: Bool, dueDate: String?,
            updatedAt: String?
        ) {
            self.orderId = orderId
            self.status = status
            self.workOrderId = workOrderId
            self.plant = plant
            self.riskReasons = riskReasons
            self.atRisk = atRisk
            self.dueDate = dueDate
            self.updatedAt = updatedAt
        }
    }

    /// An ERP order status's `data` members (`orderId` and `status` required).
    public static func orderStatus(_ bytes: [UInt8]) -> OrderStatusFields? {
        var orderId: String?
        var status: String?
        var workOrderId: String?
        var plant: String?
        var riskReasons: [String]?
        var atRisk: Bool?
        var dueDate: String?
        var updatedAt: String?
        let read = data(bytes) { key, s in
            switch key {
            case "orderId": return once(&orderId, s.text())
            case "status": return once(&status, s.text())
            case "workOrderId": return once(&workOrderId, s.text())
            case "plant": return once(&plant, s.text())
            case "riskReasons": return once(&riskReasons, s.texts())
            case "atRisk": return once(&atRisk, s.bool())
            case "dueDate": return once(&dueDate, s.text())
            case "updatedAt": return once(&updatedAt, s.text())
            default: return s.skipValue()
            }
        }
        guard read, let orderId, let status else { return nil }
        return OrderStatusFields(
            orderId: orderId, status: status, workOrderId: workOrderId, plant: plant, riskReasons: riskReasons ?? [], atRisk: atRisk ?? false,
            dueDate: dueDate, updatedAt: updatedAt)
    }

    /// Reads an envelope, passing every member of its `data` object to `member` and skipping the
    /// rest; false when the bytes are not plain, `data` is missing or seen twice.
    private static func data(_ bytes: [UInt8], _ member: (PlainScanner.Name, inout PlainScanner) -> Bool) -> Bool {
        bytes.withUnsafeBufferPointer { buffer in
            var scanner = PlainScanner(buffer)
            var sawData = false
            let read = scanner.object { key, s in
                guard case "data" = key else { return s.skipValue() }
                guard !sawData else { return false }
                sawData = true
                return s.object(member)
            }
            return read && scanner.atEnd && sawData
        }
    }
}

extension PlainScanner {
    /// Passes over any JSON value (plain strings only; at most 32 levels deep).
    mutating func skipValue(depth: Int = 0) -> Bool {
        guard depth < 32, let next = peek() else { return false }
        switch next {
        case UInt8(ascii: "\""): return string() != nil
        case UInt8(ascii: "{"):
            _ = take(next)
            if take(UInt8(ascii: "}")) { return true }
            repeat {
                guard string() != nil, take(UInt8(ascii: ":")), skipValue(depth: depth + 1) else { return false }
            } while take(UInt8(ascii: ","))
            return take(UInt8(ascii: "}"))
        case UInt8(ascii: "["):
            _ = take(next)
            if take(UInt8(ascii: "]")) { return true }
            repeat {
                guard skipValue(depth: depth + 1) else { return false }
            } while take(UInt8(ascii: ","))
            return take(UInt8(ascii: "]"))
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return bool() != nil
        case UInt8(ascii: "n"): return matches("null")
        default: return number() != nil
        }
    }

    /// An array of non-empty texts (``text()``), possibly empty.
    mutating func texts() -> [String]? {
        guard take(UInt8(ascii: "[")) else { return nil }
        var texts: [String] = []
        if take(UInt8(ascii: "]")) { return texts }
        repeat {
            guard let text = text() else { return nil }
            texts.append(text)
        } while take(UInt8(ascii: ","))
        return take(UInt8(ascii: "]")) ? texts : nil
    }
}
