import ArgumentParser
import Manufacturing

/// `--catalog`: the topic catalog is built into the binary; a folder given here replaces it.
struct CatalogOptions: ParsableArguments {
    @Option(help: "A topic catalog folder to use instead of the built-in one (`millwright topics export` writes it out).")
    var catalog: String?

    func files() throws -> CatalogFiles {
        do { return try CatalogFiles.from(folder: catalog) } catch { throw CommandError(error.description) }
    }

    func load() throws -> TopicCatalog {
        do { return try TopicCatalog.load(try files()) } catch let error as TopicCatalog.LoadError { throw CommandError(error.description) }
    }
}
