import Foundation
import Manufacturing
import Ops
import Streams
import TestSupport
import Testing

@Suite("Topic catalog")
struct TopicCatalogTests {
    static let topicsFolder = Repository.topics

    @Test("the project's catalog loads and has every topic of the contract")
    func projectCatalogLoads() throws {
        let catalog = try TopicCatalog.load(from: Self.topicsFolder)
        let names = Set(catalog.topics.map(\.name))
        for name in [
            "mdm.plant.v1", "mdm.item.v1", "mdm.bom.v1", "mdm.routing.v1", "erp.order-approved.v1",
            "mes.operation-completed.v1", "mes.scrap-reported.v1", "mes.{plant}.production-release.v1",
            "erp.production-confirmation.v1", "erp.order-status.v1", "crm.order-status.v1",
            "ops.quarantine.v1", "ops.dead-letter.v1",
        ] {
            #expect(names.contains(name), "\(name) missing from topics/")
        }
        #expect(
            catalog.topics.filter(\.isCompacted).map(\.name).sorted() == [
                "mdm.bom.v1", "mdm.item.v1", "mdm.plant.v1", "mdm.routing.v1",
                "millwright.work-orders.v1", "millwright.{group}.confirmation.changelog.v1", "millwright.{group}.release.changelog.v1",
            ])
        let mes = catalog.topics.filter { $0.name.hasPrefix("mes.") || $0.name.hasPrefix("millwright.") }.map(\.partitions)
        #expect(Set(mes) == [12], "MES topics, the work-order table and the changelogs are co-partitioned")
        #expect(catalog.topic(named: "mes.{plant}.production-release.v1")?.name(forPlant: "P100") == "mes.P100.production-release.v1")
        #expect(!catalog.fixedTopics.contains { $0.template })
    }

    @Test(
        "the changelogs are templates with one topic per consumer group, named as the stream runtime names them; a group's topics carry the template's settings"
    )
    func changelogsPerGroup() throws {
        let catalog = try TopicCatalog.load(from: Self.topicsFolder)
        #expect(
            catalog.groupTemplates.map(\.name).sorted() == [
                TopicCatalog.confirmationChangelog, TopicCatalog.confirmationRepartition, TopicCatalog.releaseChangelog,
            ])
        #expect(catalog.plantTemplates.map(\.name) == ["mes.{plant}.production-release.v1"])
        for group in ["millwright", "plant-p100", "blue.v2"] {
            let own = catalog.topics(forGroup: group)
            #expect(
                Set(own.map(\.name)) == [
                    ProcessorDefinition.changelogTopic(group: group, processor: "release"),
                    ProcessorDefinition.changelogTopic(group: group, processor: "confirmation"),
                    MillwrightWorker.confirmation(settings: ProcessingSettings()).repartitionTopic(group: group),
                ], "the catalog and the runtime agree on the names")
            #expect(own.allSatisfy { !$0.template && $0.partitions == 12 })
            #expect(own.filter(\.isCompacted).count == 2, "the changelogs are compacted; the repartition topic is not")
        }
        #expect(
            catalog.topics(forGroup: "millwright").map(\.name).sorted() == [
                "millwright.millwright.confirmation.changelog.v1", "millwright.millwright.confirmation.repartition.v1",
                "millwright.millwright.release.changelog.v1",
            ])
        #expect(Set(catalog.topics(forGroup: "a").map(\.name)).isDisjoint(with: catalog.topics(forGroup: "b").map(\.name)), "groups never share a changelog")
        let concrete = catalog.concreteTopics(groups: ["g1", "g2"], plants: ["P100"]).map(\.name)
        #expect(concrete.count == catalog.fixedTopics.count + 2 * 3 + 1 && Set(concrete).count == concrete.count)
        #expect(concrete.contains("millwright.g2.confirmation.changelog.v1") && concrete.contains("mes.P100.production-release.v1"))
        #expect(!concrete.contains { $0.contains("{") })
        #expect(catalog.spec(forConcrete: "millwright.g1.release.changelog.v1")?.name == "millwright.g1.release.changelog.v1")
        #expect(catalog.spec(forConcrete: "millwright.g1.release.changelog.v1")?.config["cleanup.policy"] == "compact")
        #expect(catalog.spec(forConcrete: "millwright.release.changelog.v1") == nil, "no group: not a catalog topic")
        #expect(catalog.topic(named: TopicCatalog.releaseChangelog)?.value(in: "millwright.g.1.release.changelog.v1") == "g.1")
    }

    /// Writes one topic file into a copy of the project's catalog (`internal/` when the name
    /// starts with `millwright.`), replacing the file of that name if there is one.
    static func catalog(with json: String, named name: String, removing removed: [String] = []) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("catalog-\(UUID().uuidString)")
        try CatalogFiles.directory(Self.topicsFolder).export(to: folder)
        for path in removed { try FileManager.default.removeItem(at: folder.appendingPathComponent(path)) }
        let sub = name.hasPrefix("millwright.") ? "internal/" : ""
        try Data(json.utf8).write(to: folder.appendingPathComponent("\(sub)\(name).topic.json"))
        return folder
    }

    static func topicFile(_ name: String, template: Bool, partitions: Int = 12) -> String {
        #"{"name": "\#(name)", "template": \#(template), "partitions": \#(partitions), "replicationFactor": 3, "config": {"cleanup.policy": "compact"}, "key": "$store-key", "owner": "Millwright", "producers": ["p"], "consumers": ["c"], "schema": null, "schemaVersion": null, "schemaFile": null, "description": "x"}"#
    }

    @Test(
        "a template is a name with {plant} or {group}, exactly once: template false with {group}, two placeholders, an unknown one, and a changelog template with other partitions than its inputs are refused naming the file"
    )
    func templateRules() throws {
        func refusal(_ json: String, _ name: String, removing: [String] = []) throws -> TopicCatalog.LoadError? {
            let folder = try Self.catalog(with: json, named: name, removing: removing)
            defer { try? FileManager.default.removeItem(at: folder) }
            return #expect(throws: TopicCatalog.LoadError.self) { try TopicCatalog.load(from: folder) }
        }
        let notTemplate = try refusal(Self.topicFile("millwright.{group}.extra.v1", template: false), "millwright.{group}.extra.v1")
        #expect(notTemplate?.file == "millwright.{group}.extra.v1.topic.json")
        #expect(notTemplate?.reason == "template: must be true exactly when the name contains {plant} or {group}")
        let fixed = try refusal(Self.topicFile("millwright.extra.v1", template: true), "millwright.extra.v1")
        #expect(fixed?.reason.hasPrefix("template:") == true)
        let both = try refusal(Self.topicFile("millwright.{group}.{plant}.v1", template: true), "millwright.{group}.{plant}.v1")
        #expect(both?.reason.hasPrefix("name: a template has one placeholder") == true)
        let twice = try refusal(Self.topicFile("millwright.{group}.{group}.v1", template: true), "millwright.{group}.{group}.v1")
        #expect(twice?.reason.hasPrefix("name: a template has one placeholder") == true)
        let unknown = try refusal(Self.topicFile("millwright.{line}.v1", template: true), "millwright.{line}.v1")
        #expect(unknown?.reason.hasPrefix("template:") == true, "no known placeholder: not a template")
        let unknownInTemplate = try refusal(Self.topicFile("millwright.{group}.{line}.v1", template: true), "millwright.{group}.{line}.v1")
        #expect(unknownInTemplate?.reason == "name: unknown placeholder (known: {plant}, {group})")
        let release = try refusal(Self.topicFile(TopicCatalog.releaseChangelog, template: true, partitions: 6), TopicCatalog.releaseChangelog)
        #expect(release?.file == "internal/\(TopicCatalog.releaseChangelog).topic.json")
        #expect(release?.reason.contains("differs from erp.order-approved.v1 (12)") == true)
        let confirmation = try refusal(Self.topicFile(TopicCatalog.confirmationChangelog, template: true, partitions: 6), TopicCatalog.confirmationChangelog)
        #expect(confirmation?.file == "internal/\(TopicCatalog.confirmationChangelog).topic.json")
        #expect(confirmation?.reason.contains("co-partitioned by workOrderId") == true)

        // A further per-group template is fine and resolves per group.
        let folder = try Self.catalog(with: Self.topicFile("millwright.{group}.extra.v1", template: true), named: "millwright.{group}.extra.v1")
        defer { try? FileManager.default.removeItem(at: folder) }
        let catalog = try TopicCatalog.load(from: folder)
        #expect(catalog.topics(forGroup: "g").map(\.name).contains("millwright.g.extra.v1"))
    }

    @Test("a bad catalog file is refused naming the file and the field")
    func badFileIsNamed() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("catalog-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data(
            #"{"name": "a.v1", "template": false, "partitions": 0, "replicationFactor": 1, "config": {}, "key": "id", "owner": "ERP", "producers": [], "consumers": [], "description": "x"}"#
                .utf8
        )
        .write(to: folder.appendingPathComponent("a.v1.topic.json"))
        let zero = #expect(throws: TopicCatalog.LoadError.self) { try TopicCatalog.load(from: folder) }
        #expect(zero?.file == "a.v1.topic.json")
        #expect(zero?.reason.hasPrefix("partitions") == true)

        try Data(#"{"name": "a.v1", "template": false, "replicationFactor": 1}"#.utf8)
            .write(to: folder.appendingPathComponent("a.v1.topic.json"))
        let missing = #expect(throws: TopicCatalog.LoadError.self) { try TopicCatalog.load(from: folder) }
        #expect(missing?.reason.contains("partitions: required, missing") == true)
    }

    @Test("the catalog built into the binary is the repository's topics/ folder, byte for byte, and loads the same topics")
    func embeddedIsTheFolder() throws {
        let folder = try CatalogFiles.directory(Self.topicsFolder)
        let embedded = CatalogFiles.embedded
        #expect(embedded.paths == folder.paths)
        #expect(embedded.paths.contains("schemas/mes.operation-completed.v1.schema.json"))
        #expect(embedded.paths.contains("internal/millwright.work-orders.v1.topic.json"))
        for path in folder.paths { #expect(embedded.contents(path) == folder.contents(path), "\(path) differs") }
        #expect(try TopicCatalog.embedded().topics.map(\.name) == TopicCatalog.load(from: Self.topicsFolder).topics.map(\.name))
    }

    @Test("exporting the built-in catalog writes every file; the written folder loads as a catalog and reads back identical")
    func exportRoundTrip() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("export-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let written = try CatalogFiles.embedded.export(to: folder)
        #expect(written == CatalogFiles.embedded.paths.count && written > 100)
        let back = try CatalogFiles.directory(folder)
        #expect(back.paths == CatalogFiles.embedded.paths)
        #expect(back.paths.allSatisfy { back.contents($0) == CatalogFiles.embedded.contents($0) })
        #expect(try TopicCatalog.load(from: folder).topics.count == TopicCatalog.embedded().topics.count)
    }

    @Test("a folder that does not exist is refused naming it")
    func missingFolder() {
        let error = #expect(throws: TopicCatalog.LoadError.self) { try TopicCatalog.load(from: URL(fileURLWithPath: "/nonexistent/topics")) }
        #expect(error?.file == "/nonexistent/topics" && error?.reason.contains("cannot list the folder") == true)
    }
}
