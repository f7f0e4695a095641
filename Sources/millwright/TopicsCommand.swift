import ArgumentParser
import Foundation
import Kafka
import Logging
import Manufacturing

struct TopicsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics",
        abstract: "Create or list the topics of the catalog (topics/) on a cluster.",
        subcommands: [Apply.self, List.self]
    )

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create every catalog topic that the cluster does not have yet.",
            discussion: """
                Existing topics are left alone (a differing partition count is reported). \
                Replication is capped to the number of brokers. Per-plant release topics \
                (mes.{plant}.production-release.v1) are created on first use, or here with --plants.
                librdkafka's mock cluster does not answer CreateTopics: `millwright cluster` \
                creates the catalog itself, and unknown topics are auto-created with 4 partitions.

                Example: millwright topics apply --bootstrap-servers localhost:9092
                """
        )

        @OptionGroup var connection: ConnectionOptions
        @Option(help: "The topic catalog folder.") var catalog: String = "topics"
        @Option(help: "Also create the release topics of these plants (comma-separated).") var plants: String?
        @Option(help: "Seconds to wait for the cluster.") var timeout: Int = 30

        func run() async throws {
            let topics = try TopicCatalog.load(from: URL(fileURLWithPath: catalog))
            let admin = try KafkaAdminClient(configuration: connection.clientConfiguration(), logger: quietLogger())
            let existing = try await admin.listTopics(timeout: .seconds(timeout))
            let brokers = max(try await admin.brokerCount(timeout: .seconds(timeout)), 1)
            var wanted: [(TopicSpec, String)] = topics.fixedTopics.map { ($0, $0.name) }
            if let plants, let template = topics.topics.first(where: \.template) {
                wanted += plants.split(separator: ",").map {
                    (template, template.name(forPlant: $0.trimmingCharacters(in: .whitespaces)))
                }
            }
            var missing: [KafkaNewTopic] = []
            for (spec, name) in wanted {
                if let found = existing.first(where: { $0.name == name }) {
                    let note =
                        found.partitions.count == spec.partitions
                        ? "" : " — catalog says \(spec.partitions) partitions; change it by hand if needed"
                    print("exists   \(name) (\(found.partitions.count) partitions)\(note)")
                } else {
                    missing.append(
                        KafkaNewTopic(
                            name: name, partitions: spec.partitions,
                            replicationFactor: min(spec.replicationFactor, brokers), config: spec.config))
                }
            }
            guard !missing.isEmpty else {
                print("nothing to create")
                return
            }
            let results: [KafkaTopicResult]
            do {
                results = try await admin.createTopics(missing, timeout: .seconds(timeout))
            } catch {
                guard error.code == .timedOut else { throw error }
                throw CommandError(
                    """
                    the cluster did not answer CreateTopics within \(timeout) s (\(error.reason)). \
                    librdkafka's mock cluster never does: with `millwright cluster` the topics exist already.
                    """)
            }
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
        @Option(help: "The topic catalog folder.") var catalog: String = "topics"
        @Flag(help: "Include internal topics (__consumer_offsets, …).") var all = false

        func run() async throws {
            let topics = try? TopicCatalog.load(from: URL(fileURLWithPath: catalog))
            let admin = try KafkaAdminClient(configuration: connection.clientConfiguration(), logger: quietLogger())
            let existing = try await admin.listTopics()
            let known = Set(topics?.fixedTopics.map(\.name) ?? [])
            let template = topics?.topics.first(where: \.template)
            print("TOPIC".padding(toLength: 44, withPad: " ", startingAt: 0) + " PARTITIONS  CATALOG")
            for topic in existing where all || !topic.name.hasPrefix("__") {
                let inCatalog =
                    known.contains(topic.name)
                    || (template.map { Self.matches(topic.name, template: $0.name) } ?? false)
                print(
                    topic.name.padding(toLength: 44, withPad: " ", startingAt: 0)
                        + " " + String(topic.partitions.count).padding(toLength: 11, withPad: " ", startingAt: 0)
                        + " " + (inCatalog ? "yes" : "-"))
            }
            let missing = known.subtracting(existing.map(\.name)).sorted()
            if !missing.isEmpty {
                print("\nin the catalog but not on the cluster: \(missing.joined(separator: ", "))")
            }
        }

        static func matches(_ name: String, template: String) -> Bool {
            let parts = template.components(separatedBy: "{plant}")
            return parts.count == 2 && name.hasPrefix(parts[0]) && name.hasSuffix(parts[1])
                && name.count > parts[0].count + parts[1].count
        }
    }
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
