import ArgumentParser

@main
struct Millwright: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "millwright",
        abstract: "Event-stream integration between ERP, MES and CRM on Kafka.",
        discussion: """
            Start a Kafka cluster inside this process for trying things out:
              millwright cluster
            Create the catalog's topics on a cluster:
              millwright topics apply --bootstrap-servers localhost:9092
            """,
        subcommands: [ClusterCommand.self, TopicsCommand.self]
    )
}
