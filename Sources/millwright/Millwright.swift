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
            Play three plants' ERP and MES against a cluster (orders, shop-floor events):
              millwright simulate --bootstrap-servers localhost:9092
            Create the catalog's topics on a cluster:
              millwright topics apply --bootstrap-servers localhost:9092
            Replay, clear exceptions:
              millwright offsets show|reset, millwright quarantine list|release|approve|reject,
              millwright dlq list|redrive
            The operators' console without processors (replays with the workers stopped):
              millwright console --bootstrap-servers localhost:9092
            """,
        subcommands: [
            DevCommand.self, RunCommand.self, ClusterCommand.self, TopicsCommand.self, OffsetsCommand.self, QuarantineCommand.self,
            DeadLetterCommand.self, ConsoleCommand.self, SimulateCommand.self,
        ]
    )
}
