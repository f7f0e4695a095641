/// One topic of the catalog in `topics/`: the machine-readable form of the contract.
public struct TopicSpec: Codable, Sendable, Hashable {
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

import Foundation
