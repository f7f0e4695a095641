import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Kafka
import Manufacturing
import NIOCore
import Ops
import Streams
import TestSupport
import Testing

@Suite("The operator API under /api/v1: tokens, and its answers on the in-process cluster")
struct OperatorAPITests {
    private struct NoHealth: HealthSource {
        func healthSnapshot() -> HealthSnapshot {
            HealthSnapshot(masterData: .init(started: true, caughtUp: true, failure: nil, progress: []), workers: [])
        }
    }

    func test(
        bootstrap: String = "127.0.0.1:1", read: String? = "r-token", admin: String? = "a-token", localProcessors: Set<String> = [],
        _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        let api = OperatorAPI(
            client: KafkaClientConfiguration(bootstrapServers: bootstrap), group: TestKafka.uniqueName("api"), readToken: read, adminToken: admin,
            logger: TestKafka.logger("api"), localProcessors: localProcessors)
        let endpoints = OpsEndpoints(health: NoHealth(), metrics: nil, livenessTimeout: .seconds(60), operatorAPI: api)
        try await Application(router: endpoints.router()).test(.router, body)
    }

    @Test("401 without a token (WWW-Authenticate: Bearer), 403 with a wrong one, 403 for a read token on an action, 403 when no admin token is configured")
    func tokens() async throws {
        try await test { client in
            try await client.execute(uri: "/api/v1/quarantine", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate] == "Bearer")
                #expect(response.headers[.contentType] == "application/problem+json")
            }
            try await client.execute(uri: "/api/v1/quarantine", method: .get, headers: [.authorization: "Bearer nope"]) { response in
                #expect(response.status == .forbidden)
            }
            try await client.execute(
                uri: "/api/v1/quarantine/release", method: .post, headers: [.authorization: "Bearer r-token"],
                body: ByteBuffer(string: #"{"reason":"UNKNOWN_PLANT"}"#)
            ) { response in
                #expect(response.status == .forbidden, "a read token may not act")
                #expect(String(buffer: response.body).contains("may not act"))
            }
        }
        try await test(admin: nil) { client in
            try await client.execute(
                uri: "/api/v1/dead-letters/redrive", method: .post, headers: [.authorization: "Bearer r-token"], body: ByteBuffer(string: "{}")
            ) { response in
                #expect(response.status == .forbidden)
                #expect(String(buffer: response.body).contains("no admin token is configured"))
            }
        }
    }

    @Test("with the tokens: lists, a 404 for no match, a 422 for a body that names nothing, offsets per group")
    func answers() async throws {
        let cluster = try TestKafka.cluster()
        for topic in [Topics.quarantine, DeadLetter.topic, Topics.audit] { try cluster.createTopic(topic, partitions: 3) }
        for topic in OffsetReset.inputs.values.flatMap({ $0 }) { try cluster.createTopic(topic, partitions: 2) }
        try await test(bootstrap: cluster.bootstrapServers) { client in
            try await client.execute(uri: "/api/v1/quarantine", method: .get, headers: [.authorization: "Bearer r-token"]) { response in
                #expect(response.status == .ok)
                let body = try JSONParser.parse(Array(response.body.readableBytesView))
                #expect(body["entries"] == .array([]))
            }
            try await client.execute(uri: "/api/v1/dead-letters", method: .get, headers: [.authorization: "Bearer a-token"]) { response in
                #expect(response.status == .ok, "the admin token reads too")
            }
            try await client.execute(
                uri: "/api/v1/quarantine/release", method: .post, headers: [.authorization: "Bearer a-token"], body: ByteBuffer(string: #"{"execute":true}"#)
            ) { response in
                #expect(response.status == .unprocessableContent)
            }
            try await client.execute(
                uri: "/api/v1/dead-letters/redrive", method: .post, headers: [.authorization: "Bearer a-token"],
                body: ByteBuffer(string: #"{"id":"ops.dead-letter.v1/0/7"}"#)
            ) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/api/v1/offsets", method: .get, headers: [.authorization: "Bearer r-token"]) { response in
                #expect(response.status == .ok)
                let body = try JSONParser.parse(Array(response.body.readableBytesView))
                guard case .array(let groups)? = body["groups"] else {
                    Issue.record("no groups: \(body)")
                    return
                }
                #expect(groups.count == 2, "release and confirmation")
            }
        }
        withExtendedLifetime(cluster) {}
    }

    @Test("the console page is served without a token but holds no data (strict CSP, no external assets); its data needs the read token")
    func consolePage() async throws {
        try await test { client in
            try await client.execute(uri: "/console/P100", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                #expect(response.headers[.contentSecurityPolicy]?.contains("default-src 'none'") == true)
                #expect(response.headers[.contentSecurityPolicy]?.contains("connect-src 'self'") == true)
                let html = String(buffer: response.body)
                #expect(html.contains("/api/v1/console/"))
                #expect(!html.contains("src=\"http") && !html.contains("href=\"http"), "no external assets")
            }
            try await client.execute(uri: "/api/v1/console/P100", method: .get) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/api/v1/console", method: .get, headers: [.authorization: "Bearer nope"]) { response in
                #expect(response.status == .forbidden)
            }
        }
    }

    @Test(
        "a replay over the API: the admin token only; a bad processor or target is a 422 naming the field; a preview changes nothing; a worker refuses to execute a reset of its own group (409)"
    )
    func replay() async throws {
        let cluster = try TestKafka.cluster()
        for topic in [Topics.audit] { try cluster.createTopic(topic, partitions: 3) }
        for topic in OffsetReset.inputs.values.flatMap({ $0 }) { try cluster.createTopic(topic, partitions: 2) }
        try await test(bootstrap: cluster.bootstrapServers, localProcessors: ["release", "confirmation"]) { client in
            let body = #"{"processor":"release","to":"earliest"}"#
            try await client.execute(uri: "/api/v1/offsets/reset", method: .post, headers: [.authorization: "Bearer r-token"], body: ByteBuffer(string: body)) {
                response in
                #expect(response.status == .forbidden, "a read token may not replay")
            }
            try await client.execute(
                uri: "/api/v1/offsets/reset", method: .post, headers: [.authorization: "Bearer a-token"],
                body: ByteBuffer(string: #"{"processor":"shipping","to":"earliest"}"#)
            ) { response in
                #expect(response.status == .unprocessableContent)
                #expect(String(buffer: response.body).contains("processor: one of confirmation, release"))
            }
            try await client.execute(
                uri: "/api/v1/offsets/reset", method: .post, headers: [.authorization: "Bearer a-token"],
                body: ByteBuffer(string: #"{"processor":"release","to":"yesterday"}"#)
            ) { response in
                #expect(response.status == .unprocessableContent)
                #expect(String(buffer: response.body).contains("to: --to yesterday: expected earliest"))
            }
            try await client.execute(uri: "/api/v1/offsets/reset", method: .post, headers: [.authorization: "Bearer a-token"], body: ByteBuffer(string: body)) {
                response in
                #expect(response.status == .ok)
                let json = try JSONParser.parse(Array(response.body.readableBytesView))
                #expect(json["executed"] == .bool(false))
                guard case .array(let plan)? = json["plan"] else {
                    Issue.record("no plan: \(json)")
                    return
                }
                #expect(plan.count == 2, "one change per partition of erp.order-approved.v1")
            }
            try await client.execute(
                uri: "/api/v1/offsets/reset", method: .post, headers: [.authorization: "Bearer a-token"],
                body: ByteBuffer(string: #"{"processor":"release","to":"earliest","execute":true}"#)
            ) { response in
                #expect(response.status == .conflict)
                #expect(String(buffer: response.body).contains("this worker runs release"))
            }
        }
        let admin = try KafkaAdminClient(configuration: KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers), logger: TestKafka.logger("marks"))
        var audited: Int64 = 0
        for partition in Int32(0)..<3 { audited += try await admin.watermarks(KafkaTopicPartition(topic: Topics.audit, partition: partition)).high }
        #expect(audited == 0, "nothing was executed, nothing audited")
        withExtendedLifetime(cluster) {}
    }
}
