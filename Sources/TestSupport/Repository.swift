import Foundation

/// The repository's folders, for tests and fixtures that read its files (the topic catalog, its
/// examples) or write beside the build (screenshots under `.build/`).
public enum Repository {
    /// The repository's root: this file is `Sources/TestSupport/Repository.swift`.
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// The topic catalog, `topics/`.
    public static let topics = root.appendingPathComponent("topics")
}
