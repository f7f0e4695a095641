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

    /// The catalog's topics that exist once per cluster (templates excluded).
    public var fixedTopics: [TopicSpec] { topics.filter { !$0.template } }

    public func topic(named name: String) -> TopicSpec? { topics.first { $0.name == name } }

    private static func check(_ spec: TopicSpec, file: String, files: CatalogFiles) throws(LoadError) {
        if file != "\(spec.name).topic.json" {
            throw LoadError(file: file, reason: "name '\(spec.name)' does not match the file name")
        }
        if spec.partitions < 1 { throw LoadError(file: file, reason: "partitions: must be ≥ 1 (got \(spec.partitions))") }
        if spec.replicationFactor < 1 {
            throw LoadError(file: file, reason: "replicationFactor: must be ≥ 1 (got \(spec.replicationFactor))")
        }
        if spec.template != spec.name.contains("{plant}") {
            throw LoadError(file: file, reason: "template: must be true exactly when the name contains {plant}")
        }
        if let schemaFile = spec.schemaFile, files.contents(schemaFile) == nil {
            throw LoadError(file: file, reason: "schemaFile: \(schemaFile) does not exist")
        }
    }

    /// The MES inputs, the work-order table and the confirmation changelog are joined per work
    /// order, so they must have the same partition count; the release changelog must have as many
    /// partitions as `erp.order-approved.v1`.
    private func checkCoPartitioning() throws(LoadError) {
        if let orders = topic(named: "erp.order-approved.v1"), let changelog = topic(named: "millwright.release.changelog.v1"),
            orders.partitions != changelog.partitions
        {
            throw LoadError(
                file: "internal/\(changelog.name).topic.json",
                reason:
                    "partitions: \(changelog.partitions) differs from erp.order-approved.v1 (\(orders.partitions)); a task's changelog partition is its input partition"
            )
        }
        let mes = topics.filter {
            ($0.name.hasPrefix("mes.") && !$0.template) || $0.name == "millwright.work-orders.v1" || $0.name == "millwright.confirmation.changelog.v1"
        }
        if let first = mes.first, let other = mes.first(where: { $0.partitions != first.partitions }) {
            throw LoadError(
                file: "\(other.name).topic.json",
                reason: "partitions: \(other.partitions) differs from \(first.name) (\(first.partitions)); MES topics are co-partitioned by workOrderId")
        }
    }
}
