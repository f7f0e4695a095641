import Ops
import Testing

@testable import Ops

@Suite("Order API settings: tokens and scopes from the file or the environment, the rate limit, idempotency")
struct OrderAPISettingsTests {
    let base = ["MILLWRIGHT_BOOTSTRAP_SERVERS": "localhost:9092"]

    func load(yaml: String? = nil, _ environment: [String: String] = [:]) throws(MillwrightConfiguration.Failure) -> OrderAPISettings {
        try MillwrightConfiguration.load(yaml: yaml, environment: base.merging(environment) { $1 }, overrides: .init()).api
    }

    @Test("Tokens from the environment and from the file, with their scopes; none by default")
    func tokens() throws {
        #expect(try load().tokens.isEmpty)
        // Set but empty (an unset Compose variable): no caller, even with its scopes.
        #expect(try load(["MILLWRIGHT_API_TOKEN_CRM": "", "MILLWRIGHT_API_SCOPES_CRM": "orders:read"]).tokens.isEmpty)
        let fromEnvironment = try load([
            "MILLWRIGHT_API_TOKEN_CRM": "crm-secret-0123456789", "MILLWRIGHT_API_SCOPES_CRM": "orders:write,orders:read",
            "MILLWRIGHT_API_RATE_LIMIT": "2.5", "MILLWRIGHT_API_RATE_BURST": "5",
        ])
        #expect(fromEnvironment.tokens == [.init(name: "crm", token: "crm-secret-0123456789", scopes: [.ordersWrite, .ordersRead])])
        #expect(fromEnvironment.rateLimit == 2.5 && fromEnvironment.rateBurst == 5)
        let yaml = """
            api:
              rateLimit: 50
              idempotencyRetention: 1h
              tokens:
                portal: { token: portal-secret-0123456, scopes: [orders:read] }
                erp: { token: erp-secret-01234567890, scopes: "erp:read orders:read" }
            """
        let fromFile = try load(yaml: yaml, ["MILLWRIGHT_API_TOKEN_PORTAL": "portal-from-environment-1"])
        #expect(fromFile.tokens.map(\.name) == ["erp", "portal"])
        #expect(fromFile.tokens[1].token == "portal-from-environment-1")  // the environment wins
        #expect(fromFile.tokens[0].scopes == [.erpRead, .ordersRead])
        #expect(fromFile.idempotencyRetention == .seconds(3_600))
        #expect(fromFile.token(bearer: "erp-secret-01234567890")?.name == "erp")
        #expect(fromFile.token(bearer: "erp-secret-0123456789") == nil)
    }

    @Test("Each bad token setting is refused naming the setting and the rule, never the token")
    func refusals() {
        let cases: [([String: String], String)] = [
            (["MILLWRIGHT_API_TOKEN_CRM": "short", "MILLWRIGHT_API_SCOPES_CRM": "orders:read"], "api.tokens.crm.token: at least 16"),
            (["MILLWRIGHT_API_TOKEN_CRM": "crm-secret-0123456789", "MILLWRIGHT_API_SCOPES_CRM": "orders:delete"], "'orders:delete' is not a scope"),
            (["MILLWRIGHT_API_TOKEN_CRM": "crm-secret-0123456789"], "api.tokens.crm.scopes: at least one"),
            (["MILLWRIGHT_API_SCOPES_CRM": "orders:read"], "api.tokens.crm.token: required"),
            (
                [
                    "MILLWRIGHT_API_TOKEN_A": "same-secret-0123456789", "MILLWRIGHT_API_SCOPES_A": "orders:read",
                    "MILLWRIGHT_API_TOKEN_B": "same-secret-0123456789", "MILLWRIGHT_API_SCOPES_B": "orders:read",
                ], "a and b have the same token"
            ),
            (["MILLWRIGHT_API_RATE_LIMIT": "0"], "api.rateLimit: requests per second"),
            (["MILLWRIGHT_API_RATE_BURST": "0"], "api.rateBurst: a whole number of at least 1"),
        ]
        for (environment, message) in cases {
            #expect {
                _ = try load(environment)
            } throws: { error in
                let text = "\(error)"
                return text.contains(message) && !text.contains("0123456789")
            }
        }
    }

    @Test("The rate limiter lets a burst through, then one request per 1/rate seconds, with Retry-After in whole seconds")
    func rateLimiter() {
        var limiter = RateLimiter(rate: 0.5, burst: 2)
        #expect(limiter.take("a", now: 0) == .allow)
        #expect(limiter.take("a", now: 0) == .allow)
        #expect(limiter.take("a", now: 0) == .refuse(retryAfter: 2))
        #expect(limiter.take("b", now: 0) == .allow)
        #expect(limiter.take("a", now: 1.5) == .refuse(retryAfter: 1))
        #expect(limiter.take("a", now: 2.1) == .allow)
    }

    @Test("The idempotency ledger forgets the oldest answers past its capacity")
    func ledgerCapacity() async throws {
        let ledger = IdempotencyLedger<Int>(retention: .seconds(3_600), capacity: 2) { _ in true }
        for n in 0..<3 {
            let outcome = try await ledger.answer(key: "k\(n)", fingerprint: [UInt8(n)]) { n }
            guard case .answer(n, replayed: false) = outcome else {
                Issue.record("k\(n): \(outcome)")
                return
            }
        }
        // k0 went when k2 came in over the capacity: worked out again.
        guard case .answer(10, replayed: false) = try await ledger.answer(key: "k0", fingerprint: [0], work: { 10 }) else {
            Issue.record("k0 was still remembered")
            return
        }
        guard case .answer(2, replayed: true) = try await ledger.answer(key: "k2", fingerprint: [2], work: { 20 }) else {
            Issue.record("k2 was forgotten")
            return
        }
        guard case .conflict = try await ledger.answer(key: "k2", fingerprint: [3], work: { 30 }) else {
            Issue.record("no conflict")
            return
        }
    }
}
