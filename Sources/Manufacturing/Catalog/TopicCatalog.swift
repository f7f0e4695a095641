import Foundation

/// The topics of `topics/`, loaded and checked.
public struct TopicCatalog: Sendable {
    public let topics: [TopicSpec]
    /// The files the catalog was read from (built in, or a folder).
    public let files: CatalogFiles

    /// A problem with a catalog file, naming the file and the rule.
    public struct LoadError: Error, CustomStringConvertible {
        public var file: String
        public var reason: String
        public var description: String { "topic catalog \(file): \(reason)" }
    }

    /// The catalog built into the binary.
    public static func embedded() throws(LoadError) -> TopicCatalog { try load(.embedded) }

    /// Reads the catalog in a folder on disk.
    public static func load(from directory: URL) throws(LoadError) -> TopicCatalog { try load(.directory(directory)) }

    /// Reads every `*.topic.json` at the catalog's top (the contract's topics) and in its
    /// `internal/` folder (Millwright's own: the work-order table and the changelogs), and checks them.
    public static func load(_ files: CatalogFiles) throws(LoadError) -> TopicCatalog {
        let names =
            files.fileNames(in: "").filter { $0.hasSuffix(".topic.json") }
            + files.fileNames(in: "internal").filter { $0.hasSuffix(".topic.json") }.map { "internal/\($0)" }
        if names.isEmpty { throw LoadError(file: files.origin, reason: "no *.topic.json files") }
        var topics: [TopicSpec] = []
        for path in names {
            let file = String(path.split(separator: "/").last ?? Substring(path))
            let spec: TopicSpec
            do { spec = try TopicSpec(json: files.contents(path) ?? []) } catch {
                throw LoadError(file: file, reason: error.field.isEmpty ? error.rule : "\(error.field): \(error.rule)")
            }
            try check(spec, file: file, files: files)
            topics.append(spec)
        }
        let catalog = TopicCatalog(topics: topics, files: files)
        try catalog.checkCoPartitioning()
        return catalog
    }

    /// The release changelog's template: one topic per consumer group.
    public static let releaseChangelog = "millwright.{group}.release.changelog.v1"
    /// The confirmation changelog's template: one topic per consumer group.
    public static let confirmationChangelog = "millwright.{group}.confirmation.changelog.v1"
    /// The confirmation processor's repartition topic's template: one topic per consumer group.
    public static let confirmationRepartition = "millwright.{group}.confirmation.repartition.v1"

    /// The catalog's topics that exist once per cluster (templates excluded).
    public var fixedTopics: [TopicSpec] { topics.filter { !$0.template } }

    /// Templates with one topic per plant (`mes.{plant}.production-release.v1`).
    public var plantTemplates: [TopicSpec] { topics.filter { $0.placeholder == .plant } }

    /// Templates with one topic per consumer group (the changelogs, the repartition topic).
    public var groupTemplates: [TopicSpec] { topics.filter { $0.placeholder == .group } }

    /// The topics a consumer group needs of its own (its changelogs and repartition topic), with
    /// their concrete names.
    public func topics(forGroup group: String) -> [TopicSpec] { groupTemplates.map { $0.resolved(group) } }

    /// The plant's topics (its release topic), with their concrete names.
    public func topics(forPlant plant: String) -> [TopicSpec] { plantTemplates.map { $0.resolved(plant) } }

    /// Every concrete topic for these groups and plants: the fixed topics, then each group's,
    /// then each plant's. What a cluster needs before the groups' workers start.
    public func concreteTopics(groups: [String], plants: [String]) -> [TopicSpec] {
        fixedTopics + groups.flatMap(topics(forGroup:)) + plants.flatMap(topics(forPlant:))
    }

    /// The catalog's settings for a concrete topic name: a fixed topic, or the template it is an
    /// instance of (resolved to that name).
    public func spec(forConcrete name: String) -> TopicSpec? {
        if let fixed = fixedTopics.first(where: { $0.name == name }) { return fixed }
        guard let template = topics.first(where: { $0.template && $0.matches(name) }) else { return nil }
        var concrete = template
        concrete.name = name
        concrete.template = false
        return concrete
    }

    public func topic(named name: String) -> TopicSpec? { topics.first { $0.name == name } }

    private static func check(_ spec: TopicSpec, file: String, files: CatalogFiles) throws(LoadError) {
        if file != "\(spec.name).topic.json" {
            throw LoadError(file: file, reason: "name '\(spec.name)' does not match the file name")
        }
        if spec.partitions < 1 { throw LoadError(file: file, reason: "partitions: must be ≥ 1 (got \(spec.partitions))") }
        if spec.replicationFactor < 1 {
            throw LoadError(file: file, reason: "replicationFactor: must be ≥ 1 (got \(spec.replicationFactor))")
        }
        let placeholders = TopicSpec.Placeholder.allCases.filter { spec.name.contains($0.rawValue) }
        if spec.template != !placeholders.isEmpty {
            throw LoadError(file: file, reason: "template: must be true exactly when the name contains {plant} or {group}")
        }
        if placeholders.count > 1 || placeholders.contains(where: { spec.name.components(separatedBy: $0.rawValue).count > 2 }) {
            throw LoadError(file: file, reason: "name: a template has one placeholder, once ({plant} or {group})")
        }
        var rest = spec.name
        for placeholder in placeholders { rest = rest.replacingOccurrences(of: placeholder.rawValue, with: "") }
        if rest.contains("{") || rest.contains("}") {
            throw LoadError(file: file, reason: "name: unknown placeholder (known: {plant}, {group})")
        }
        if let schemaFile = spec.schemaFile, files.contents(schemaFile) == nil {
            throw LoadError(file: file, reason: "schemaFile: \(schemaFile) does not exist")
        }
    }

    /// The MES inputs, the work-order table, the confirmation changelog and its repartition topic
    /// are joined per work order, so they must have the same partition count; the release changelog must have as many
    /// partitions as `erp.order-approved.v1`. (The changelogs are templates: every group's has the
    /// template's count.)
    private func checkCoPartitioning() throws(LoadError) {
        if let orders = topic(named: "erp.order-approved.v1"), let changelog = topic(named: Self.releaseChangelog),
            orders.partitions != changelog.partitions
        {
            throw LoadError(
                file: "internal/\(changelog.name).topic.json",
                reason:
                    "partitions: \(changelog.partitions) differs from erp.order-approved.v1 (\(orders.partitions)); a task's changelog partition is its input partition"
            )
        }
        let mes = topics.filter {
            ($0.name.hasPrefix("mes.") && !$0.template) || $0.name == "millwright.work-orders.v1" || $0.name == Self.confirmationChangelog
                || $0.name == Self.confirmationRepartition
        }
        if let first = mes.first, let other = mes.first(where: { $0.partitions != first.partitions }) {
            throw LoadError(
                file: "\(other.name.hasPrefix("millwright.") ? "internal/" : "")\(other.name).topic.json",
                reason: "partitions: \(other.partitions) differs from \(first.name) (\(first.partitions)); MES topics are co-partitioned by workOrderId")
        }
    }
}
