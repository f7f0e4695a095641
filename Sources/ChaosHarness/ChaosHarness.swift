import ArgumentParser
import Chaos
import Foundation
import Logging

@main
struct ChaosHarness: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ChaosHarness",
        abstract: "Workers under faults on the in-process cluster; every output checked against the input.",
        discussion: """
            Starts the in-process cluster with the catalog's topics and worker processes \
            (`millwright run`, next to this executable or --millwright) of one group, sends the \
            simulated plants' orders and MES events with fuzzed records among them, and meanwhile \
            kills workers with SIGKILL and starts them again, lets a further worker join and \
            leave, takes brokers down, injects request errors and latency. Then it reads every \
            output and checks it against what the input must give. Prints a table; exit 1 if \
            anything was lost, doubled, wrong or unexplained.

            Examples:
              bash .ci/chaos                  # the bounded CI profile
              bash .ci/chaos --full           # 10,000 orders, 100,000 MES events
              bash .ci/chaos --soak 30        # 30 minutes, memory sampled every 10 s
            """
    )

    @Option(help: "The seed of the workload and the faults.") var seed: UInt64 = 1
    @Flag(help: "The full profile (10,000 orders) instead of the bounded CI one.") var full = false
    @Option(help: "A soak of this many minutes.") var soak: Int?
    @Option(help: "Orders (overrides the profile's).") var orders: Int?
    @Option(help: "Broker outages (overrides the profile's).") var outages: Int?
    @Option(help: "The workers' log level (debug logs every transaction with its batch id).") var workerLogLevel = "info"
    @Option(help: "The millwright executable (default: next to this one).") var millwright: String?

    func run() async throws {
        var profile = soak.map(ChaosProfile.soak(minutes:)) ?? (full ? ChaosProfile() : .ci)
        profile.seed = seed
        if let orders { profile.orders = orders }
        if let outages { profile.brokerOutages = outages }
        profile.workerLogLevel = workerLogLevel
        let executable =
            millwright.map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("millwright")
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw ValidationError("no millwright executable at \(executable.path): build it first (swift build -c release --product millwright)")
        }
        var logger = Logger(label: "chaos")
        logger.logLevel = .critical  // the in-process cluster's connection errors during outages are expected
        let report = try await ChaosRun(profile: profile, millwright: executable, logger: logger) { line in
            FileHandle.standardOutput.write(Data((line + "\n").utf8))
        }.run()
        print(report.table)
        if !report.passed { throw ExitCode(1) }
    }
}
