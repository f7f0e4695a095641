import Foundation
import Kafka
import Logging
import Manufacturing
import Streams
import Synchronization

/// Sends a ``PlantSimulation`` to a cluster as the plants' systems would: the master data first,
/// then every record when its simulated time comes, simulated time running `speed` times as fast
/// as the wall clock. Keys as the contract says (orderId, workOrderId), murmur2 partitioning.
public final class PlantSimulator: Sendable {
    public struct Options: Sendable {
        /// Simulated seconds per wall-clock second (60: an hour of plant time a minute).
        public var speed: Double = 60
        /// Records per wall-clock second, on average (sets how often orders come).
        public var rate: Double = 50
        public var seed: UInt64 = 42
        /// Stop after this long (wall clock); nil: until cancelled.
        public var duration: Duration?

        public init() {}

        /// Records one order brings, on average, with the simulation's defaults (measured over
        /// 10,000 orders: approval, lots × operations, scrap, poison copies).
        public static let recordsPerOrder = 11.0

        /// Checks every value; the message names the option and the rule.
        public func validate() throws(ToolError) {
            guard speed.isFinite, speed > 0, speed <= 100_000 else { throw ToolError("--speed: between 0 and 100000 (got \(speed))") }
            guard rate.isFinite, rate > 0, rate <= 100_000 else { throw ToolError("--rate: between 0 and 100000 records a second (got \(rate))") }
        }

        /// The simulation these options give, starting at `start` (simulated ms).
        public func settings(start: Int64) -> PlantSimulation.Settings {
            var settings = PlantSimulation.Settings(seed: seed, start: start)
            settings.meanOrderGap = Self.recordsPerOrder * 1000 * speed / rate
            return settings
        }
    }

    /// What was sent so far, for a live summary.
    public struct Counts: Sendable, Hashable {
        public var masterData = 0
        public var orders = 0
        public var mesEvents = 0
        public var poison = 0
        public var simulatedTime: Int64 = 0
        public var total: Int { masterData + orders + mesEvents + poison }

        public init() {}
    }

    private let client: KafkaClientConfiguration
    private let options: Options
    private let logger: Logger
    private let counts = Mutex(Counts())

    public init(client: KafkaClientConfiguration, options: Options, logger: Logger) {
        self.client = client
        self.options = options
        self.logger = logger
    }

    public var sent: Counts { counts.withLock { $0 } }

    /// Runs until cancelled or `duration` passed; returns what the simulation generated (its
    /// MES events scheduled after the stop were not sent).
    @discardableResult
    public func run() async throws -> PlantSimulation.Expected {
        var configuration = KafkaProducerConfiguration(client: client)
        configuration.linger = .milliseconds(5)
        let producer = try KafkaProducer(configuration: configuration, logger: logger)
        let began = ContinuousClock.now
        let start = Int64(Date().timeIntervalSince1970 * 1000)
        var simulation = PlantSimulation(settings: options.settings(start: start))
        let masterData = simulation.masterData()
        _ = try await producer.send(batch: masterData.map(KafkaProducerMessage.init))
        counts.withLock { $0.masterData = masterData.count }
        logger.info("master data sent", metadata: ["records": "\(masterData.count)"])
        do {
            while !Task.isCancelled {
                let elapsed = ContinuousClock.now - began
                if let duration = options.duration, elapsed >= duration { break }
                let now = start + Int64(Double(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000) * options.speed)
                let due = simulation.events(through: now)
                if !due.isEmpty {
                    _ = try await producer.send(batch: due.map { KafkaProducerMessage($0.record) })
                }
                counts.withLock { counts in
                    for event in due {
                        switch event.kind {
                        case .order: counts.orders += 1
                        case .mes: counts.mesEvents += 1
                        case .poison: counts.poison += 1
                        }
                    }
                    counts.simulatedTime = now
                }
                try await Task.sleep(for: .milliseconds(100))
            }
        } catch is CancellationError {}
        await producer.close()
        return simulation.expected
    }
}
