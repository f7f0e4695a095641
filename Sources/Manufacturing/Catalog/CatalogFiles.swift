import Foundation

/// The files of a topic catalog (topic files, `internal/`, `schemas/`, `examples/`), by path
/// inside the catalog folder: the copy built into the binary (``embedded``, the default, so
/// `millwright` starts from any folder and in an image) or a folder on disk (`--catalog`).
public struct CatalogFiles: Sendable, CustomStringConvertible {
    /// Where the files came from: "built in" or the folder's path.
    public let origin: String
    /// Path inside the catalog ("mdm.item.v1.topic.json", "schemas/…") → bytes.
    private let files: [String: [UInt8]]

    init(origin: String, files: [String: [UInt8]]) {
        self.origin = origin
        self.files = files
    }

    /// The catalog built into the binary from the repository's `topics/` folder.
    public static let embedded = CatalogFiles(
        origin: "built in",
        files: Dictionary(
            uniqueKeysWithValues: EmbeddedCatalogFiles.files.map { file in
                // Written by the build's own embedder: always valid base64.
                (file.path, Array(Data(base64Encoded: file.base64) ?? Data()))
            }))

    /// Every file under `folder` (hidden ones left out).
    public static func directory(_ folder: URL) throws(TopicCatalog.LoadError) -> CatalogFiles {
        let root = folder.standardizedFileURL
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isFolder), isFolder.boolValue,
            let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey], options: [.skipsHiddenFiles])
        else {
            throw TopicCatalog.LoadError(file: folder.path, reason: "cannot list the folder: no such folder")
        }
        var files: [String: [UInt8]] = [:]
        for case let url as URL in walker where (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
            let path = String(url.standardizedFileURL.path.dropFirst(root.path.count + 1))
            do { files[path] = Array(try Data(contentsOf: url)) } catch {
                throw TopicCatalog.LoadError(file: path, reason: error.localizedDescription)
            }
        }
        return CatalogFiles(origin: root.path, files: files)
    }

    /// The built-in catalog, or the folder when one is given.
    public static func from(folder: String?) throws(TopicCatalog.LoadError) -> CatalogFiles {
        guard let folder else { return .embedded }
        return try directory(URL(fileURLWithPath: folder))
    }

    public var description: String { origin }

    /// The file's bytes, or nil when there is none at `path`.
    public func contents(_ path: String) -> [UInt8]? { files[path] }

    /// Names of the files directly in `folder` ("" for the top), sorted.
    public func fileNames(in folder: String) -> [String] {
        let prefix = folder.isEmpty ? "" : folder.hasSuffix("/") ? folder : folder + "/"
        return files.keys.filter { $0.hasPrefix(prefix) && !$0.dropFirst(prefix.count).contains("/") }
            .map { String($0.dropFirst(prefix.count)) }.sorted()
    }

    /// Every path, sorted.
    public var paths: [String] { files.keys.sorted() }

    /// Writes every file under `folder` (created if needed), for other teams or for editing and
    /// use with `--catalog`. Returns the number of files written.
    @discardableResult
    public func export(to folder: URL) throws -> Int {
        for (path, bytes) in files {
            let url = folder.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(bytes).write(to: url)
        }
        return files.count
    }
}
