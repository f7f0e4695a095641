/// A fast path for the MES events that make up nearly all of the input: one pass over the bytes,
/// no JSON tree, a String only for the fields kept.
///
/// It takes only the plain form of an event — the envelope's and the payload's members (in any
/// order) and nothing else, strings of printable ASCII without escapes, no `null` — and answers
/// nil for anything else, which then goes through ``EventDecoder`` (the decoder that explains
/// what is wrong). For what it takes it returns exactly what ``EventDecoder`` returns: the same
/// rules (non-empty strings, upper-cased codes, integers, quantities from 0 to 10⁹, RFC 3339 UTC
/// timestamps); a property test compares the two on damaged and valid events.
protocol PlainDecodable: EventPayload {
    /// Reads the payload's members from `{` to `}`; nil when the data is not plain or breaks a rule.
    static func plainData(_ scanner: inout PlainScanner) -> Self?
}

enum PlainEventDecoder {
    static func decode<Payload: PlainDecodable>(_ bytes: [UInt8], as type: Payload.Type) -> Envelope<Payload>? {
        bytes.withUnsafeBufferPointer { buffer in
            var scanner = PlainScanner(buffer)
            var schemaOK = false
            var version: Int?
            var eventId: String?
            var correlationId: String?
            var occurredAt: Timestamp?
            var source: EventSource?
            var data: Payload?
            let read = scanner.object { key, s in
                switch key {
                case "schema":
                    guard !schemaOK, let range = s.string(), s.equals(range, Payload.schema) else { return false }
                    schemaOK = true
                    return true
                case "schemaVersion":
                    // The current version only (an older one is upcast by the full decoder). Not
                    // through `readableVersions`: a computed set, built anew on every call.
                    let readable = s.integer(minimum: 1).flatMap { v in v == Payload.currentVersion ? v : nil }
                    return once(&version, readable)
                case "eventId": return once(&eventId, s.text())
                case "correlationId": return once(&correlationId, s.text())
                case "occurredAt": return once(&occurredAt, s.timestamp())
                case "source": return once(&source, s.source())
                case "data": return once(&data, Payload.plainData(&s))
                default: return false
                }
            }
            guard read, scanner.atEnd, schemaOK, let version, let eventId, let correlationId, let occurredAt, let source, let data else { return nil }
            return Envelope(
                metadata: EventMetadata(
                    schema: Payload.schema, schemaVersion: version, eventId: eventId, correlationId: correlationId,
                    occurredAt: occurredAt, source: source),
                data: data)
        }
    }
}

/// Reads plain JSON (see ``PlainEventDecoder``); every method answers nil or false for anything
/// it does not take, leaving the rest to the full parser.
struct PlainScanner {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    private static let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    mutating func take(_ byte: UInt8) -> Bool {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    var atEnd: Bool {
        mutating get {
            skipWhitespace()
            return index == bytes.count
        }
    }

    /// The next byte after any whitespace, without taking it.
    mutating func peek() -> UInt8? {
        skipWhitespace()
        return index < bytes.count ? bytes[index] : nil
    }

    /// `{ "name": value, … }`; `member` reads each value (and may refuse it). No empty objects.
    mutating func object(_ member: (Name, inout PlainScanner) -> Bool) -> Bool {
        guard take(UInt8(ascii: "{")) else { return false }
        while true {
            guard let key = string(), take(UInt8(ascii: ":")) else { return false }
            guard member(Name(bytes: UnsafeBufferPointer(rebasing: bytes[key])), &self) else { return false }
            skipWhitespace()
            guard index < bytes.count else { return false }
            switch bytes[index] {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"):
                index += 1
                return true
            default: return false
            }
        }
    }

    /// A member name, matched in a `switch` against string literals byte by byte (no String made,
    /// and a name of another length is passed over at once).
    struct Name {
        let bytes: UnsafeBufferPointer<UInt8>

        static func ~= (pattern: StaticString, name: Name) -> Bool {
            guard pattern.utf8CodeUnitCount == name.bytes.count else { return false }
            for i in 0..<name.bytes.count where pattern.utf8Start[i] != name.bytes[i] { return false }
            return true
        }
    }

    /// A string of printable ASCII without escapes: its bytes' range, quotes excluded.
    mutating func string() -> Range<Int>? {
        guard take(Self.quote) else { return nil }
        let start = index
        // Eight bytes at a time while all of them are plain (most of an event's bytes are inside
        // strings); the byte loop below finds the end or the byte that is not.
        if let base = bytes.baseAddress {
            while index + 8 <= bytes.count, Self.plain(UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)) { index += 8 }
        }
        while index < bytes.count {
            let byte = bytes[index]
            if byte == Self.quote {
                index += 1
                return start..<index - 1
            }
            if byte < 0x20 || byte > 0x7E || byte == Self.backslash { return nil }
            index += 1
        }
        return nil
    }

    /// Whether all eight bytes are printable ASCII other than a quote or a backslash (0x20–0x7E):
    /// the byte-wise tests of "Bit Twiddling Hacks" (`hasless`, `haszero`), exact for bytes below
    /// 0x80, which the first test makes sure of.
    static func plain(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high: UInt64 = 0x8080_8080_8080_8080
        func hasZeroByte(_ x: UInt64) -> Bool { (x &- ones) & ~x & high != 0 }
        guard word & high == 0 else { return false }  // ≥ 0x80
        if (word &- ones &* 0x20) & ~word & high != 0 { return false }  // < 0x20
        return !hasZeroByte(word ^ (ones &* 0x22)) && !hasZeroByte(word ^ (ones &* 0x5C)) && !hasZeroByte(word ^ (ones &* 0x7F))
    }

    func equals(_ range: Range<Int>, _ text: String) -> Bool {
        var text = text
        return text.withUTF8 { utf8 in utf8.count == range.count && utf8.elementsEqual(bytes[range]) }
    }

    /// A non-empty string without surrounding spaces (what the full decoder's trimming keeps as is).
    mutating func text() -> String? {
        textBytes().map { String(decoding: $0, as: UTF8.self) }
    }

    private mutating func textBytes() -> UnsafeBufferPointer<UInt8>? {
        guard let range = string(), !range.isEmpty, bytes[range.lowerBound] != 0x20, bytes[range.upperBound - 1] != 0x20 else { return nil }
        return UnsafeBufferPointer(rebasing: bytes[range])
    }

    /// A code: upper-cased, like ``FieldReader/code(_:)`` (the bytes are printable ASCII here).
    mutating func code() -> String? {
        guard let text = textBytes() else { return nil }
        let lowercase = UInt8(ascii: "a")...UInt8(ascii: "z")
        guard text.contains(where: lowercase.contains) else { return String(decoding: text, as: UTF8.self) }
        return String(decoding: text.map { lowercase.contains($0) ? $0 - 0x20 : $0 }, as: UTF8.self)
    }

    /// ``FieldReader/timestamp(_:)``'s rules, read from the bytes in place.
    mutating func timestamp() -> Timestamp? {
        guard let range = string(), !range.isEmpty, bytes[range.lowerBound] != 0x20, bytes[range.upperBound - 1] != 0x20 else { return nil }
        return try? Timestamp(rfc3339: UnsafeBufferPointer(rebasing: bytes[range]))
    }

    mutating func bool() -> Bool? {
        skipWhitespace()
        if matches("true") { return true }
        if matches("false") { return false }
        return nil
    }

    mutating func matches(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { return false }
        for i in 0..<count where bytes[index + i] != literal.utf8Start[i] { return false }
        index += count
        return true
    }

    /// A JSON number (the full parser's grammar and conversion) and whether it was written as an
    /// integer.
    mutating func number() -> (value: Double, isInteger: Bool)? {
        skipWhitespace()
        let start = index
        var isInteger = true
        func digits() -> Int {
            let first = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            return index - first
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count else { return nil }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else if digits() == 0 {
            return nil
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard digits() > 0 else { return nil }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { return nil }
        }
        let range = start..<index
        if isInteger && range.count <= 15 && bytes[start] != UInt8(ascii: "-") {
            // Exact: an integer of at most 15 digits is a Double as it is.
            var value = 0
            for byte in bytes[range] { value = value * 10 + Int(byte - UInt8(ascii: "0")) }
            return (Double(value), true)
        }
        guard let value = Double(String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)), value.isFinite else { return nil }
        return (value, isInteger)
    }

    /// ``FieldReader/int(_:minimum:)``'s rules.
    mutating func integer(minimum: Int) -> Int? {
        guard let (n, isInteger) = number(), isInteger || n == n.rounded(), abs(n) < 9e15 else { return nil }
        let value = Int(n)
        return value >= minimum ? value : nil
    }

    /// ``FieldReader/quantity(_:positive:maximum:)``'s rules for an input (finite, ≥ 0, not -0,
    /// at most ``FieldReader/maxQuantity``).
    mutating func quantity() -> Double? {
        guard let (n, _) = number(), n.isFinite, n.sign == .plus, n <= FieldReader.maxQuantity else { return nil }
        return n
    }

    /// The envelope's `source`: `system`, and `plant` if given (upper-cased).
    mutating func source() -> EventSource? {
        var system: String?
        var plant: String?
        let read = object { key, s in
            switch key {
            case "system": return once(&system, s.text())
            case "plant": return once(&plant, s.code())
            default: return false
            }
        }
        guard read, let system else { return nil }
        return EventSource(system: system, plant: plant)
    }
}

extension OperationCompleted: PlainDecodable {
    public static func plainEnvelope(_ bytes: [UInt8]) -> Envelope<OperationCompleted>? { PlainEventDecoder.decode(bytes, as: Self.self) }

    static func plainData(_ scanner: inout PlainScanner) -> OperationCompleted? {
        var workOrderId: String?
        var operationSeq: Int?
        var workCenter: String?
        var plant: String?
        var goodQty: Double?
        var uom: String?
        var completedAt: Timestamp?
        var final: Bool?
        let read = scanner.object { key, s in
            switch key {
            case "workOrderId": return once(&workOrderId, s.text())
            case "operationSeq": return once(&operationSeq, s.integer(minimum: 1))
            case "workCenter": return once(&workCenter, s.text())
            case "plant": return once(&plant, s.code())
            case "goodQty": return once(&goodQty, s.quantity())
            case "uom": return once(&uom, s.code())
            case "completedAt": return once(&completedAt, s.timestamp())
            case "final": return once(&final, s.bool())
            default: return false
            }
        }
        guard read, let workOrderId, let operationSeq, let workCenter, let plant, let goodQty, let uom, let completedAt, let final else { return nil }
        return OperationCompleted(
            workOrderId: workOrderId, operationSeq: operationSeq, workCenter: workCenter, plant: plant, goodQty: goodQty, uom: uom,
            completedAt: completedAt, final: final)
    }
}

extension ScrapReported: PlainDecodable {
    public static func plainEnvelope(_ bytes: [UInt8]) -> Envelope<ScrapReported>? { PlainEventDecoder.decode(bytes, as: Self.self) }

    static func plainData(_ scanner: inout PlainScanner) -> ScrapReported? {
        var workOrderId: String?
        var operationSeq: Int?
        var plant: String?
        var scrapQty: Double?
        var uom: String?
        var reasonCode: String?
        var reportedAt: Timestamp?
        let read = scanner.object { key, s in
            switch key {
            case "workOrderId": return once(&workOrderId, s.text())
            case "operationSeq": return once(&operationSeq, s.integer(minimum: 1))
            case "plant": return once(&plant, s.code())
            case "scrapQty": return once(&scrapQty, s.quantity())
            case "uom": return once(&uom, s.code())
            case "reasonCode": return once(&reasonCode, s.text())
            case "reportedAt": return once(&reportedAt, s.timestamp())
            default: return false
            }
        }
        guard read, let workOrderId, let operationSeq, let plant, let scrapQty, let uom, let reasonCode, let reportedAt else { return nil }
        return ScrapReported(
            workOrderId: workOrderId, operationSeq: operationSeq, plant: plant, scrapQty: scrapQty, uom: uom, reasonCode: reasonCode,
            reportedAt: reportedAt)
    }
}

/// Sets `slot` to `value` the first time; false for a refused value (nil) or a member seen twice.
func once<T>(_ slot: inout T?, _ value: T?) -> Bool {
    guard slot == nil, let value else { return false }
    slot = value
    return true
}
