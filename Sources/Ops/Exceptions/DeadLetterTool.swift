import Foundation
import Kafka
import Logging
import Manufacturing
import Streams

/// One dead letter as operators see it.
public struct DeadLetterEntry: Sendable, Hashable {
    /// `ops.dead-letter.v1/<partition>/<offset>`.
    public var id: String
    public var reason: String
    public var error: String
    public var originalTopic: String
    public var originalPartition: String
    public var originalOffset: String
    public var key: [UInt8]?
    /// The original bytes, unchanged.
    public var value: [UInt8]?
    /// The original record's own headers (the `dlq-*` and `original-*` ones left out).
    public var originalHeaders: [KafkaHeader]
    /// When it was dead-lettered (ms since the epoch).
    public var deadLetteredAt: Int64?
    /// `open`, or `DEAD_LETTER_REDRIVE`.
    public var state: String
    /// The original value's size when the dead letter holds only its first bytes
    /// (`dlq-truncated`): such a dead letter cannot be redriven.
    public var truncatedFrom: Int?
}

/// `millwright dlq`: list dead letters and redrive them — the original bytes, key and headers,
/// unchanged, back to their original topic (after the producer or the contract was fixed), once
/// each (the audit ledger on `ops.audit.v1`).
public struct DeadLetterTool: Sendable {
    public var client: KafkaClientConfiguration
    public var logger: Logger
    public var group: String

    /// The header a redriven record carries: the dead letter's id.
    public static let redrivenFromHeader = "redriven-from"
    static let added: Set<String> = [
        DeadLetter.HeaderName.reason, DeadLetter.HeaderName.error, DeadLetter.HeaderName.originalTopic,
        DeadLetter.HeaderName.originalPartition, DeadLetter.HeaderName.originalOffset, DeadLetter.HeaderName.originalTimestamp,
        DeadLetter.HeaderName.truncated, DeadLetter.HeaderName.droppedHeaders, DeadLetter.HeaderName.truncatedKey,
    ]

    /// Who the audit records name as acting; `nil`: the user running this process.
    public var actor: String?

    public init(client: KafkaClientConfiguration, logger: Logger, group: String, actor: String? = nil) {
        self.client = client
        self.logger = logger
        self.group = group
        self.actor = actor
    }

    /// Dead letters, oldest first, once each.
    public func list() async throws -> [DeadLetterEntry] {
        let handled = try await OperatorAudit(client: client, logger: logger, user: actor).handledIDs(actions: ["DEAD_LETTER_REDRIVE"])
        var entries: [DeadLetterEntry] = []
        var seen = Set<String>()
        for record in try await TopicReader(client: client, logger: logger).readAll([DeadLetter.topic]) {
            func header(_ name: String) -> String { record.headers.last(name)?.stringValue ?? "" }
            // A record written again by a transaction that was redone is the same dead letter.
            let origin =
                "\(header(DeadLetter.HeaderName.originalTopic))/\(header(DeadLetter.HeaderName.originalPartition))/\(header(DeadLetter.HeaderName.originalOffset))"
            guard seen.insert(origin).inserted else { continue }
            let id = "\(DeadLetter.topic)/\(record.partition)/\(record.offset)"
            // The dead letter's own headers come first, then the original's in their order.
            let original = Array(record.headers.drop { Self.added.contains($0.key) })
            entries.append(
                DeadLetterEntry(
                    id: id, reason: header(DeadLetter.HeaderName.reason), error: header(DeadLetter.HeaderName.error),
                    originalTopic: header(DeadLetter.HeaderName.originalTopic), originalPartition: header(DeadLetter.HeaderName.originalPartition),
                    originalOffset: header(DeadLetter.HeaderName.originalOffset), key: record.key, value: record.value, originalHeaders: original,
                    deadLetteredAt: record.timestamp?.milliseconds, state: handled[id] ?? "open",
                    truncatedFrom: record.headers.last(DeadLetter.HeaderName.truncated)?.stringValue.flatMap { Int($0) }))
        }
        return entries
    }

    /// Redrives open entries (the others are skipped and returned as such). A truncated dead
    /// letter (``DeadLetterEntry/truncatedFrom``) holds only the first bytes of its input and is
    /// never redriven: it is returned in `truncated` (send the input again from its source).
    /// With `execute: false` nothing is written.
    public func redrive(_ entries: [DeadLetterEntry], execute: Bool) async throws -> (redriven: [String], skipped: [String], truncated: [String]) {
        let truncated = entries.filter { $0.truncatedFrom != nil }
        let open = entries.filter { $0.state == "open" && !$0.originalTopic.isEmpty && $0.truncatedFrom == nil }
        let skipped = entries.filter { !open.contains($0) && $0.truncatedFrom == nil }.map(\.id)
        guard execute, !open.isEmpty else { return (open.map(\.id), skipped, truncated.map(\.id)) }
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client), logger: logger)
        _ = try await producer.send(
            batch: open.map { entry in
                KafkaProducerMessage(
                    topic: entry.originalTopic, key: entry.key, value: entry.value,
                    headers: entry.originalHeaders + [KafkaHeader(key: Self.redrivenFromHeader, value: entry.id)])
            })
        await producer.close()
        try await OperatorAudit(client: client, logger: logger, user: actor).record(
            action: "DEAD_LETTER_REDRIVE", group: group,
            details: [("ids", .array(open.map { .string($0.id) })), ("count", .number(Double(open.count), isInteger: true))])
        return (open.map(\.id), skipped, truncated.map(\.id))
    }
}
