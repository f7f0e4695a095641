/// Writes JSON compactly and deterministically (members in the order given).
public enum JSONWriter {
    public static func bytes(_ value: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        write(value, to: &out)
        return out
    }

    public static func string(_ value: JSONValue) -> String {
        String(decoding: bytes(value), as: UTF8.self)
    }

    static func write(_ value: JSONValue, to out: inout [UInt8]) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(let n, let isInteger): writeNumber(n, isInteger: isInteger, to: &out)
        case .string(let s): writeString(s, to: &out)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (i, element) in elements.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                write(element, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            out.append(UInt8(ascii: "{"))
            for (i, member) in object.members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                writeString(member.key, to: &out)
                out.append(UInt8(ascii: ":"))
                write(member.value, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    static func writeNumber(_ n: Double, isInteger: Bool, to out: inout [UInt8]) {
        guard n.isFinite else {
            // Never `inf` or `nan`, which are not JSON: a number the parser read beyond a
            // Double's range (1e400, kept as ±infinity) is written as one beyond it again.
            out.append(contentsOf: (n.isNaN ? "null" : n < 0 ? "-1e999" : "1e999").utf8)
            return
        }
        if isInteger, abs(n) < 9.0e15 {
            out.append(contentsOf: String(Int64(n)).utf8)
        } else {
            out.append(contentsOf: "\(n)".utf8)
        }
    }

    /// Whether a byte is written escaped in a JSON string.
    static func needsEscape(_ byte: UInt8) -> Bool { byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") }

    static func writeString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var s = s
        let plain = s.withUTF8 { bytes in
            // Most strings need no escape: one append.
            guard !bytes.contains(where: needsEscape) else { return false }
            out.append(contentsOf: bytes)
            return true
        }
        if plain {
            out.append(UInt8(ascii: "\""))
            return
        }
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

/// Writes JSON straight to bytes, member by member: the same bytes ``JSONWriter`` writes for the
/// equivalent ``JSONValue``, without building the tree first (the hot output events use it).
public struct JSONBytes {
    public private(set) var bytes: [UInt8] = []
    /// Per open object or array, a bit: whether nothing was written in it yet (bit 0 the
    /// innermost). Bits, not an array: no allocation per document. Past 64 levels the outer
    /// ones' bits go to `deeper`.
    private var empty: UInt64 = 0
    private var depth = 0
    private var deeper: [Bool] = []
    private var afterKey = false

    public init(capacity: Int = 512) {
        bytes.reserveCapacity(capacity)
    }

    private mutating func separate() {
        if afterKey {
            afterKey = false
        } else if depth > 0 {
            if empty & 1 != 0 { empty &= ~1 } else { bytes.append(UInt8(ascii: ",")) }
        }
    }

    private mutating func open() {
        if depth >= 64 { deeper.append(empty >> 63 != 0) }
        empty = empty << 1 | 1
        depth += 1
    }

    private mutating func close() {
        depth -= 1
        empty >>= 1
        if depth >= 64, deeper.removeLast() { empty |= 1 << 63 }
    }

    public mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        open()
    }

    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        close()
    }

    public mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "["))
        open()
    }

    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        close()
    }

    /// A member's name; its value is what is written next. Names are literals of the writers
    /// (printable ASCII, nothing to escape): copied as they are, without the scan for escapes
    /// every value gets.
    public mutating func key(_ name: StaticString) {
        separate()
        assert(name.withUTF8Buffer { !$0.contains { $0 >= 0x7F || JSONWriter.needsEscape($0) } }, "a member name to escape")
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        afterKey = true
    }

    public mutating func string(_ value: String) {
        separate()
        JSONWriter.writeString(value, to: &bytes)
    }

    /// A string whose `count` bytes `fill` writes: printable ASCII with nothing to escape (a
    /// timestamp, a code), written in place, without a `String` first.
    public mutating func plainString(count: Int, _ fill: (UnsafeMutableBufferPointer<UInt8>) -> Void) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: count))
        bytes.withUnsafeMutableBufferPointer { all in fill(UnsafeMutableBufferPointer(rebasing: all[start..<start + count])) }
        assert(bytes[start...].allSatisfy { $0 >= 0x20 && $0 < 0x7F && !JSONWriter.needsEscape($0) }, "a plain string to escape")
        bytes.append(UInt8(ascii: "\""))
    }

    public mutating func number(_ value: Double, isInteger: Bool) {
        separate()
        JSONWriter.writeNumber(value, isInteger: isInteger, to: &bytes)
    }

    public mutating func integer(_ value: Int) { number(Double(value), isInteger: true) }

    /// Like ``JSONValue/quantity(_:)``: an integer when it is one.
    public mutating func quantity(_ value: Double) { number(value, isInteger: value == value.rounded() && abs(value) < 1e15) }

    public mutating func bool(_ value: Bool) {
        separate()
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    public mutating func member(_ name: StaticString, _ value: String) {
        key(name)
        string(value)
    }

    public mutating func member(_ name: StaticString, quantity value: Double) {
        key(name)
        quantity(value)
    }

    public mutating func member(_ name: StaticString, integer value: Int) {
        key(name)
        integer(value)
    }

    public mutating func member(_ name: StaticString, bool value: Bool) {
        key(name)
        bool(value)
    }

    /// Any value, through the tree writer.
    public mutating func value(_ value: JSONValue) {
        separate()
        JSONWriter.write(value, to: &bytes)
    }
}
