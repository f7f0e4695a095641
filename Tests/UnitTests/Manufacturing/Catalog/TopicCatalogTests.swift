import Foundation
import Manufacturing
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
                "millwright.confirmation.changelog.v1", "millwright.release.changelog.v1", "millwright.work-orders.v1",
            ])
        let mes = catalog.topics.filter { $0.name.hasPrefix("mes.") || $0.name.hasPrefix("millwright.") }.map(\.partitions)
        #expect(Set(mes) == [12], "MES topics, the work-order table and the changelogs are co-partitioned")
        #expect(catalog.topic(named: "mes.{plant}.production-release.v1")?.name(forPlant: "P100") == "mes.P100.production-release.v1")
        #expect(!catalog.fixedTopics.contains { $0.template })
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
