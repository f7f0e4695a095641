import Foundation
import Manufacturing

/// The example events of `topics/examples`, and how each topic's events decode.
public enum Examples {
    public static let root = Repository.root
    public static let topics = root.appendingPathComponent("topics")
    public static let folder = topics.appendingPathComponent("examples")

    /// Decodes bytes as the topic's event type; on success returns the schema name and the
    /// re-encoded event.
    public typealias Decode = @Sendable ([UInt8]) -> Result<(schema: String, encoded: [UInt8]), DecodingFailure>

    public static func decoder<P: EventPayload>(_ type: P.Type) -> Decode {
        { bytes in EventDecoder.decode(bytes, as: type).map { (P.schema, $0.bytes) } }
    }

    public static let decoders: [String: Decode] = [
        "erp.order-approved.v1": decoder(OrderApproved.self),
        "mes.operation-completed.v1": decoder(OperationCompleted.self),
        "mes.scrap-reported.v1": decoder(ScrapReported.self),
        "mdm.plant.v1": decoder(Plant.self),
        "mdm.item.v1": decoder(Item.self),
        "mdm.bom.v1": decoder(BillOfMaterials.self),
        "mdm.routing.v1": decoder(Routing.self),
        "mes.P100.production-release.v1": decoder(ProductionRelease.self),
        "ops.quarantine.v1": decoder(Quarantine.self),
    ]

    public static func bytes(_ topic: String, _ file: String) throws -> [UInt8] {
        Array(try Data(contentsOf: folder.appendingPathComponent(topic).appendingPathComponent(file)))
    }

    /// File name → "valid" or the dead-letter reason, from the topic's `expected.json`; for
    /// topics without one, every `valid-*` file.
    public static func expectations(_ topic: String) throws -> [(file: String, expected: String)] {
        let dir = folder.appendingPathComponent(topic)
        let expectedFile = dir.appendingPathComponent("expected.json")
        if FileManager.default.fileExists(atPath: expectedFile.path) {
            let map = try JSONSerialization.jsonObject(with: Data(contentsOf: expectedFile)) as! [String: String]
            return map.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        }
        return try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix("valid-") }.sorted().map { ($0, "valid") }
    }

    public static func decode<P: EventPayload>(_ topic: String, _ file: String, as type: P.Type) throws -> Envelope<P> {
        try EventDecoder.decode(bytes(topic, file), as: type).get()
    }

    /// Master data from every valid mdm example.
    public static func masterData() throws -> InMemoryMasterData {
        func all<P: EventPayload>(_ topic: String, _ type: P.Type) throws -> [P] {
            try expectations(topic).filter { $0.expected == "valid" }.map { try decode(topic, $0.file, as: type).data }
        }
        return InMemoryMasterData(
            plants: try all("mdm.plant.v1", Plant.self), items: try all("mdm.item.v1", Item.self),
            boms: try all("mdm.bom.v1", BillOfMaterials.self), routings: try all("mdm.routing.v1", Routing.self))
    }

    /// Runs the independent JSON Schema validator over a folder of `<schema>.v1.<name>.json`.
    public static func validateWithJSONSchema(_ directory: URL) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", root.appendingPathComponent("Tests/SchemaValidation/validate_examples.py").path, directory.path]
        process.currentDirectoryURL = root
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    public static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mw-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
