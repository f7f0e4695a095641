import ArgumentParser

@main
struct Millwright: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "millwright",
        abstract: "Event-stream integration between ERP, MES and CRM on Kafka.",
        discussion: """
            Try it all on the embedded default (cluster, worker, sample data, outputs):
              millwright dev
            Run a worker against a cluster:
              millwright run --bootstrap-servers localhost:9092
            Start a Kafka cluster inside this process:
              millwright cluster
            Create the catalog's topics on a cluster:
              millwright topics apply --bootstrap-servers localhost:9092
            """,
        subcommands: [DevCommand.self, RunCommand.self, ClusterCommand.self, TopicsCommand.self, OffsetsCommand.self]
    )

    /// Limits glibc's malloc arenas first, while the program has one thread: an arena another
    /// thread made before the limit stays in use (set from a command's `run()`, which runs on
    /// the concurrency runtime's threads, one arena came out as two).
    static func main() async {
        limitMallocArenas()
        await main(nil)
    }
}
