import ArgumentParser
import BenchmarkSupport
import CKafkaBench
import Foundation
import Kafka
import Logging

/// Produce and consume through the Swift Kafka layer and through plain C loops over librdkafka,
/// in the same run, on the in-process cluster; prints messages/s for both and the ratio.
@main
struct KafkaBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "KafkaBenchmark",
        abstract: "Swift Kafka layer vs plain C over librdkafka, same run, in-process cluster.")

    @Option(help: "Messages per run (the mock keeps ~5 MB per partition: keep messages × size / partitions below it).")
    var messages: Int = 250_000
    @Option(help: "Value size in bytes.") var size: Int = 200
    @Option(help: "Partitions of the benchmark topics.") var partitions: Int = 12
    @Option(help: "Brokers of the in-process cluster.") var brokers: Int = 3
    @Option(help: "queued.min.messages for both consumers (librdkafka default 100,000; see Docs/performance.md).")
    var prefetch: Int = 100_000
    @Option(help: "Rounds; each round measures every path once, alternating which goes first.") var rounds: Int = 3

    func run() async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = ProcessInfo.processInfo.environment["BENCH_RDKAFKA_DEBUG"] == nil ? .error : .debug
        let cluster = try InProcessKafkaCluster(brokers: brokers, logger: logger)
        let bootstrap = cluster.bootstrapServers
        print("in-process cluster: \(brokers) brokers, \(partitions) partitions, \(messages) messages of \(size) B, prefetch \(prefetch), \(rounds) rounds")
        var results: [String: [Double]] = [:]
        for round in 0..<rounds {
            let cTopic = "bench-c-\(round)"
            let swiftTopic = "bench-swift-\(round)"
            try cluster.createTopic(cTopic, partitions: partitions, replicationFactor: brokers)
            try cluster.createTopic(swiftTopic, partitions: partitions, replicationFactor: brokers)
            let produceOrder = round % 2 == 0 ? ["c", "swift"] : ["swift", "c"]
            for path in produceOrder {
                let rate =
                    path == "c"
                    ? try cProduce(bootstrap, cTopic)
                    : try await swiftProduce(bootstrap, swiftTopic, logger)
                results["produce-\(path)", default: []].append(rate)
            }
            // Both consume the same data (the C producer's topic).
            for path in round % 2 == 0 ? ["c", "swift-batch", "swift-sequence"] : ["swift-sequence", "swift-batch", "c"] {
                let rate: Double
                switch path {
                case "c": rate = try cConsume(bootstrap, cTopic)
                case "swift-batch": rate = try await swiftConsumeBatch(bootstrap, cTopic, logger)
                default: rate = try await swiftConsumeSequence(bootstrap, cTopic, logger)
                }
                results["consume-\(path)", default: []].append(rate)
            }
            print("round \(round + 1): " + results.keys.sorted().map { "\($0) \(format(results[$0]!.last!))" }.joined(separator: ", "))
        }
        let median = results.mapValues { $0.sorted()[$0.count / 2] }
        print("")
        print("median msgs/s over \(rounds) rounds")
        print(
            "  produce  C \(format(median["produce-c"]!))  Swift \(format(median["produce-swift"]!))  ratio \(percent(median["produce-swift"]! / median["produce-c"]!)) (target ≥ 80%)"
        )
        print(
            "  consume  C \(format(median["consume-c"]!))  Swift batch \(format(median["consume-swift-batch"]!))  ratio \(percent(median["consume-swift-batch"]! / median["consume-c"]!)) (target ≥ 70%)"
        )
        print(
            "  consume  Swift AsyncSequence \(format(median["consume-swift-sequence"]!))  ratio \(percent(median["consume-swift-sequence"]! / median["consume-c"]!))"
        )
        print("peak RSS \(BenchmarkSupport.peakRSSMegabytes().map(String.init) ?? "n/a") MB")
    }

    func cProduce(_ bootstrap: String, _ topic: String) throws -> Double {
        let seconds = mwbench_c_produce(bootstrap, topic, Int64(messages), Int32(size))
        guard seconds > 0 else { throw BenchmarkError("C produce failed") }
        return Double(messages) / seconds
    }

    func cConsume(_ bootstrap: String, _ topic: String) throws -> Double {
        let seconds = mwbench_c_consume(bootstrap, topic, Int32(partitions), Int64(messages), Int32(prefetch))
        guard seconds > 0 else { throw BenchmarkError("C consume failed (stalled or short)") }
        return Double(messages) / seconds
    }

    func swiftProduce(_ bootstrap: String, _ topic: String, _ logger: Logger) async throws -> Double {
        var configuration = KafkaProducerConfiguration(bootstrapServers: [bootstrap])
        configuration.linger = .milliseconds(5)
        let producer = try KafkaProducer(configuration: configuration, logger: logger)
        let value = [UInt8](repeating: UInt8(ascii: "x"), count: size)
        let started = ContinuousClock.now
        for i in 0..<messages {
            try producer.send(KafkaProducerMessage(topic: topic, key: Array("k\(i)".utf8), value: value))
        }
        try await producer.flush(timeout: .seconds(120))
        let elapsed = ContinuousClock.now - started
        await producer.close()
        return Double(messages) / elapsed.seconds
    }

    func assignedConsumer(_ bootstrap: String, _ topic: String, _ logger: Logger) throws -> KafkaConsumer {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: [bootstrap], groupID: "bench-\(UUID().uuidString)")
        configuration.isolationLevel = .readUncommitted  // as the C loop (librdkafka's default)
        configuration.client.debugContexts = ProcessInfo.processInfo.environment["BENCH_RDKAFKA_DEBUG"]
        configuration.maxPrefetchedMessages = prefetch
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        try consumer.assign(
            (0..<partitions).map {
                KafkaTopicPartitionOffset(topic: topic, partition: Int32($0), offset: KafkaOffset.beginning)
            })
        return consumer
    }

    /// Batch polls on a thread of its own (the throughput path the stream runtime uses).
    func swiftConsumeBatch(_ bootstrap: String, _ topic: String, _ logger: Logger) async throws -> Double {
        let consumer = try assignedConsumer(bootstrap, topic, logger)
        let target = messages
        let seconds: Double = try await withCheckedThrowingContinuation { continuation in
            Thread {
                do {
                    var seen = 0
                    var bytes = 0
                    var started: ContinuousClock.Instant?
                    while seen < target {
                        for event in try consumer.pollBatch(maxMessages: 10_000, timeout: .milliseconds(100)) {
                            if case .message(let m) = event {
                                if started == nil { started = .now }
                                seen += 1
                                bytes += m.valueCount ?? 0  // the length, as the C loop reads it: no copy
                            }
                        }
                    }
                    continuation.resume(returning: (ContinuousClock.now - started!).seconds)
                } catch {
                    continuation.resume(throwing: error)
                }
            }.start()
        }
        try await consumer.close()
        return Double(messages) / seconds
    }

    /// The `messages` AsyncSequence (one hop to the consumer's queue per batch).
    func swiftConsumeSequence(_ bootstrap: String, _ topic: String, _ logger: Logger) async throws -> Double {
        let consumer = try assignedConsumer(bootstrap, topic, logger)
        var seen = 0
        var started: ContinuousClock.Instant?
        var gaps: [Double] = []
        var last = ContinuousClock.now
        for try await _ in consumer.messages {
            if started == nil { started = .now }
            let now = ContinuousClock.now
            let gap = (now - last).seconds
            if gap > 0.05 { gaps.append(gap) }
            last = now
            seen += 1
            if seen == messages { break }
        }
        if ProcessInfo.processInfo.environment["BENCH_DEBUG"] != nil { print("sequence gaps > 50ms: \(gaps)") }
        let seconds = (ContinuousClock.now - started!).seconds
        try await consumer.close()
        return Double(messages) / seconds
    }

    func format(_ rate: Double) -> String { "\(Int(rate.rounded()))" }
    func percent(_ ratio: Double) -> String { "\(Int((ratio * 100).rounded()))%" }

}
