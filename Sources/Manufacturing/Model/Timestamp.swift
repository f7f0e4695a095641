/// A point in time in UTC, to the millisecond: how every timestamp of the contract is held.
/// Parsed from RFC 3339 with a `Z` offset (the contract's timestamps are UTC) and written back
/// as `YYYY-MM-DDTHH:MM:SS.sssZ`.
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public var milliseconds: Int64

    public init(milliseconds: Int64) {
        self.milliseconds = milliseconds
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.milliseconds < rhs.milliseconds }

    public func adding(milliseconds delta: Int64) -> Timestamp { Timestamp(milliseconds: milliseconds + delta) }

    /// Why a text is not an RFC 3339 UTC timestamp.
    public enum ParseError: Error, Sendable, Equatable {
        case notRFC3339
        case notUTC
        case outOfRange(String)
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction]Z` (fraction of any length, truncated to ms).
    public init(rfc3339 text: String) throws(ParseError) {
        var text = text
        let parsed = text.withUTF8 { bytes in Result { () throws(ParseError) in try Timestamp(rfc3339: bytes) } }
        self = try parsed.get()
    }

    /// Parses the UTF-8 bytes of an RFC 3339 timestamp (see ``init(rfc3339:)``), without a copy.
    init(rfc3339 b: UnsafeBufferPointer<UInt8>) throws(ParseError) {
        func digits(_ start: Int, _ count: Int) throws(ParseError) -> Int {
            guard start + count <= b.count else { throw .notRFC3339 }
            var value = 0
            for i in start..<start + count {
                let d = Int(b[i]) - 48
                guard (0...9).contains(d) else { throw .notRFC3339 }
                value = value * 10 + d
            }
            return value
        }
        guard b.count >= 20, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
            b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t"),
            b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":")
        else { throw .notRFC3339 }
        let year = try digits(0, 4)
        let month = try digits(5, 2)
        let day = try digits(8, 2)
        let hour = try digits(11, 2)
        let minute = try digits(14, 2)
        let second = try digits(17, 2)
        var i = 19
        var millis = 0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            let start = i
            while i < b.count, (48...57).contains(b[i]) { i += 1 }
            guard i > start else { throw .notRFC3339 }
            for k in 0..<3 { millis = millis * 10 + (start + k < i ? Int(b[start + k]) - 48 : 0) }
        }
        guard i < b.count else { throw .notRFC3339 }
        if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            // A valid offset, but the contract's timestamps are UTC.
            _ = try digits(i + 1, 2)
            throw .notUTC
        }
        guard b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z"), i == b.count - 1 else { throw .notRFC3339 }
        guard (1...12).contains(month) else { throw .outOfRange("month \(month)") }
        guard (1...Self.daysIn(month: month, year: year)).contains(day) else { throw .outOfRange("day \(day)") }
        guard hour < 24, minute < 60, second < 60 else { throw .outOfRange("time of day") }
        let days = Self.daysFromCivil(year: year, month: month, day: day)
        milliseconds = ((Int64(days) * 24 + Int64(hour)) * 60 + Int64(minute)) * 60_000 + Int64(second) * 1000 + Int64(millis)
    }

    /// `YYYY-MM-DDTHH:MM:SS.sssZ`.
    public var rfc3339: String {
        guard hasFourDigitYear else {
            let (y, m, d, h, mi, s, f) = fields
            return "\(y)-\(Self.pad(m, 2))-\(Self.pad(d, 2))T\(Self.pad(h, 2)):\(Self.pad(mi, 2)):\(Self.pad(s, 2)).\(Self.pad(f, 3))Z"
        }
        return String(unsafeUninitializedCapacity: 24) { buffer in
            writeRFC3339(to: buffer)
            return 24
        }
    }

    /// Whether ``rfc3339`` has the 24 bytes of ``writeRFC3339(to:)`` (years 0 to 9999).
    var hasFourDigitYear: Bool { (-62_167_219_200_000..<253_402_300_800_000).contains(milliseconds) }

    /// Year, month, day, hour, minute, second and millisecond.
    private var fields: (Int, Int, Int, Int, Int, Int, Int) {
        let ms = ((milliseconds % 86_400_000) + 86_400_000) % 86_400_000
        let days = (milliseconds - ms) / 86_400_000
        let (y, m, d) = Self.civilFromDays(Int(days))
        return (y, m, d, Int(ms / 3_600_000), Int(ms / 60_000 % 60), Int(ms / 1000 % 60), Int(ms % 1000))
    }

    /// `yyyy-MM-ddTHH:mm:ss.SSSZ` into `buffer` (24 bytes), digit by digit (on the hot path of
    /// every output). Only for ``hasFourDigitYear``.
    func writeRFC3339(to buffer: UnsafeMutableBufferPointer<UInt8>) {
        let (y, m, d, h, mi, s, f) = fields
        func put(_ value: Int, _ width: Int, at offset: Int) {
            var v = value
            for i in stride(from: offset + width - 1, through: offset, by: -1) {
                buffer[i] = UInt8(48 + v % 10)
                v /= 10
            }
        }
        put(y, 4, at: 0)
        buffer[4] = UInt8(ascii: "-")
        put(m, 2, at: 5)
        buffer[7] = UInt8(ascii: "-")
        put(d, 2, at: 8)
        buffer[10] = UInt8(ascii: "T")
        put(h, 2, at: 11)
        buffer[13] = UInt8(ascii: ":")
        put(mi, 2, at: 14)
        buffer[16] = UInt8(ascii: ":")
        put(s, 2, at: 17)
        buffer[19] = UInt8(ascii: ".")
        put(f, 3, at: 20)
        buffer[23] = UInt8(ascii: "Z")
    }

    private static func pad(_ v: Int, _ n: Int) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, n - s.count)) + s
    }

    public var description: String { rfc3339 }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    // Howard Hinnant's days-from-civil algorithms.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civilFromDays(_ z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}

extension JSONBytes {
    /// A member whose value is a timestamp, its RFC 3339 text written in place (no `String`):
    /// every output event carries two to four.
    mutating func member(_ name: StaticString, timestamp: Timestamp) {
        guard timestamp.hasFourDigitYear else { return member(name, timestamp.rfc3339) }
        key(name)
        plainString(count: 24) { timestamp.writeRFC3339(to: $0) }
    }
}
