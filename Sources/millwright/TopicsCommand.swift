import ArgumentParser
import Foundation
import Kafka
import Logging
import Manufacturing
import Ops

struct TopicsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics",
        abstract: "Create or list the catalog's topics on a cluster, or write the built-in catalog out.",
        subcommands: [Apply.self, List.self, Export.self]
    )

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create every catalog topic that the cluster does not have yet.",
            discussion: """
                Existing topics are left alone (a differing partition count is reported). \
                Replication is capped to the number of brokers. Each consumer group has its own \
                changelog topics (millwright.{group}.release.changelog.v1, \
                millwright.{group}.confirmation.changelog.v1): they are created for --group \
                (default millwright; several comma-separated). Per-plant release topics \
                (mes.{plant}.production-release.v1) are created for every plant in master data \
                (mdm.plant.v1) and for --plants; a worker creates a new plant's before its first release.
                librdkafka's mock cluster does not answer CreateTopics: `millwright cluster` \
                creates the catalog itself (its --group too), and unknown topics are auto-created \
                with 4 partitions.

                Example: millwright topics apply --bootstrap-servers localhost:9092 --group millwright
                """
        )

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var catalog: CatalogOptions
        @Option(help: "Also create the release topics of these plants (comma-separated).") var plants: String?
        @Option(help: "The consumer groups whose changelog topics to create (comma-separated): the --group of the workers.")
        var group: String = "millwright"
        @Option(help: "Seconds to wait for the cluster.") var timeout: Int = 30

        func validate() throws {
            if groupNames(group).isEmpty { throw ValidationError("--group: at least one group") }
        }

        func run() async throws {
            let catalog = try catalog.load()
            let provisioner = TopicProvisioner(client: try connection.clientConfiguration(), logger: quietLogger(), timeout: .seconds(timeout))
            var plants = (plants ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            // Every plant master data knows gets its release topic too (a worker creates a new
            // plant's on its first release; here it is there before).
            let known = try await provisioner.plantsInMasterData()
            if !known.isEmpty { print("plants in master data (mdm.plant.v1): \(known.joined(separator: ", "))") }
            plants = Array(Set(plants).union(known)).sorted()
            var missing: [KafkaNewTopic] = []
            for finding in try await provisioner.plan(catalog, groups: groupNames(group), plants: plants) {
                switch finding {
                case .exists(let name, let partitions, let wanted):
                    let note = wanted.map { " — catalog says \($0) partitions; change it by hand if needed" } ?? ""
                    print("exists   \(name) (\(partitions) partitions)\(note)")
                case .missing(let topic):
                    missing.append(topic)
                }
            }
            guard !missing.isEmpty else {
                print("nothing to create")
                return
            }
            let results: [KafkaTopicResult]
            do { results = try await provisioner.create(missing) } catch let error as ToolError { throw CommandError(error.description) }
            var failed = 0
            for result in results {
                if let error = result.error, error.code != .topicAlreadyExists {
                    failed += 1
                    print("FAILED   \(result.name): \(error.reason)")
                } else {
                    let spec = missing.first { $0.name == result.name }
                    print("created  \(result.name) (\(spec?.partitions ?? 0) partitions, replication \(spec?.replicationFactor ?? 0))")
                }
            }
            if failed > 0 { throw ExitCode(1) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the cluster's topics and whether the catalog knows them.",
            discussion: "Example: millwright topics list --bootstrap-servers localhost:9092"
        )

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var catalog: CatalogOptions
        @Flag(help: "Include internal topics (__consumer_offsets, …).") var all = false
        @Option(help: "The consumer groups whose changelog topics the cluster should have (comma-separated).") var group: String = "millwright"

        func run() async throws {
            let catalog = try? catalog.load()
            let provisioner = TopicProvisioner(client: try connection.clientConfiguration(), logger: quietLogger())
            let (topics, missing) = try await provisioner.inventory(catalog, groups: groupNames(group), all: all)
            print("TOPIC".padding(toLength: 44, withPad: " ", startingAt: 0) + " PARTITIONS  CATALOG")
            for topic in topics {
                print(
                    topic.name.padding(toLength: 44, withPad: " ", startingAt: 0)
                        + " " + String(topic.partitions).padding(toLength: 11, withPad: " ", startingAt: 0)
                        + " " + (topic.inCatalog ? "yes" : "-"))
            }
            if !missing.isEmpty {
                print("\nin the catalog but not on the cluster: \(missing.joined(separator: ", "))")
            }
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the topic catalog built into this binary (topic files, schemas, examples) to a folder.",
            discussion: """
                For other teams (the JSON Schemas and examples of every event), or to change it \
                and run with --catalog <folder>. Existing files of the same name are replaced.

                Example: millwright topics export --to ./millwright-topics
                """
        )

        @Option(help: "The folder to write to (created if needed).") var to: String

        func run() throws {
            let catalog = CatalogFiles.embedded
            do {
                let written = try catalog.export(to: URL(fileURLWithPath: to))
                print("wrote \(written) files to \(to)")
            } catch { throw CommandError("cannot write the catalog to \(to): \(error.localizedDescription)") }
        }
    }
}

/// `a, b` → `["a", "b"]`.
func groupNames(_ list: String) -> [String] {
    list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
}

/// librdkafka's warnings (broker connection retries) would drown the command's output.
func quietLogger() -> Logger {
    var logger = Logger(label: "millwright")
    logger.logLevel = .error
    return logger
}

/// A failure the command explains itself (printed as `Error: …`, without the usage text).
struct CommandError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
