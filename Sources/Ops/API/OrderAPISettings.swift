/// The order API's settings (`api.*`): who may call it and how often. Validated by
/// ``MillwrightConfiguration/load(yaml:environment:overrides:httpHost:)``.
public struct OrderAPISettings: Sendable, Hashable {
    /// What a token may do: submit requests, read CRM status, read ERP status.
    public enum Scope: String, Sendable, Hashable, CaseIterable {
        case ordersWrite = "orders:write"
        case ordersRead = "orders:read"
        case erpRead = "erp:read"
    }

    /// A caller: its name (in logs and the audit of requests), its bearer token (never logged)
    /// and its scopes.
    public struct Token: Sendable, Hashable {
        /// Letters, digits, `-`, `_`.
        public var name: String
        /// The bearer value, at least 16 characters.
        public var token: String
        /// At least one.
        public var scopes: Set<Scope>

        public init(name: String, token: String, scopes: Set<Scope>) {
            self.name = name
            self.token = token
            self.scopes = scopes
        }
    }

    /// The callers (`api.tokens.<name>.token|scopes`, `MILLWRIGHT_API_TOKEN_<NAME>` and
    /// `MILLWRIGHT_API_SCOPES_<NAME>`). Default none: every operation answers 401.
    public var tokens: [Token] = []
    /// Requests per second each token may make, on average. Default 100.
    public var rateLimit: Double = 100
    /// How many requests a token may make at once above the average (the bucket). Default 200.
    public var rateBurst: Int = 200
    /// The largest request body. 64 KB; larger is 413.
    public var maxBodyBytes = 64 * 1024
    /// How long an answer is kept for its `Idempotency-Key`. Default 24 h.
    public var idempotencyRetention: Duration = .seconds(24 * 3_600)
    /// At most this many keys are kept (the oldest go first). Default 100,000.
    public var idempotencyCapacity = 100_000

    public init() {}

    /// The token with this bearer value, compared in constant time per token.
    public func token(bearer: String) -> Token? { token(bearer: Array(bearer.utf8)[...]) }

    /// The token with these bearer bytes (trailing spaces ignored), compared in constant time per token.
    func token(bearer: ArraySlice<UInt8>) -> Token? {
        var given = bearer
        while given.last == 0x20 { given.removeLast() }
        let start = given.startIndex
        var found: Token?
        for candidate in tokens {
            let expected = Array(candidate.token.utf8)
            var difference = UInt8(expected.count == given.count ? 0 : 1)
            for index in expected.indices { difference |= expected[index] ^ (index < given.count ? given[start + index] : 0) }
            if difference == 0 { found = candidate }
        }
        return found
    }

    /// Reads `api.tokens` entries: `name → (token, scopes)`, scopes separated by commas or spaces.
    static func token(name: String, token: String?, scopes: String?) throws(MillwrightConfiguration.Failure) -> Token {
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            throw .init("api.tokens: a token's name is letters, digits, - and _ (got '\(name)')")
        }
        guard let token, !token.isEmpty else {
            throw .init("api.tokens.\(name).token: required (or MILLWRIGHT_API_TOKEN_\(name.uppercased()))")
        }
        guard token.count >= 16, token.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "," }) else {
            throw .init("api.tokens.\(name).token: at least 16 visible ASCII characters (a random secret), without spaces or commas")
        }
        var parsed: Set<Scope> = []
        for word in (scopes ?? "").split(whereSeparator: { $0 == "," || $0 == " " }) {
            guard let scope = Scope(rawValue: String(word)) else {
                throw .init(
                    "api.tokens.\(name).scopes: '\(word)' is not a scope (known: \(Scope.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            parsed.insert(scope)
        }
        guard !parsed.isEmpty else {
            throw .init("api.tokens.\(name).scopes: at least one of \(Scope.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return Token(name: name, token: token, scopes: parsed)
    }
}
