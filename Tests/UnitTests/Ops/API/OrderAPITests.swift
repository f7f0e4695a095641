import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Manufacturing
import NIOCore
import Ops
import Streams
import Testing

/// Every status code of the order API through its handlers and middlewares, on a router with a
/// recording publisher (no broker).
@Suite("Order API handlers: every status code")
struct OrderAPITests {
    let uri = "/api/v1/order-requests"

    @Test("201: the normalised request, a correlationId and Location; one record on crm.order-request.v1 with the contract's headers")
    func accepted() async throws {
        let fixture = try OrderAPIFixture()
        let body = OrderAPIFixture.body(["plant": "p100", "uom": " ea ", "customerId": "  C-10077 ", "extra": "ignored"])
        try await fixture.test { client in
            try await client.execute(uri: uri, method: .post, headers: OrderAPIFixture.headers(), body: body) { response in
                #expect(response.status == .created)
                #expect(response.headers[.location] == "/api/v1/orders/4500099001/status")
                #expect(response.headers[HTTPField.Name("Idempotent-Replayed")!] == "false")
                let json = response.json
                #expect(json["status"] == "ACCEPTED")
                #expect(json["request"]?["plant"] == "P100")
                #expect(json["request"]?["uom"] == "EA")
                #expect(json["request"]?["customerId"] == "C-10077")
                #expect(json["request"]?["extra"] == nil)
                guard case .string(let correlationId)? = json["correlationId"] else {
                    Issue.record("no correlationId")
                    return
                }
                let records = fixture.publisher.records
                #expect(records.count == 1)
                let record = try #require(records.first)
                #expect(record.topic == "crm.order-request.v1")
                #expect(record.key.map { String(decoding: $0, as: UTF8.self) } == "4500099001")
                let event = try EventDecoder.decode(record.value, as: OrderRequest.self).get()
                #expect(event.metadata.correlationId == correlationId)
                #expect(event.metadata.source == EventSource(system: "CRM", plant: "P100"))
                #expect(event.data.plant == "P100" && event.data.uom == "EA" && event.data.quantity == 120)
                let headers = Dictionary(record.headers.map { ($0.key, $0.stringValue ?? "") }, uniquingKeysWith: { a, _ in a })
                #expect(headers["correlation-id"] == correlationId)
                #expect(headers["schema"] == "crm.order-request" && headers["schema-version"] == "1")
                #expect(headers["event-id"] == event.metadata.eventId && headers["causation-id"] == event.metadata.eventId)
                #expect(headers["requested-by"] == "crm")
            }
        }
    }

    @Test("The same key and body answer the first answer and publish nothing more; another body is 409")
    func idempotency() async throws {
        let fixture = try OrderAPIFixture()
        try await fixture.test { client in
            let first = try await client.execute(uri: uri, method: .post, headers: OrderAPIFixture.headers(), body: OrderAPIFixture.body())
            #expect(first.status == .created)
            // Formatted differently and with the codes in lower case: the same request once normalised.
            let same = try await client.execute(
                uri: uri, method: .post, headers: OrderAPIFixture.headers(), body: OrderAPIFixture.body(["uom": "ea", "extra": .bool(true)]))
            #expect(same.status == .created)
            #expect(same.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            #expect(same.json["correlationId"] == first.json["correlationId"])
            let other = try await client.execute(
                uri: uri, method: .post, headers: OrderAPIFixture.headers(), body: OrderAPIFixture.body(["quantity": .number(121, isInteger: true)]))
            #expect(other.status == .conflict)
            #expect(other.headers[.contentType] == "application/problem+json")
            #expect(other.json["status"] == .number(409, isInteger: true))
            // Another caller's key of the same name is its own.
            let elsewhere = try await client.execute(
                uri: uri, method: .post, headers: OrderAPIFixture.headers(), body: OrderAPIFixture.body(["orderId": "4500099002"]))
            #expect(elsewhere.status == .conflict)
            let newKey = try await client.execute(
                uri: uri, method: .post, headers: OrderAPIFixture.headers(key: "key-2"), body: OrderAPIFixture.body(["orderId": "4500099002"]))
            #expect(newKey.status == .created)
        }
        #expect(fixture.publisher.records.count == 2)
    }

    @Test("50 concurrent identical requests with one key publish exactly one record and all get its correlationId")
    func concurrentIdentical() async throws {
        let fixture = try OrderAPIFixture(publisher: RecordingPublisher(delay: .milliseconds(50)))
        try await fixture.test { client in
            let answers = try await withThrowingTaskGroup(of: (HTTPResponse.Status, JSONValue?).self) { group in
                for _ in 0..<50 {
                    group.addTask {
                        let response = try await client.execute(
                            uri: uri, method: .post, headers: OrderAPIFixture.headers(key: "one-key"), body: OrderAPIFixture.body())
                        return (response.status, response.json["correlationId"])
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(answers.count == 50)
            #expect(answers.allSatisfy { $0.0 == .created })
            #expect(Set(answers.map { $0.1 }).count == 1)
        }
        #expect(fixture.publisher.records.count == 1)
    }

    @Test("422 lists every broken rule of the canonical model (field, rule, INVALID_FIELD); nothing is published")
    func invalidFields() async throws {
        let fixture = try OrderAPIFixture()
        let body = OrderAPIFixture.body(
            ["quantity": "120", "dueDate": "2026-13-01T00:00:00Z", "priority": "URGENT", "orderLine": .number(1.5, isInteger: false), "plant": "P.100"],
            removing: ["itemId"])
        try await fixture.test { client in
            try await client.execute(uri: uri, method: .post, headers: OrderAPIFixture.headers(), body: body) { response in
                #expect(response.status == .unprocessableContent)
                #expect(response.headers[.contentType] == "application/problem+json")
                guard case .array(let errors)? = response.json["errors"] else {
                    Issue.record("no errors")
                    return
                }
                let fields = errors.compactMap { error -> String? in
                    guard case .string(let field)? = error["field"] else { return nil }
                    return field
                }
                #expect(Set(fields) == ["orderLine", "itemId", "quantity", "plant", "dueDate", "priority"])
                #expect(errors.allSatisfy { $0["reason"] == "INVALID_FIELD" && $0["rule"] != nil })
            }
            try await client.execute(uri: uri, method: .post, headers: OrderAPIFixture.headers(), body: ByteBuffer(string: "[1,2")) { response in
                #expect(response.status == .unprocessableContent)
                #expect(response.json.firstError?["reason"] == "MALFORMED_JSON")
            }
        }
        #expect(fixture.publisher.records.isEmpty)
    }

    @Test("422 lists every failing master-data check with the contract's reason codes")
    func masterDataProblems() async throws {
        let fixture = try OrderAPIFixture()
        try await fixture.test { client in
            let body = OrderAPIFixture.body(["bomRevision": "C", "uom": "KG", "plant": "P999"])
            try await client.execute(uri: uri, method: .post, headers: OrderAPIFixture.headers(), body: body) { response in
                #expect(response.status == .unprocessableContent)
                guard case .array(let errors)? = response.json["errors"] else {
                    Issue.record("no errors")
                    return
                }
                let reasons = errors.map { [$0["field"], $0["reason"]] }
                #expect(
                    reasons == [
                        ["plant", "UNKNOWN_PLANT"], ["bomRevision", "UNKNOWN_BOM_REVISION"], ["plant", "NO_ROUTING"], ["uom", "UOM_NOT_CONVERTIBLE"],
                    ])
            }
            // Refusals are not remembered: the same key may be used again with a fixed request.
            let fixed = try await client.execute(uri: uri, method: .post, headers: OrderAPIFixture.headers(), body: OrderAPIFixture.body())
            #expect(fixed.status == .created)
        }
        #expect(fixture.publisher.records.count == 1)
    }

    @Test("400 without an Idempotency-Key or with a malformed one, naming the header")
    func missingKey() async throws {
        try await OrderAPIFixture().test { client in
            for key in [nil, "has space", String(repeating: "k", count: 256)] {
                try await client.execute(uri: uri, method: .post, headers: OrderAPIFixture.headers(key: key), body: OrderAPIFixture.body()) { response in
                    #expect(response.status == .badRequest)
                    #expect(response.json.firstError?["field"] == "Idempotency-Key")
                }
            }
        }
    }

    @Test("401 without a token or with an unknown one (WWW-Authenticate), 403 without the scope")
    func access() async throws {
        try await OrderAPIFixture().test { client in
            for token in [nil, "not-a-configured-token"] {
                try await client.execute(uri: uri, method: .post, headers: OrderAPIFixture.headers(token: token), body: OrderAPIFixture.body()) { response in
                    #expect(response.status == .unauthorized)
                    #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
                    #expect(response.headers[.contentType] == "application/problem+json")
                }
            }
            try await client.execute(
                uri: uri, method: .post, headers: OrderAPIFixture.headers(token: OrderAPIFixture.reader), body: OrderAPIFixture.body()
            ) { response in
                #expect(response.status == .forbidden)
                #expect(response.json["detail"].map { "\($0)".contains("orders:write") } == true)
            }
            try await client.execute(uri: "/api/v1/orders/4500012345/status/erp", method: .get, headers: [.authorization: "Bearer \(OrderAPIFixture.reader)"]) {
                #expect($0.status == .forbidden)
            }
            try await client.execute(uri: "/api/v1/orders/4500012345/status", method: .get, headers: [.authorization: "Basic abc"]) {
                #expect($0.status == .unauthorized)
            }
        }
    }

    @Test("413 for a body over the limit (64 KB by default), 415 for another content type")
    func bodyLimits() async throws {
        try await OrderAPIFixture().test { client in
            let large = OrderAPIFixture.body(["customerName": .string(String(repeating: "x", count: 70_000))])
            try await client.execute(uri: uri, method: .post, headers: OrderAPIFixture.headers(), body: large) { response in
                #expect(response.status == .contentTooLarge)
            }
            try await client.execute(uri: uri, method: .post, headers: OrderAPIFixture.headers(contentType: "text/plain"), body: OrderAPIFixture.body()) {
                #expect($0.status == .unsupportedMediaType)
            }
        }
    }

    @Test("429 with Retry-After once a token's burst is spent; another token is not affected")
    func rateLimit() async throws {
        try await OrderAPIFixture(rateLimit: 0.01, rateBurst: 2).test { client in
            let reader = HTTPFields([.init(name: .authorization, value: "Bearer \(OrderAPIFixture.reader)")])
            for _ in 0..<2 {
                try await client.execute(uri: "/api/v1/orders/4500012345/status", method: .get, headers: reader) { #expect($0.status == .ok) }
            }
            try await client.execute(uri: "/api/v1/orders/4500012345/status", method: .get, headers: reader) { response in
                #expect(response.status == .tooManyRequests)
                #expect(response.headers[HTTPField.Name("Retry-After")!].flatMap { Int($0) }.map { $0 >= 1 } == true)
            }
            try await client.execute(uri: "/api/v1/orders/4500012345/status", method: .get, headers: [.authorization: "Bearer \(OrderAPIFixture.erp)"]) {
                #expect($0.status == .ok)
            }
        }
    }

    @Test("503 with Retry-After while master data loads, and when the publish fails; the same key then works")
    func unavailable() async throws {
        let fixture = try OrderAPIFixture()
        try await fixture.test { client in
            fixture.readyFlag.set(false)
            try await client.execute(uri: uri, method: .post, headers: OrderAPIFixture.headers(), body: OrderAPIFixture.body()) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[HTTPField.Name("Retry-After")!] == "1")
            }
            fixture.readyFlag.set(true)
            fixture.publisher.fail(true)
            try await client.execute(uri: uri, method: .post, headers: OrderAPIFixture.headers(), body: OrderAPIFixture.body()) {
                #expect($0.status == .serviceUnavailable)
            }
            fixture.publisher.fail(false)
            try await client.execute(uri: uri, method: .post, headers: OrderAPIFixture.headers(), body: OrderAPIFixture.body()) {
                #expect($0.status == .created)
            }
        }
        #expect(fixture.publisher.records.count == 1)
    }

    @Test("GET status: 503 with Retry-After for an order not found while the status table loads; a status it has is answered")
    func statusLoading() async throws {
        try await OrderAPIFixture(statusLoading: true).test { client in
            let reader: HTTPFields = [.authorization: "Bearer \(OrderAPIFixture.reader)"]
            try await client.execute(uri: "/api/v1/orders/4599999999/status", method: .get, headers: reader) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[HTTPField.Name("Retry-After")!] == "1")
            }
            try await client.execute(uri: "/api/v1/orders/4500012345/status", method: .get, headers: reader) { #expect($0.status == .ok) }
        }
    }

    @Test("GET status: CRM's masked view with an ETag, 304 for If-None-Match, 404 for an unknown order; the ERP view with erp:read")
    func status() async throws {
        try await OrderAPIFixture().test { client in
            let reader: HTTPFields = [.authorization: "Bearer \(OrderAPIFixture.reader)"]
            let first = try await client.execute(uri: "/api/v1/orders/4500012345/status", method: .get, headers: reader)
            #expect(first.status == .ok)
            let etag = try #require(first.headers[.eTag])
            let json = first.json
            #expect(json["status"] == "IN_PRODUCTION" && json["correlationId"] == "crm-req-4711")
            guard case .object(let members) = json else {
                Issue.record("not an object")
                return
            }
            #expect(
                Set(members.members.map(\.key)) == ["orderId", "status", "progressPct", "atRisk", "riskReasons", "dueDate", "updatedAt", "correlationId"])
            var conditional = reader
            conditional[.ifNoneMatch] = "\"other\", \(etag)"
            try await client.execute(uri: "/api/v1/orders/4500012345/status", method: .get, headers: conditional) { response in
                #expect(response.status == .notModified)
                #expect(response.headers[.eTag] == etag)
            }
            #expect(etag.hasPrefix("\"") && etag.hasSuffix("\"") && etag.count == 18)
            conditional[.ifNoneMatch] = "\"other\""
            try await client.execute(uri: "/api/v1/orders/4500012345/status", method: .get, headers: conditional) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/v1/orders/4599999999/status", method: .get, headers: reader) { response in
                #expect(response.status == .notFound)
                #expect(response.headers[.contentType] == "application/problem+json")
            }
            try await client.execute(uri: "/api/v1/orders/4500012345/status/erp", method: .get, headers: [.authorization: "Bearer \(OrderAPIFixture.erp)"]) {
                response in
                #expect(response.status == .ok)
                #expect(response.json["workOrderId"] == "WO-4500012345-10" && response.json["scrapQty"] != nil)
                #expect(response.headers[.eTag] != nil && response.headers[.eTag] != etag)
            }
        }
    }
}
