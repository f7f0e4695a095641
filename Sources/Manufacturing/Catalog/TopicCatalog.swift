import Foundation

/// The topics of `topics/`, loaded and checked.
public struct TopicCatalog: Sendable {
    public let topics: [TopicSpec]
    /// The folder the catalog was read from.
    public let directory: URL

    /// A problem with a catalog file, naming the file and the rule.
    public struct LoadError: Error, CustomStringConvertible {
        public var file: String
        public var reason: String
        public var description: String { "topic catalog \(file): \(reason)" }
    }

    /// Reads every `*.topic.json` in `directory` (the contract's topics) and in its `internal/`
    /// folder (Millwright's own: the work-order table and the changelogs), and checks them.
    public static func load(from directory: URL) throws(LoadError) -> TopicCatalog {
        var files: [URL]
        do {
            files = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
                .filter { $0.lastPathComponent.hasSuffix(".topic.json") }
                .sorted { $0.lastPathComponent < $1.lastPathComponent }
        } catch {
            throw LoadError(file: directory.path, reason: "cannot list the folder: \(error.localizedDescription)")
        }
        let internalFolder = directory.appendingPathComponent("internal")
        if let internalFiles = try? FileManager.default.contentsOfDirectory(at: internalFolder, includingPropertiesForKeys: nil) {
            files += internalFiles.filter { $0.lastPathComponent.hasSuffix(".topic.json") }.sorted { $0.lastPathComponent < $1.lastPathComponent }
        }
        if files.isEmpty { throw LoadError(file: directory.path, reason: "no *.topic.json files") }
        var topics: [TopicSpec] = []
        for file in files {
            let spec: TopicSpec
            let bytes: [UInt8]
            do { bytes = Array(try Data(contentsOf: file)) } catch {
                throw LoadError(file: file.lastPathComponent, reason: error.localizedDescription)
            }
            do { spec = try TopicSpec(json: bytes) } catch {
                throw LoadError(file: file.lastPathComponent, reason: error.field.isEmpty ? error.rule : "\(error.field): \(error.rule)")
            }
            try check(spec, file: file.lastPathComponent, directory: directory)
            topics.append(spec)
        }
        let catalog = TopicCatalog(topics: topics, directory: directory)
        try catalog.checkCoPartitioning()
        return catalog
    }

    /// The catalog's topics that exist once per cluster (templates excluded).
    public var fixedTopics: [TopicSpec] { topics.filter { !$0.template } }

    public func topic(named name: String) -> TopicSpec? { topics.first { $0.name == name } }

    private static func check(_ spec: TopicSpec, file: String, directory: URL) throws(LoadError) {
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
        if let schemaFile = spec.schemaFile,
            !FileManager.default.fileExists(atPath: directory.appendingPathComponent(schemaFile).path)
        {
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
