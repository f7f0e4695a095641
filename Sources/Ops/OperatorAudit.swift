import Foundation
import Kafka
import Logging
import Manufacturing

/// Records executed operator actions on `ops.audit.v1` (key: the consumer group acted on): who
/// (user, host), when, what (the action and its plan), as an `ops.audit` v1 envelope.
public struct OperatorAudit: Sendable {
    public var client: KafkaClientConfiguration
    public var logger: Logger
    /// Who acts, when not the user running this process (the operator API: `api-admin@<address>`).
    public var user: String?

    public init(client: KafkaClientConfiguration, logger: Logger, user: String? = nil) {
        self.client = client
        self.logger = logger
        self.user = user
    }

    /// The operator: `$USER` (or `$LOGNAME`, or the uid), and this host's name.
    public static var who: (user: String, host: String) {
        let environment = ProcessInfo.processInfo.environment
        let user = environment["USER"] ?? environment["LOGNAME"] ?? "uid-\(getuid())"
        return (user, ProcessInfo.processInfo.hostName)
    }

    /// The ids every executed action of these kinds names (`data.ids`): what was already
    /// released, approved, rejected or redriven, so that nothing is done twice.
    public func handledIDs(actions: Set<String>) async throws -> [String: String] {
        var handled: [String: String] = [:]
        for record in try await TopicReader(client: client, logger: logger).readAll([Topics.audit]) {
            guard let value = record.value, let envelope = try? JSONParser.parse(value), let data = envelope["data"],
                case .string(let action)? = data["action"], actions.contains(action), case .array(let ids)? = data["ids"]
            else { continue }
            for case .string(let id) in ids { handled[id] = action }
        }
        return handled
    }

    /// Writes one audit record and waits for the broker's acknowledgement. Returns its eventId.
    /// - Parameters:
    ///   - action: `OFFSET_RESET`, `QUARANTINE_RELEASE`, …
    ///   - details: the plan, as JSON members of `data`.
    @discardableResult
    public func record(action: String, group: String, details: [(key: String, value: JSONValue)]) async throws -> String {
        let eventId = UUID().uuidString.lowercased()
        let (user, host) = (self.user ?? Self.who.user, Self.who.host)
        let now = Timestamp(milliseconds: Int64(Date().timeIntervalSince1970 * 1000)).rfc3339
        var data = JSONObject([("action", .string(action)), ("group", .string(group)), ("user", .string(user)), ("host", .string(host))])
        for (key, value) in details { data.set(key, value) }
        let envelope: JSONValue = [
            "schema": "ops.audit", "schemaVersion": 1, "eventId": .string(eventId), "correlationId": .string("audit:\(eventId)"),
            "occurredAt": .string(now), "source": ["system": "Millwright"], "data": .object(data),
        ]
        let headers = [
            KafkaHeader(key: "correlation-id", value: "audit:\(eventId)"), KafkaHeader(key: "event-id", value: eventId),
            KafkaHeader(key: "schema", value: "ops.audit"), KafkaHeader(key: "schema-version", value: "1"),
            KafkaHeader(key: "causation-id", value: eventId),
        ]
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client), logger: logger)
        defer { Task { await producer.close() } }
        _ = try await producer.send(batch: [
            KafkaProducerMessage(topic: Topics.audit, key: Array(group.utf8), value: JSONWriter.bytes(envelope), headers: headers)
        ])
        return eventId
    }
}
