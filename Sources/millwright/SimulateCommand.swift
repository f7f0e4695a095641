import ArgumentParser
import Foundation
import Ops
import Synchronization
import UnixSignals

struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Play three plants' ERP and MES against a cluster: master data, then a continuous stream of orders and shop-floor events.",
        discussion: """
            Sends master data for plants P100 (Stuttgart) and P200 (Brno), active, and P300 \
            (Puebla), inactive, then orders approved by ERP (keyed by orderId) and, for each \
            released work order, MES completions lot by lot and operation by operation, with \
            scrap (keyed by workOrderId, murmur2). A few orders fail master-data checks, a few \
            events come later than the grace period, a few work orders are over-reported, a few \
            events name work orders never released, and a few records are cut short (poison). \
            The same --seed gives the same records in the same order.

            Examples:
              millwright simulate --bootstrap-servers localhost:9092
              millwright simulate --bootstrap-servers localhost:9092 --speed 600 --rate 500 --duration 60
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @Option(help: "Simulated seconds per second of the wall clock (60: an hour of plant time a minute).") var speed: Double = 60
    @Option(help: "Records a second, on average (sets how often orders come).") var rate: Double = 50
    @Option(help: "The seed: the same seed, the same records.") var seed: UInt64 = 42
    @Option(help: "Stop after this many seconds (default: until Ctrl-C).") var duration: Int?
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if let duration, duration < 1 { throw ValidationError("--duration: at least 1 second (got \(duration))") }
        do { try options.validate() } catch { throw ValidationError(error.description) }
    }

    var options: PlantSimulator.Options {
        var options = PlantSimulator.Options()
        options.speed = speed
        options.rate = rate
        options.seed = seed
        options.duration = duration.map { .seconds($0) }
        return options
    }

    func run() async throws {
        let logger = try logging.bootstrap(label: "millwright.simulate", defaultLevel: "warning")
        let simulator = PlantSimulator(client: try connection.clientConfiguration(), options: options, logger: logger)
        let finished = Atomic<Bool>(false)
        let task = Task {
            defer { finished.store(true, ordering: .relaxed) }
            return try await simulator.run()
        }
        // Ctrl-C or SIGTERM: stop sending and close the producer (what was sent is delivered).
        let signals = Task {
            for await _ in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
                task.cancel()
                break
            }
        }
        defer { signals.cancel() }
        var last = PlantSimulator.Counts()
        while !finished.load(ordering: .relaxed) {
            try? await Task.sleep(for: .seconds(1))
            let now = simulator.sent
            print(
                "sent \(now.total) records (+\(now.total - last.total)/s): \(now.orders) orders, \(now.mesEvents) MES events, \(now.poison) poison, \(now.masterData) master data; plant time \(Date(timeIntervalSince1970: Double(now.simulatedTime) / 1000))"
            )
            last = now
        }
        _ = try await task.value
    }
}
