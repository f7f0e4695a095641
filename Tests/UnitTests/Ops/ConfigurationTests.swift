import Foundation
import Kafka
import Manufacturing
import Ops
import Streams
import Testing

@Suite("Worker configuration: file, environment, flags")
struct ConfigurationTests {
    @Test("defaults are the contract's, and later sources win: file < environment < flags")
    func precedence() throws {
        let yaml = """
            kafka:
              bootstrapServers: file:9092
              properties:
                security.protocol: sasl_ssl
            group: from-file
            processing:
              windowSize: 30m
              grace: 2m
              overDeliveryTolerance: 0.2
            """
        let configuration = try MillwrightConfiguration.load(
            yaml: yaml,
            environment: [
                "MILLWRIGHT_GROUP": "from-env", "MILLWRIGHT_SCRAP_TOLERANCE": "0.08", "MILLWRIGHT_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512", "PATH": "/bin",
            ],
            overrides: .init(bootstrapServers: "flag:9092"))
        #expect(configuration.streams.client.bootstrapServers == ["flag:9092"])
        #expect(configuration.streams.group == "from-env")
        #expect(configuration.processing.windowSize == 30 * 60_000)
        #expect(configuration.processing.grace == 2 * 60_000)
        #expect(configuration.processing.overDeliveryTolerance == 0.2)
        #expect(configuration.processing.scrapTolerance == 0.08)
        #expect(configuration.processing.parkingTimeout == 10 * 60_000, "default")
        #expect(configuration.streams.client.additionalProperties == ["security.protocol": "sasl_ssl", "sasl.mechanism": "SCRAM-SHA-512"])

        let defaults = try MillwrightConfiguration.load(yaml: nil, environment: [:], overrides: .init(bootstrapServers: "h:1"))
        #expect(defaults.processing.windowSize == 15 * 60_000)
        #expect(defaults.processing.grace == 5 * 60_000)
        #expect(defaults.processing.idleTimeout == 60_000)
        #expect(defaults.streams.commitInterval == .milliseconds(100))
        #expect(defaults.streams.idleCommitWait == .milliseconds(10))
        #expect(
            try MillwrightConfiguration.load(yaml: "idleCommitWait: 100ms", environment: [:], overrides: .init(bootstrapServers: "h:1")).streams.idleCommitWait
                == .milliseconds(100))
        #expect(
            try MillwrightConfiguration.load(
                yaml: "idleCommitWait: 100ms", environment: ["MILLWRIGHT_IDLE_COMMIT_WAIT": "25ms"], overrides: .init(bootstrapServers: "h:1")
            ).streams.idleCommitWait == .milliseconds(25))
        #expect(defaults.streams.group == "millwright")
        #expect(defaults.streams.maxRecordsPerTransaction == 10_000)
        #expect(defaults.streams.maxBufferedRecordsPerPartition == 5_000)
        #expect(defaults.streams.streamThreads == min(4, ProcessInfo.processInfo.activeProcessorCount), "the machine's cores, at most 4")
        #expect(
            try MillwrightConfiguration.load(yaml: "streamThreads: 3", environment: [:], overrides: .init(bootstrapServers: "h:1")).streams.streamThreads == 3)
        #expect(
            try MillwrightConfiguration.load(
                yaml: "streamThreads: 3", environment: ["MILLWRIGHT_STREAM_THREADS": "2"], overrides: .init(bootstrapServers: "h:1")
            ).streams.streamThreads == 2)

        let bounded = try MillwrightConfiguration.load(
            yaml: "maxRecordsPerTransaction: 2000", environment: ["MILLWRIGHT_MAX_BUFFERED_RECORDS_PER_PARTITION": "1000"],
            overrides: .init(bootstrapServers: "h:1"))
        #expect(bounded.streams.maxRecordsPerTransaction == 2_000)
        #expect(bounded.streams.maxBufferedRecordsPerPartition == 1_000)

        #expect(defaults.streams.stateFileInterval == .seconds(1))
        #expect(
            try MillwrightConfiguration.load(yaml: "stateFileInterval: 5s", environment: [:], overrides: .init(bootstrapServers: "h:1")).streams
                .stateFileInterval == .seconds(5))
        #expect(
            try MillwrightConfiguration.load(yaml: nil, environment: ["MILLWRIGHT_STATE_FILE_INTERVAL": "0"], overrides: .init(bootstrapServers: "h:1")).streams
                .stateFileInterval == .zero, "0: every commit")
    }

    @Test("bad input is refused naming the source, the setting and the rule")
    func errors() {
        func failure(_ yaml: String?, _ environment: [String: String] = [:], servers: String? = "h:1") -> String? {
            do {
                _ = try MillwrightConfiguration.load(yaml: yaml, environment: environment, overrides: .init(bootstrapServers: servers))
                return nil
            } catch { return error.description }
        }
        #expect(failure(nil, servers: nil)?.contains("kafka.bootstrapServers: required") == true)
        #expect(failure("maxRecordsPerTransaction: 0")?.contains("maxRecordsPerTransaction: a whole number of at least 1 (got '0')") == true)
        #expect(failure(nil, ["MILLWRIGHT_STREAM_THREADS": "0"])?.contains("streamThreads: a whole number of at least 1 (got '0')") == true)
        #expect(failure("streamThreads: 65")?.contains("streamThreads: from 1 to 64") == true)
        #expect(
            failure(nil, ["MILLWRIGHT_MAX_BUFFERED_RECORDS_PER_PARTITION": "lots"])?.contains(
                "maxBufferedRecordsPerPartition: a whole number of at least 5 (got 'lots')") == true)
        #expect(failure(nil, ["MILLWRIGHT_IDLE_COMMIT_WAIT": "0"])?.contains("idleCommitWait: at least 1 ms") == true)
        #expect(failure("stateFileInterval: often")?.contains("stateFileInterval: 'often' is not a duration") == true)
        #expect(failure("processing:\n  grace: soon")?.contains("processing.grace: 'soon' is not a duration") == true)
        #expect(failure("procesing:\n  grace: 1m")?.contains("unknown setting 'procesing.grace'") == true)
        #expect(failure(nil, ["MILLWRIGHT_WINDOW": "15m"])?.contains("MILLWRIGHT_WINDOW: unknown setting") == true)
        #expect(failure("processing:\n  windowSize: 7m")?.contains("windowSize: must divide a day") == true)
        #expect(failure("processing:\n  scrapTolerance: 1.5")?.contains("scrapTolerance") == true)
        #expect(failure(": : :")?.contains("config file") == true)
    }
}
