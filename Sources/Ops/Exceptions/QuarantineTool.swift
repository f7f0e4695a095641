import Foundation
import Kafka
import Logging
import Manufacturing
import Streams

/// One quarantined record as operators see it.
public struct QuarantineEntry: Sendable, Hashable {
    /// `<originalTopic>/<partition>/<offset>` of the input held back, or `posting:<postingId>`
    /// for a posting held back as OVER_CONFIRMATION. Stable across re-reads and replays.
    public var id: String
    public var reason: QuarantineReason
    public var plant: String?
    /// The quarantine record's key (orderId, workOrderId).
    public var key: String?
    public var detail: String
    public var quarantinedAt: Timestamp
    public var originalTopic: String
    /// The whole input envelope (OVER_CONFIRMATION: the posting held back).
    public var original: JSONValue
    public var correlationId: String
    /// `open`, or the action that closed it: `QUARANTINE_RELEASE`, `QUARANTINE_APPROVE`, `QUARANTINE_REJECT`.
    public var state: String
}

/// `millwright quarantine`: list the quarantine, release entries once master data is fixed
/// (re-checked, re-injected into their original topic once), approve or reject postings held back
/// as OVER_CONFIRMATION. Every executed action is audited on `ops.audit.v1`, which is also the
/// ledger that keeps an entry from being handled twice.
public struct QuarantineTool: Sendable {
    public var client: KafkaClientConfiguration
    public var logger: Logger
    /// The consumer group named in the audit records (`<group>.release` / `.confirmation`).
    public var group: String

    public static let actions: Set<String> = ["QUARANTINE_RELEASE", "QUARANTINE_APPROVE", "QUARANTINE_REJECT"]
    /// The header a re-injected input carries: the id of the entry it was released from.
    public static let releasedFromHeader = "quarantine-id"

    /// Who the audit records name as acting; `nil`: the user running this process.
    public var actor: String?

    public init(client: KafkaClientConfiguration, logger: Logger, group: String, actor: String? = nil) {
        self.client = client
        self.logger = logger
        self.group = group
        self.actor = actor
    }

    /// Every quarantined record, oldest first, once each (a record written again by a transaction
    /// that was redone counts once), with its state from the audit ledger.
    public func list() async throws -> [QuarantineEntry] {
        let handled = try await OperatorAudit(client: client, logger: logger, user: actor).handledIDs(actions: Self.actions)
        var seen = Set<String>()
        var entries: [QuarantineEntry] = []
        for record in try await TopicReader(client: client, logger: logger).readAll([Topics.quarantine]) {
            guard let event = try? EventDecoder.decode(record.value, as: Quarantine.self).get() else { continue }
            let held = event.data
            var id = "\(held.originalTopic)/\(held.originalPartition)/\(held.originalOffset)"
            if held.reason == .overConfirmation, case .string(let postingId)? = held.original["data"]?["postingId"] { id = "posting:\(postingId)" }
            guard seen.insert(id).inserted else { continue }
            var plant: String?
            if case .string(let p)? = held.original["data"]?["plant"] { plant = p }
            entries.append(
                QuarantineEntry(
                    id: id, reason: held.reason, plant: plant ?? event.metadata.source.plant, key: record.keyString, detail: held.detail,
                    quarantinedAt: event.metadata.occurredAt, originalTopic: held.originalTopic, original: held.original,
                    correlationId: event.metadata.correlationId, state: handled[id] ?? "open"))
        }
        return entries.sorted { $0.quarantinedAt.milliseconds < $1.quarantinedAt.milliseconds }
    }

    /// What releasing one entry came to.
    public enum Outcome: Sendable, Hashable {
        /// Re-injected into its original topic (or, with `execute: false`, would be).
        case released(String)
        /// Master data still fails it: left in the quarantine.
        case stillFails(String, QuarantineReason, String)
        /// Already released, approved or rejected: nothing done.
        case alreadyHandled(String, String)
        /// Not releasable this way (OVER_CONFIRMATION: approve or reject it; WORK_ORDER_RETIRED: reject it).
        case notReleasable(String, String)
    }

    /// Releases open entries: re-checks orders against the current master data (loaded from the
    /// cluster into a temporary cache), then re-injects each entry that passes — and every MES
    /// event, whose work order the processor looks up again — into its original topic, with the
    /// header `quarantine-id`. An entry that fails again stays quarantined; an entry already
    /// handled is skipped. With `execute: false` nothing is written.
    public func release(_ entries: [QuarantineEntry], execute: Bool) async throws -> [Outcome] {
        let orders = entries.filter { $0.state == "open" && $0.originalTopic == Topics.orderApproved }
        let lookup: MasterDataCache? = orders.isEmpty ? nil : try await loadMasterData()
        defer { if let lookup { Task { await lookup.stop() } } }
        var outcomes: [Outcome] = []
        var toSend: [(QuarantineEntry, KafkaProducerMessage)] = []
        for entry in entries {
            guard entry.state == "open" else {
                outcomes.append(.alreadyHandled(entry.id, entry.state))
                continue
            }
            guard entry.reason != .overConfirmation else {
                outcomes.append(.notReleasable(entry.id, "a posting held back as OVER_CONFIRMATION: approve or reject it"))
                continue
            }
            guard entry.reason != .workOrderRetired else {
                outcomes.append(.notReleasable(entry.id, "its work order was retired: sent again it would be quarantined again; reject it"))
                continue
            }
            let bytes = JSONWriter.bytes(entry.original)
            if entry.originalTopic == Topics.orderApproved, let lookup {
                guard let order = try? EventDecoder.decode(bytes, as: OrderApproved.self).get() else {
                    outcomes.append(.notReleasable(entry.id, "its original is not a valid order any more"))
                    continue
                }
                if case .failure(let failure) = ReleaseCheck.evaluate(order.data, against: lookup) {
                    outcomes.append(.stillFails(entry.id, failure.reason, failure.detail))
                    continue
                }
            }
            let headers = [
                KafkaHeader(key: "correlation-id", value: entry.correlationId), KafkaHeader(key: Self.releasedFromHeader, value: entry.id),
            ]
            toSend.append((entry, KafkaProducerMessage(topic: entry.originalTopic, key: entry.key.map { Array($0.utf8) }, value: bytes, headers: headers)))
            outcomes.append(.released(entry.id))
        }
        guard execute, !toSend.isEmpty else { return outcomes }
        try await send(toSend.map(\.1))
        try await OperatorAudit(client: client, logger: logger, user: actor).record(
            action: "QUARANTINE_RELEASE", group: group,
            details: [("ids", .array(toSend.map { .string($0.0.id) })), ("count", .number(Double(toSend.count), isInteger: true))])
        return outcomes
    }

    /// Approves a posting held back as OVER_CONFIRMATION: it is posted to ERP once, as it was
    /// held (its postingId unchanged), unless ERP already has that postingId.
    public func approve(_ entry: QuarantineEntry, execute: Bool) async throws -> String {
        guard entry.reason == .overConfirmation, case .string(let postingId)? = entry.original["data"]?["postingId"] else {
            throw ToolError("\(entry.id) is not a posting held back as OVER_CONFIRMATION (it is \(entry.reason.rawValue)): release it instead")
        }
        guard entry.state == "open" else { throw ToolError("\(entry.id) was handled already (\(entry.state)): nothing done") }
        for record in try await TopicReader(client: client, logger: logger).readAll([Topics.productionConfirmation]) {
            if let value = record.value, let posting = try? JSONParser.parse(value), posting["data"]?["postingId"] == .string(postingId) {
                throw ToolError("ERP already has posting \(postingId): nothing done")
            }
        }
        guard execute else { return "would post \(postingId) to \(Topics.productionConfirmation)" }
        let eventId: String
        if case .string(let id)? = entry.original["eventId"] { eventId = id } else { eventId = "posting:\(postingId)" }
        let headers = [
            KafkaHeader(key: "correlation-id", value: entry.correlationId), KafkaHeader(key: "event-id", value: eventId),
            KafkaHeader(key: "schema", value: ProductionConfirmation.schema), KafkaHeader(key: "schema-version", value: "1"),
            KafkaHeader(key: "causation-id", value: eventId), KafkaHeader(key: Self.releasedFromHeader, value: entry.id),
        ]
        try await send([
            KafkaProducerMessage(
                topic: Topics.productionConfirmation, key: entry.key.map { Array($0.utf8) }, value: JSONWriter.bytes(entry.original), headers: headers)
        ])
        try await OperatorAudit(client: client, logger: logger, user: actor).record(
            action: "QUARANTINE_APPROVE", group: group, details: [("ids", .array([.string(entry.id)])), ("count", 1)])
        return "posted \(postingId) to \(Topics.productionConfirmation)"
    }

    /// Rejects a posting held back as OVER_CONFIRMATION (or any entry): closed without effect.
    public func reject(_ entry: QuarantineEntry, execute: Bool) async throws -> String {
        guard entry.state == "open" else { throw ToolError("\(entry.id) was handled already (\(entry.state)): nothing done") }
        guard execute else { return "would close \(entry.id) without effect" }
        try await OperatorAudit(client: client, logger: logger, user: actor).record(
            action: "QUARANTINE_REJECT", group: group, details: [("ids", .array([.string(entry.id)])), ("count", 1)])
        return "closed \(entry.id)"
    }

    private func send(_ messages: [KafkaProducerMessage]) async throws {
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client), logger: logger)
        _ = try await producer.send(batch: messages)
        await producer.close()
    }

    /// The cluster's master data, in a temporary cache, caught up.
    private func loadMasterData() async throws -> MasterDataCache {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("millwright-recheck-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let cache = try MasterDataCache(stateDirectory: directory, logger: logger)
        try await cache.start(configuration: GlobalTableConfiguration(client: client))
        try await cache.waitUntilCaughtUp(timeout: .seconds(120))
        return cache
    }
}
