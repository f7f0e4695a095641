import ArgumentParser
import Foundation
import Kafka
import Logging
import Manufacturing
import Ops
import UnixSignals

struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Run a Kafka cluster inside this process, with the catalog's topics.",
        discussion: """
            Starts librdkafka's mock cluster: real Kafka-protocol brokers on 127.0.0.1 that any \
            client (kcat, other services) can use. The first line on stdout is the bootstrap \
            servers; details go to stderr. Runs until Ctrl-C or SIGTERM. Data lives in memory \
            only (about 5 MB per partition is kept). Each consumer group has its own changelog \
            topics: name the groups of the workers you will run (--group, default millwright).

            Example:
              millwright cluster --brokers 3 | head -1    # 127.0.0.1:39451,127.0.0.1:…
              kcat -b <that list> -L
            """
    )

    @Option(help: "Number of brokers (ids 1…N).")
    var brokers: Int = 3

    @OptionGroup var catalog: CatalogOptions

    @Option(help: "Plants whose release topics to create up front (comma-separated).")
    var plants: String = "P100"

    @Option(help: "Consumer groups whose changelog topics to create (comma-separated): those of the workers you will run against it.")
    var group: String = "millwright"

    var groups: [String] { groupNames(group) }

    func validate() throws {
        if brokers < 1 { throw ValidationError("--brokers: at least 1 (got \(brokers))") }
        if groups.isEmpty { throw ValidationError("--group: at least one group") }
    }

    func run() async throws {
        let logger = Logger(label: "millwright.cluster")
        let topics = try catalog.load()
        let plants = plants.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let (cluster, created) = try EmbeddedCluster.start(catalog: topics, brokers: brokers, plants: plants, groups: groups, logger: logger)
        // Written unbuffered so that a pipe sees the line at once.
        FileHandle.standardOutput.write(Data((cluster.bootstrapServers + "\n").utf8))
        FileHandle.standardError.write(
            Data(
                """
                millwright cluster: \(brokers) broker(s) on \(cluster.bootstrapServers)
                created \(created.count) topics:
                \(created.map { "  " + $0 }.joined(separator: "\n"))
                (the mock cluster does not compact; mdm.* topics keep every version)
                Ctrl-C to stop.

                """.utf8))
        var signal: UnixSignal?
        for await caught in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
            signal = caught
            break
        }
        FileHandle.standardError.write(Data("millwright cluster: stopping on signal \(signal.map { "\($0)" } ?? "?")\n".utf8))
        withExtendedLifetime(cluster) {}
    }
}
