import Foundation
import HTTPTypes
import Hummingbird
import Kafka
import Logging
import Manufacturing
import NIOCore

/// The console's routes on the operator API's server:
///
/// - `GET /console`, `GET /console/{plant}`: the page (``ConsolePage``). It holds no data: its
///   script asks the JSON API below with the operator's token, so the page itself needs none.
/// - `GET /api/v1/console`: the plants (read token).
/// - `GET /api/v1/console/{plant}`: everything the page shows of one plant (read token).
/// - `POST /api/v1/offsets/reset` `{"processor", "to", "topic"?, "execute"?}`: the replay plan,
///   applied with `"execute": true` (admin token; audited). Refused with 409 by a worker that
///   runs that processor itself: its group has a live member (this worker).
/// - `POST /api/v1/quarantine/approve` and `/reject` `{"id", "execute"?}`: a posting held back as
///   OVER_CONFIRMATION posted once, or closed (admin token; audited).
extension OperatorAPI {
    /// The quarantine's age buckets, as the page shows them.
    static let ageBuckets: [(label: String, upTo: Int64)] = [
        ("< 1 h", 3_600_000), ("1–24 h", 86_400_000), ("1–7 d", 7 * 86_400_000), ("> 7 d", .max),
    ]

    func addConsoleRoutes(to router: Router<BasicRequestContext>) {
        router.get("console") { _, _ in ConsolePage.response() }
        router.get("console/{plant}") { _, _ in ConsolePage.response() }
        let api = router.group("api/v1")
        api.get("console") { request, _ -> Response in
            if let refusal = refusal(request, .read) { return refusal }
            let entries = try await quarantine().list().filter { $0.state == "open" }
            var plants = Set(feed?.plants ?? [])
            plants.formUnion(entries.compactMap(\.plant))
            return Self.json(
                .ok,
                [
                    "plants": .array(plants.sorted().map(JSONValue.string)),
                    "quarantinedWithoutPlant": .number(Double(entries.filter { $0.plant == nil }.count), isInteger: true),
                ])
        }
        api.get("console/{plant}") { request, context -> Response in
            if let refusal = refusal(request, .read) { return refusal }
            let plant = try context.parameters.require("plant")
            return Self.json(.ok, try await consoleSummary(plant: plant, now: Int64(Date().timeIntervalSince1970 * 1000)))
        }
        api.post("offsets/reset") { request, context -> Response in
            if let refusal = refusal(request, .admin) { return refusal }
            return try await reset(Self.body(request, context))
        }
        api.post("quarantine/approve") { request, context -> Response in
            if let refusal = refusal(request, .admin) { return refusal }
            return try await decide(Self.body(request, context), approve: true)
        }
        api.post("quarantine/reject") { request, context -> Response in
            if let refusal = refusal(request, .admin) { return refusal }
            return try await decide(Self.body(request, context), approve: false)
        }
    }

    // MARK: The plant's summary

    func consoleSummary(plant: String, now: Int64) async throws -> JSONValue {
        let open = try await quarantine().list().filter { $0.state == "open" && $0.plant == plant }
        var byReason: [String: [Int]] = [:]
        for entry in open {
            let age = max(0, now - entry.quarantinedAt.milliseconds)
            let bucket = Self.ageBuckets.firstIndex { age < $0.upTo } ?? Self.ageBuckets.count - 1
            byReason[entry.reason.rawValue, default: Array(repeating: 0, count: Self.ageBuckets.count)][bucket] += 1
        }
        let letters = try await deadLetters().list().filter { $0.state == "open" }
        var lettersByReason: [String: Int] = [:]
        for letter in letters { lettersByReason["\(letter.reason)|\(letter.originalTopic)", default: 0] += 1 }
        let reset = OffsetReset(client: client, logger: logger)
        var lag: [JSONValue] = []
        for processor in OffsetReset.inputs.keys.sorted() {
            let group = "\(self.group).\(processor)"
            let partitions = try await reset.lag(group: group, topics: OffsetReset.topics(of: processor, group: self.group))
            lag.append(["processor": .string(processor), "group": .string(group), "lag": Self.int(partitions.reduce(0) { $0 + $1.lag })])
        }
        let summary = feed?.summary(plant: plant, now: now)
        let status = feed?.status
        return [
            "plant": .string(plant), "generatedAt": .string(Timestamp(milliseconds: now).rfc3339),
            "feed": feed == nil
                ? .null
                : [
                    "caughtUp": .bool(status?.caughtUp ?? false), "behind": Self.int(status?.behind ?? 0),
                    "failure": status?.failure.map(JSONValue.string) ?? .null,
                ],
            "quarantine": [
                "open": Self.int(open.count), "ageBuckets": .array(Self.ageBuckets.map { .string($0.label) }),
                "byReason": .array(
                    byReason.keys.sorted().map { reason in
                        ["reason": .string(reason), "counts": .array(byReason[reason]!.map(Self.int)), "total": Self.int(byReason[reason]!.reduce(0, +))]
                    }),
                "entries": .array(
                    open.prefix(200).map { entry in
                        var json = Self.json(entry)
                        if case .object(var object) = json {
                            object.set("ageSeconds", Self.int(Int(max(0, now - entry.quarantinedAt.milliseconds) / 1000)))
                            json = .object(object)
                        }
                        return json
                    }),
            ],
            "deadLetters": [
                "open": Self.int(letters.count),
                "byReason": .array(
                    lettersByReason.keys.sorted().map { key in
                        let parts = key.split(separator: "|", maxSplits: 1).map(String.init)
                        return [
                            "reason": .string(parts[0]), "originalTopic": .string(parts.count > 1 ? parts[1] : ""), "count": Self.int(lettersByReason[key]!),
                        ]
                    }),
                "entries": .array(letters.prefix(200).map(Self.json)),
            ],
            "lag": .array(lag),
            "throughput": summary.map { summary in
                [
                    "from": .string(Timestamp(milliseconds: summary.from).rfc3339), "minuteSeconds": 60,
                    "postings": .array(summary.minutes.map { Self.int($0.postings) }),
                    "releases": .array(summary.minutes.map { Self.int($0.releases) }),
                ]
            } ?? .null,
            "postings": summary.map { summary in
                [
                    "lastHour": Self.int(summary.postings), "releasesLastHour": Self.int(summary.releases),
                    "lagP50Seconds": summary.lagP50.map { .number(Double($0) / 1000, isInteger: false) } ?? .null,
                    "lagP95Seconds": summary.lagP95.map { .number(Double($0) / 1000, isInteger: false) } ?? .null,
                    "onTimeShare": summary.onTimeShare.map { .number($0, isInteger: false) } ?? .null,
                    "lagEstimated": .bool(summary.lagEstimated),
                ]
            } ?? .null,
            "atRisk": .array(
                (summary?.atRisk ?? []).map { order in
                    [
                        "orderId": .string(order.orderId), "workOrderId": order.workOrderId.map(JSONValue.string) ?? .null,
                        "status": .string(order.status), "riskReasons": .array(order.riskReasons.map(JSONValue.string)),
                        "dueDate": order.dueDate.map(JSONValue.string) ?? .null, "updatedAt": order.updatedAt.map(JSONValue.string) ?? .null,
                    ]
                }),
        ]
    }

    // MARK: Actions

    /// The replay plan of a processor's group; applied with `execute`.
    func reset(_ body: JSONValue) async throws -> Response {
        guard case .string(let processor)? = body["processor"], OffsetReset.inputs[processor] != nil else {
            return Self.problem(.unprocessableContent, "processor: one of \(OffsetReset.inputs.keys.sorted().joined(separator: ", "))")
        }
        let topics = OffsetReset.topics(of: processor, group: self.group)
        guard case .string(let to)? = body["to"] else {
            return Self.problem(.unprocessableContent, "to: earliest, latest, an RFC 3339 UTC time, a duration back (-2h or 2h-ago), shift:<±n> or offset:<n>")
        }
        var only = topics
        if case .string(let topic)? = body["topic"] {
            guard topics.contains(topic) else {
                return Self.problem(.unprocessableContent, "topic: \(processor) reads \(topics.joined(separator: ", ")), not \(topic)")
            }
            only = [topic]
        }
        let target: OffsetReset.Target
        do { target = try OffsetReset.parseTarget(to, now: Int64(Date().timeIntervalSince1970 * 1000)) } catch {
            return Self.problem(.unprocessableContent, "to: \(error)")
        }
        let group = "\(self.group).\(processor)"
        let reset = OffsetReset(client: client, logger: logger)
        let plan: [OffsetReset.Change]
        do { plan = try await reset.plan(group: group, topics: only, to: target) } catch let error as ResetError {
            return Self.problem(.unprocessableContent, error.description)
        }
        let execute = body["execute"] == .bool(true)
        var result = JSONObject([
            ("group", .string(group)), ("to", .string(to)), ("executed", .bool(false)),
            (
                "plan",
                .array(
                    plan.map { change in
                        [
                            "topic": .string(change.partition.topic), "partition": Self.int(Int(change.partition.partition)),
                            "from": change.current.map { Self.int(Int($0)) } ?? .null, "to": Self.int(Int(change.target)),
                        ]
                    })
            ),
        ])
        guard execute else { return Self.json(.ok, .object(result)) }
        if localProcessors.contains(processor) {
            return Self.problem(
                .conflict,
                "this worker runs \(processor): group \(group) has a live member (this one). Stop every worker of the group, then execute from `millwright console` (a server without processors) or `millwright offsets reset --execute`"
            )
        }
        let applied: OffsetReset.Applied
        do { applied = try await reset.apply(group: group, subscribe: topics, plan) } catch let error as ResetError {
            return Self.problem(.conflict, error.description)
        } catch let error as KafkaError {
            return Self.problem(.conflict, "the cluster refused the reset of \(group): \(error)")
        }
        let audit = try await reset.audit(group: group, target: to, plan: plan, applied: applied, actor: "api-admin")
        result.set("executed", true)
        result.set("method", applied == .altered ? "ADMIN_API" : "SOLE_MEMBER")
        result.set("auditId", .string(audit))
        logger.notice("offsets reset over the operator API", metadata: ["group": "\(group)", "to": "\(to)", "partitions": "\(plan.count)"])
        return Self.json(.ok, .object(result))
    }

    /// Approves (posts once) or rejects a posting held back as OVER_CONFIRMATION.
    func decide(_ body: JSONValue, approve: Bool) async throws -> Response {
        guard case .string(let id)? = body["id"] else { return Self.problem(.unprocessableContent, "id: the quarantine entry's id (posting:<postingId>)") }
        let tool = quarantine(actor: true)
        guard let entry = try await tool.list().first(where: { $0.id == id }) else { return Self.problem(.notFound, "no quarantine entry \(id)") }
        let execute = body["execute"] == .bool(true)
        do {
            let outcome = approve ? try await tool.approve(entry, execute: execute) : try await tool.reject(entry, execute: execute)
            return Self.json(.ok, ["id": .string(id), "executed": .bool(execute), "outcome": .string(outcome)])
        } catch let error as ToolError {
            return Self.problem(.conflict, error.description)
        }
    }

    static func int(_ value: Int) -> JSONValue { .number(Double(value), isInteger: true) }
    static func int(_ value: Int64) -> JSONValue { .number(Double(value), isInteger: true) }
}
