import Foundation

/// One topic of the catalog in `topics/`: the machine-readable form of the contract.
public struct TopicSpec: Sendable, Hashable {
    /// Topic name; a template contains one placeholder (``Placeholder``): `{plant}` (one topic per
    /// plant, created before or on its first release) or `{group}` (one topic per consumer group:
    /// the changelogs).
    public var name: String
    /// `true` for templates: per-plant topics (`mes.{plant}.production-release.v1`) and per-group
    /// ones (`millwright.{group}.release.changelog.v1`).
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

    /// What a template's name stands for.
    public enum Placeholder: String, Sendable, CaseIterable {
        /// A plant code: `mes.{plant}.production-release.v1`.
        case plant = "{plant}"
        /// A consumer group (`group` of the worker): `millwright.{group}.release.changelog.v1`,
        /// as Kafka Streams names internal topics after the application id.
        case group = "{group}"
    }

    /// The placeholder in the name; nil for a fixed topic.
    public var placeholder: Placeholder? { Placeholder.allCases.first { name.contains($0.rawValue) } }

    /// The concrete topic name for a plant (templates only).
    public func name(forPlant plant: String) -> String {
        name.replacingOccurrences(of: Placeholder.plant.rawValue, with: plant)
    }

    /// The concrete topic name for a consumer group (templates only).
    public func name(forGroup group: String) -> String {
        name.replacingOccurrences(of: Placeholder.group.rawValue, with: group)
    }

    /// This template as the concrete topic for `value` (a plant or a group, as its placeholder
    /// says): the same settings under the concrete name, no longer a template.
    public func resolved(_ value: String) -> TopicSpec {
        guard let placeholder else { return self }
        var concrete = self
        concrete.name = name.replacingOccurrences(of: placeholder.rawValue, with: value)
        concrete.template = false
        return concrete
    }

    /// Whether `concrete` is this template's name for some non-empty value (`mes.P100.production-release.v1`
    /// for `mes.{plant}.production-release.v1`); a fixed topic matches its own name only.
    public func matches(_ concrete: String) -> Bool {
        guard placeholder != nil else { return concrete == name }
        return value(in: concrete) != nil
    }

    /// The plant or group a concrete name of this template stands for (`P100` in
    /// `mes.P100.production-release.v1`); nil when it is not one of its names.
    public func value(in concrete: String) -> String? {
        guard let placeholder else { return nil }
        let parts = name.components(separatedBy: placeholder.rawValue)
        guard parts.count == 2, concrete.hasPrefix(parts[0]), concrete.hasSuffix(parts[1]), concrete.count > parts[0].count + parts[1].count else {
            return nil
        }
        return String(concrete.dropFirst(parts[0].count).dropLast(parts[1].count))
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
