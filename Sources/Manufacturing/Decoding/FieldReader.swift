/// Reads the fields of one JSON object strictly, turning every problem into a
/// ``DecodingFailure`` that names the field's path and the rule.
public struct FieldReader: Sendable {
    public let object: JSONObject
    /// Path of this object (`data`, `data.components[2]`).
    public let path: String
    /// The reason any failure here gets (envelope vs data fields).
    public let reason: DeadLetterReason

    public init(_ object: JSONObject, path: String, reason: DeadLetterReason) {
        self.object = object
        self.path = path
        self.reason = reason
    }

    func fieldPath(_ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }

    func fail(_ name: String, _ rule: String) -> DecodingFailure {
        DecodingFailure(reason, field: fieldPath(name), rule: rule)
    }

    private func required(_ name: String) throws(DecodingFailure) -> JSONValue {
        guard let value = object[name], value != .null else { throw fail(name, "required, missing") }
        return value
    }

    /// A non-empty string (trimmed of surrounding white space).
    public func string(_ name: String) throws(DecodingFailure) -> String {
        guard let text = try optionalString(name) else { throw fail(name, "required, missing") }
        return text
    }

    public func optionalString(_ name: String) throws(DecodingFailure) -> String? {
        guard let value = object[name], value != .null else { return nil }
        guard case .string(let raw) = value else { throw fail(name, "must be a string, found \(value.kind)") }
        let text = raw.trimmed
        if text.isEmpty { throw fail(name, "must not be empty") }
        return text
    }

    /// A code: trimmed and upper-cased (plants, units of measure).
    public func code(_ name: String) throws(DecodingFailure) -> String { try string(name).asciiUppercased }

    public func int(_ name: String, minimum: Int? = nil) throws(DecodingFailure) -> Int {
        let value = try required(name)
        guard case .number(let n, let isInteger) = value else { throw fail(name, "must be an integer, found \(value.kind)") }
        guard isInteger || n == n.rounded(), abs(n) < 9e15 else { throw fail(name, "must be an integer, found \(n.plain)") }
        let result = Int(n)
        if let minimum, result < minimum { throw fail(name, "must be ≥ \(minimum), found \(result)") }
        return result
    }

    /// The largest quantity an input may carry: a billion of its unit. Larger is a mistake (a
    /// unit mixed up, an id in the wrong field), and sums of quantities this size stay exact and
    /// far from a `Double`'s range.
    public static let maxQuantity: Double = 1_000_000_000

    /// A quantity: a finite number ≥ 0 (> 0 when `positive`), not `-0`, and at most `maximum`
    /// (inputs pass ``maxQuantity``; `nil`: no bound, for what Millwright wrote itself).
    public func quantity(_ name: String, positive: Bool = false, maximum: Double? = nil) throws(DecodingFailure) -> Double {
        try quantity(of: try required(name), name, positive: positive, maximum: maximum)
    }

    /// ``quantity(_:positive:maximum:)``'s rules on the value of member `name` already in hand
    /// (for the members of an object read one by one, without looking each up again).
    public func quantity(of value: JSONValue, _ name: String, positive: Bool = false, maximum: Double? = nil) throws(DecodingFailure) -> Double {
        guard case .number(let n, _) = value else { throw fail(name, "must be a number, found \(value.kind)") }
        guard n.isFinite else {
            throw fail(name, "must be a finite number, found one beyond a double's range (\(n < 0 ? "-" : "")1.8e308)")
        }
        let shown = n == 0 && n.sign == .minus ? "-0" : n.plain
        if n.sign == .minus || positive && n == 0 { throw fail(name, positive ? "must be > 0, found \(shown)" : "must be ≥ 0, found \(shown)") }
        if let maximum, n > maximum { throw fail(name, "must be at most \(maximum.plain), found \(shown)") }
        return n
    }

    public func bool(_ name: String) throws(DecodingFailure) -> Bool {
        let value = try required(name)
        guard case .bool(let b) = value else { throw fail(name, "must be true or false, found \(value.kind)") }
        return b
    }

    /// An RFC 3339 UTC timestamp.
    public func timestamp(_ name: String) throws(DecodingFailure) -> Timestamp {
        let text = try string(name)
        do {
            return try Timestamp(rfc3339: text)
        } catch {
            switch error {
            case .notRFC3339: throw fail(name, "must be an RFC 3339 timestamp like 2026-11-27T08:15:00.000Z, found '\(text)'")
            case .notUTC: throw fail(name, "must be in UTC (ending in Z), found '\(text)'")
            case .outOfRange(let what): throw fail(name, "not a real date or time (\(what)): '\(text)'")
            }
        }
    }

    /// One of an enum's raw values (exact, upper case).
    public func value<E: RawRepresentable & CaseIterable>(_ name: String, _ type: E.Type) throws(DecodingFailure) -> E where E.RawValue == String {
        guard let result = try optionalValue(name, type) else { throw fail(name, "required, missing") }
        return result
    }

    public func optionalValue<E: RawRepresentable & CaseIterable>(_ name: String, _ type: E.Type) throws(DecodingFailure) -> E? where E.RawValue == String {
        guard let text = try optionalString(name) else { return nil }
        guard let result = E(rawValue: text) else {
            throw fail(name, "must be one of \(E.allCases.map(\.rawValue).joined(separator: ", ")), found '\(text)'")
        }
        return result
    }

    /// An array of non-empty strings; `[]` when the field is absent.
    public func strings(_ name: String) throws(DecodingFailure) -> [String] {
        guard let value = object[name], value != .null else { return [] }
        guard case .array(let elements) = value else { throw fail(name, "must be an array of strings, found \(value.kind)") }
        var strings: [String] = []
        for (i, element) in elements.enumerated() {
            guard case .string(let text) = element, !text.trimmed.isEmpty else {
                throw fail("\(name)[\(i)]", "must be a non-empty string, found \(element.kind)")
            }
            strings.append(text.trimmed)
        }
        return strings
    }

    /// An object whose members are all strings (settings); `[:]` when the field is absent.
    public func stringMap(_ name: String) throws(DecodingFailure) -> [String: String] {
        guard let value = object[name], value != .null else { return [:] }
        guard case .object(let members) = value else { throw fail(name, "must be an object of strings, found \(value.kind)") }
        var map: [String: String] = [:]
        for member in members.members {
            guard case .string(let text) = member.value else { throw fail("\(name).\(member.key)", "must be a string, found \(member.value.kind)") }
            map[member.key] = text
        }
        return map
    }

    public func object(_ name: String) throws(DecodingFailure) -> FieldReader {
        let value = try required(name)
        guard case .object(let inner) = value else { throw fail(name, "must be an object, found \(value.kind)") }
        return FieldReader(inner, path: fieldPath(name), reason: reason)
    }

    /// Each element of an array of objects, with its own reader (`name[i]`).
    public func objects(_ name: String, nonEmpty: Bool = false) throws(DecodingFailure) -> [FieldReader] {
        let value = try required(name)
        guard case .array(let elements) = value else { throw fail(name, "must be an array, found \(value.kind)") }
        if nonEmpty && elements.isEmpty { throw fail(name, "must not be empty") }
        var readers: [FieldReader] = []
        for (i, element) in elements.enumerated() {
            guard case .object(let inner) = element else { throw fail("\(name)[\(i)]", "must be an object, found \(element.kind)") }
            readers.append(FieldReader(inner, path: fieldPath("\(name)[\(i)]"), reason: reason))
        }
        return readers
    }
}

extension String {
    var trimmed: String {
        // Fast path: most values have no surrounding white space at all.
        if let first = utf8.first, let last = utf8.last, first > 0x20, last > 0x20, first < 0x80, last < 0x80 { return self }
        var view = Substring(self)
        while let first = view.first, first.isWhitespace { view.removeFirst() }
        while let last = view.last, last.isWhitespace { view.removeLast() }
        return String(view)
    }
}

extension String {
    /// Upper-cased; a string with no lower-case letters (most codes) is returned as it is.
    var asciiUppercased: String {
        if utf8.allSatisfy({ $0 < 0x80 && !(UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) }) { return self }
        return uppercased()
    }
}

extension Double {
    /// `120` rather than `120.0`; other values as Swift prints them.
    var plain: String { self == rounded() && abs(self) < 9e15 ? String(Int64(self)) : String(self) }
}
