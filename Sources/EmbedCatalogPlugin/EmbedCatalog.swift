import Foundation
import PackagePlugin

/// Embeds the repository's `topics/` folder (the topic catalog, its schemas and examples) in the
/// target it is applied to, as generated Swift source: `EmbeddedCatalogFiles.files`.
@main
struct EmbedCatalog: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let folder = context.package.directoryURL.appending(path: "topics")
        var inputs: [URL] = []
        if let walker = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil, options: [.skipsHiddenFiles]) {
            for case let url as URL in walker where !url.hasDirectoryPath { inputs.append(url) }
        }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedCatalogFiles.swift")
        return [
            .buildCommand(
                displayName: "Embedding the topic catalog (\(inputs.count) files)",
                executable: try context.tool(named: "CatalogEmbedder").url,
                arguments: [folder.path, output.path],
                inputFiles: inputs,
                outputFiles: [output])
        ]
    }
}
