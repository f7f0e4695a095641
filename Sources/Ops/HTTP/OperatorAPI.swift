import Foundation
import HTTPTypes
import Hummingbird
import Kafka
import Logging
import Manufacturing
import NIOCore

/// The operators' actions over HTTP, on the worker's server, under `/api/v1`: the same tools as
/// `millwright quarantine`, `dlq` and `offsets show`. Reads need the read token or the admin
/// token, actions the admin token (`Authorization: Bearer …`): 401 without a token, 403 with a
/// wrong one, or when no token of that kind is configured. Every executed action is audited on
/// `ops.audit.v1` as `api-admin@<host of the worker>`.
///
/// - `GET /api/v1/quarantine[?reason=&plant=&all=true]`
/// - `POST /api/v1/quarantine/release` `{"id": …}` or `{"reason": …, "plant": …}`, `"execute": true`
/// - `GET /api/v1/dead-letters[?reason=&topic=&all=true]`
/// - `POST /api/v1/dead-letters/redrive` `{"id": …}` or `{"reason": …, "topic": …}`, `"execute": true`
/// - `GET /api/v1/offsets`: committed offset, end and lag per input partition of each processor group
/// - the console and its actions (``addConsoleRoutes(to:)``): `/console`, `/api/v1/console…`,
///   `POST /api/v1/offsets/reset`, `POST /api/v1/quarantine/approve|reject`
public struct OperatorAPI: Sendable {
    public var client: KafkaClientConfiguration
    /// The consumer group prefix of the workers.
    public var group: String
    public var readToken: String?
    public var adminToken: String?
    public var logger: Logger
    /// The console's view of the outputs; `nil`: the console shows no throughput, lag
    /// percentiles nor at-risk orders.
    public var feed: ConsoleFeed?
    /// The processors this process runs (a worker's): their groups have a live member here, so a
    /// reset of them is refused without trying.
    public var localProcessors: Set<String>

    public init(
        client: KafkaClientConfiguration, group: String, readToken: String?, adminToken: String?, logger: Logger, feed: ConsoleFeed? = nil,
        localProcessors: Set<String> = []
    ) {
        self.feed = feed
        self.localProcessors = localProcessors
        self.client = client
        self.group = group
        self.readToken = readToken
        self.adminToken = adminToken
        self.logger = logger
    }

    enum Access { case read, admin }

    /// `nil` when the request may go on; otherwise the refusal.
    func refusal(_ request: Request, _ access: Access) -> Response? {
        guard let header = request.headers[.authorization] else {
            return Self.problem(.unauthorized, "a bearer token is required (Authorization: Bearer …)", headers: [.wwwAuthenticate: "Bearer"])
        }
        guard header.hasPrefix("Bearer ") else { return Self.problem(.unauthorized, "the Authorization header must be `Bearer <token>`") }
        let token = String(header.dropFirst("Bearer ".count))
        let allowed = access == .admin ? [adminToken] : [readToken, adminToken]
        guard allowed.contains(where: { $0 != nil && $0 == token }) else {
            let configured = allowed.contains { $0 != nil }
            return Self.problem(
                .forbidden,
                configured
                    ? "this token may not \(access == .admin ? "act" : "read")"
                    : "no \(access == .admin ? "admin" : "read") token is configured (http.\(access == .admin ? "adminToken" : "readToken"))")
        }
        return nil
    }

    func addRoutes(to router: Router<BasicRequestContext>) {
        addConsoleRoutes(to: router)
        let api = router.group("api/v1")
        api.get("quarantine") { request, _ -> Response in
            if let refusal = refusal(request, .read) { return refusal }
            let query = request.uri.queryParameters
            let all = query["all"] == "true"
            let entries = try await quarantine().list().filter { entry in
                (all || entry.state == "open") && (query["reason"].map { entry.reason.rawValue == String($0) } ?? true)
                    && (query["plant"].map { entry.plant == String($0) } ?? true)
            }
            return Self.json(.ok, ["entries": .array(entries.map(Self.json))])
        }
        api.post("quarantine/release") { request, context -> Response in
            if let refusal = refusal(request, .admin) { return refusal }
            let body = try await Self.body(request, context)
            guard body["id"] != nil || body["reason"] != nil else { return Self.problem(.unprocessableContent, "name the entries: id, or reason (and plant)") }
            let tool = quarantine(actor: true)
            let entries = try await tool.list().filter { entry in
                (body["id"].map { $0 == .string(entry.id) } ?? true) && (body["reason"].map { $0 == .string(entry.reason.rawValue) } ?? true)
                    && (body["plant"].map { $0 == entry.plant.map(JSONValue.string) } ?? true)
            }
            guard !entries.isEmpty else { return Self.problem(.notFound, "no quarantine entry matches") }
            let outcomes = try await tool.release(entries, execute: body["execute"] == .bool(true))
            return Self.json(.ok, ["executed": .bool(body["execute"] == .bool(true)), "outcomes": .array(outcomes.map(Self.json))])
        }
        api.get("dead-letters") { request, _ -> Response in
            if let refusal = refusal(request, .read) { return refusal }
            let query = request.uri.queryParameters
            let all = query["all"] == "true"
            let entries = try await deadLetters().list().filter { entry in
                (all || entry.state == "open") && (query["reason"].map { entry.reason == String($0) } ?? true)
                    && (query["topic"].map { entry.originalTopic == String($0) } ?? true)
            }
            return Self.json(.ok, ["entries": .array(entries.map(Self.json))])
        }
        api.post("dead-letters/redrive") { request, context -> Response in
            if let refusal = refusal(request, .admin) { return refusal }
            let body = try await Self.body(request, context)
            guard body["id"] != nil || body["reason"] != nil || body["topic"] != nil else {
                return Self.problem(.unprocessableContent, "name the dead letters: id, reason or topic")
            }
            let tool = deadLetters(actor: true)
            let entries = try await tool.list().filter { entry in
                (body["id"].map { $0 == .string(entry.id) } ?? true) && (body["reason"].map { $0 == .string(entry.reason) } ?? true)
                    && (body["topic"].map { $0 == .string(entry.originalTopic) } ?? true)
            }
            guard !entries.isEmpty else { return Self.problem(.notFound, "no dead letter matches") }
            let (redriven, skipped, truncated) = try await tool.redrive(entries, execute: body["execute"] == .bool(true))
            return Self.json(
                .ok,
                [
                    "executed": .bool(body["execute"] == .bool(true)), "redriven": .array(redriven.map(JSONValue.string)),
                    "alreadyRedriven": .array(skipped.map(JSONValue.string)), "truncated": .array(truncated.map(JSONValue.string)),
                ])
        }
        api.get("offsets") { request, _ -> Response in
            if let refusal = refusal(request, .read) { return refusal }
            let reset = OffsetReset(client: client, logger: logger)
            var groups: [JSONValue] = []
            for processor in OffsetReset.inputs.keys.sorted() {
                let lags = try await reset.lag(group: "\(group).\(processor)", topics: OffsetReset.topics(of: processor, group: group))
                groups.append([
                    "group": .string("\(group).\(processor)"), "lag": .number(Double(lags.reduce(0) { $0 + $1.lag }), isInteger: true),
                    "partitions": .array(
                        lags.map { lag in
                            [
                                "topic": .string(lag.partition.topic), "partition": .number(Double(lag.partition.partition), isInteger: true),
                                "committed": lag.committed.map { .number(Double($0), isInteger: true) } ?? .null,
                                "end": .number(Double(lag.end), isInteger: true), "lag": .number(Double(lag.lag), isInteger: true),
                            ]
                        }),
                ])
            }
            return Self.json(.ok, ["groups": .array(groups)])
        }
    }

    func quarantine(actor: Bool = false) -> QuarantineTool {
        QuarantineTool(client: client, logger: logger, group: "\(group).release", actor: actor ? "api-admin" : nil)
    }

    func deadLetters(actor: Bool = false) -> DeadLetterTool {
        DeadLetterTool(client: client, logger: logger, group: group, actor: actor ? "api-admin" : nil)
    }

    // MARK: JSON

    static func body(_ request: Request, _ context: BasicRequestContext) async throws -> JSONValue {
        let buffer = try await request.body.collect(upTo: 64 * 1024)
        guard let value = try? JSONParser.parse(Array(buffer.readableBytesView)), case .object = value else {
            throw HTTPError(.unprocessableContent, message: "the body must be a JSON object")
        }
        return value
    }

    static func json(_ status: HTTPResponse.Status, _ value: JSONValue) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: JSONWriter.bytes(value) + [0x0A])))
    }

    /// RFC 9457 problem details.
    static func problem(_ status: HTTPResponse.Status, _ detail: String, headers: HTTPFields = [:]) -> Response {
        var response = json(
            status,
            ["type": "about:blank", "title": .string(status.reasonPhrase), "status": .number(Double(status.code), isInteger: true), "detail": .string(detail)])
        response.headers[.contentType] = "application/problem+json"
        for field in headers { response.headers.append(field) }
        return response
    }

    static func json(_ entry: QuarantineEntry) -> JSONValue {
        [
            "id": .string(entry.id), "reason": .string(entry.reason.rawValue), "plant": entry.plant.map(JSONValue.string) ?? .null,
            "key": entry.key.map(JSONValue.string) ?? .null, "quarantinedAt": .string(entry.quarantinedAt.rfc3339),
            "state": .string(entry.state), "correlationId": .string(entry.correlationId), "detail": .string(entry.detail),
            "originalTopic": .string(entry.originalTopic),
        ]
    }

    static func json(_ entry: DeadLetterEntry) -> JSONValue {
        [
            "id": .string(entry.id), "reason": .string(entry.reason), "error": .string(entry.error), "originalTopic": .string(entry.originalTopic),
            "originalPartition": .string(entry.originalPartition), "originalOffset": .string(entry.originalOffset), "state": .string(entry.state),
            "truncatedFrom": entry.truncatedFrom.map { .number(Double($0), isInteger: true) } ?? .null,
        ]
    }

    static func json(_ outcome: QuarantineTool.Outcome) -> JSONValue {
        switch outcome {
        case .released(let id): return ["id": .string(id), "outcome": "released"]
        case .stillFails(let id, let reason, let detail):
            return ["id": .string(id), "outcome": "stillFails", "reason": .string(reason.rawValue), "detail": .string(detail)]
        case .alreadyHandled(let id, let state): return ["id": .string(id), "outcome": "alreadyHandled", "state": .string(state)]
        case .notReleasable(let id, let why): return ["id": .string(id), "outcome": "notReleasable", "detail": .string(why)]
        }
    }
}
