import Foundation

/// One topic of the catalog in `topics/`: the machine-readable form of the contract.
public struct TopicSpec: Sendable, Hashable {
    /// Topic name; a template contains `{plant}` and is created per plant on first use.
    public var name: String
    /// `true` for per-plant topics (`mes.{plant}.production-release.v1`).
    public var template: Bool
    public var partitions: Int
    /// Wanted replication; tooling caps it to the number of brokers.
    public var replicationFactor: Int
    /// Topic configs (`cleanup.policy`, `retention.ms`, …).
    public var config: [String: String]
    /// The field the key is taken from, or `$original` for ops topics.
    public var key: String
    public var keyDescription: String?
    /// The system that owns the topic's content.
    public var owner: String
    public var producers: [String]
    public var consumers: [String]
    /// Envelope `schema` name; `nil` for the dead-letter topic (raw original bytes).
    public var schema: String?
    public var schemaVersion: Int?
    /// Path of the JSON Schema, relative to the catalog folder.
    public var schemaFile: String?
    public var description: String

    /// The concrete topic name for a plant (templates only).
    public func name(forPlant plant: String) -> String {
        name.replacingOccurrences(of: "{plant}", with: plant)
    }

    /// `true` when the topic is log-compacted (master data).
    public var isCompacted: Bool { config["cleanup.policy"]?.contains("compact") == true }
}

extension TopicSpec {
    /// Reads a `*.topic.json` document; a failure names the field and the rule.
    public init(json bytes: [UInt8]) throws(DecodingFailure) {
        let document: JSONValue
        do { document = try JSONParser.parse(bytes) } catch {
            throw DecodingFailure(.malformedJSON, field: "", rule: "not JSON: \(error)")
        }
        guard case .object(let object) = document else {
            throw DecodingFailure(.malformedJSON, field: "", rule: "must be a JSON object, found \(document.kind)")
        }
        let reader = FieldReader(object, path: "", reason: .invalidField)
        name = try reader.string("name")
        template = try reader.bool("template")
        partitions = try reader.int("partitions", minimum: 1)
        replicationFactor = try reader.int("replicationFactor", minimum: 1)
        config = try reader.stringMap("config")
        key = try reader.string("key")
        keyDescription = try reader.optionalString("keyDescription")
        owner = try reader.string("owner")
        producers = try reader.strings("producers")
        consumers = try reader.strings("consumers")
        schema = try reader.optionalString("schema")
        let version = object["schemaVersion"] ?? .null
        schemaVersion = version == .null ? nil : try reader.int("schemaVersion", minimum: 1)
        schemaFile = try reader.optionalString("schemaFile")
        description = try reader.string("description")
    }
}
