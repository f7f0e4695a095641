import Foundation

// Writes the topic catalog (every file under a folder: topic files, schemas, examples, README)
// into a Swift source file, so that the `millwright` binary carries it and starts from any folder
// or in an image. Run by the EmbedCatalog build plugin; usage: CatalogEmbedder <folder> <output>.
//
// Each file becomes one base64 string literal: no escaping rule of Swift's string literals can
// be broken by a file's bytes, and long one-line literals compile quickly.

let arguments = CommandLine.arguments
guard arguments.count == 3 else {
    FileHandle.standardError.write(Data("usage: CatalogEmbedder <catalog folder> <output.swift>\n".utf8))
    exit(2)
}
let root = URL(fileURLWithPath: arguments[1]).standardizedFileURL
let output = URL(fileURLWithPath: arguments[2])

var paths: [String] = []
guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey], options: [.skipsHiddenFiles]) else {
    FileHandle.standardError.write(Data("CatalogEmbedder: cannot read \(root.path)\n".utf8))
    exit(1)
}
for case let url as URL in walker where (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
    let full = url.standardizedFileURL.path
    paths.append(String(full.dropFirst(root.path.count + 1)))
}
paths.sort()

var source = """
    // Generated at build time by CatalogEmbedder (the EmbedCatalog plugin) from the repository's
    // topics/ folder. Do not edit: change topics/ and build again.

    enum EmbeddedCatalogFiles {
        /// Path inside the catalog folder → the file's bytes, base64.
        static let files: [(path: String, base64: String)] = [

    """
for path in paths {
    let data = try Data(contentsOf: root.appendingPathComponent(path))
    let literal = path.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    source += "        (\"\(literal)\", \"\(data.base64EncodedString())\"),\n"
}
source += "    ]\n}\n"
let bytes = Data(source.utf8)
// Unchanged output keeps its timestamp, so nothing that depends on it rebuilds.
if (try? Data(contentsOf: output)) != bytes {
    try bytes.write(to: output, options: .atomic)
}
