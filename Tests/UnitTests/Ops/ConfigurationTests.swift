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

        #expect(!defaults.streams.allowStateLoss, "off by default: a task whose changelog lost history stops the worker")
        #expect(
            try MillwrightConfiguration.load(yaml: "allowStateLoss: true", environment: [:], overrides: .init(bootstrapServers: "h:1")).streams.allowStateLoss)
        #expect(
            try !MillwrightConfiguration.load(
                yaml: "allowStateLoss: true", environment: ["MILLWRIGHT_ALLOW_STATE_LOSS": "false"], overrides: .init(bootstrapServers: "h:1")
            ).streams.allowStateLoss, "the environment wins over the file")
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
        #expect(failure("group: plant 1")?.contains("group: 'plant 1' has ' '; letters, digits, '.', '_' and '-' only") == true)
        #expect(failure(nil, ["MILLWRIGHT_GROUP": "a/b"])?.contains("group: 'a/b' has '/'") == true)
        #expect(failure("allowStateLoss: sometimes")?.contains("allowStateLoss: true or false (got 'sometimes')") == true)
    }

    @Test(
        "durations that overflow or make no sense are configuration errors naming the setting and the rule, from the environment, the file and the flags; the longest accepted one still loads"
    )
    func absurdDurations() throws {
        func failure(_ yaml: String?, _ environment: [String: String] = [:], shutdown: String? = nil) -> String? {
            do {
                _ = try MillwrightConfiguration.load(
                    yaml: yaml, environment: environment, overrides: .init(bootstrapServers: "h:1", shutdownTimeout: shutdown))
                return nil
            } catch { return error.description }
        }
        let tooLong = "is longer than the longest duration a setting takes, 2500000h (9000000000000 ms, about 285 years)"
        #expect(failure(nil, ["MILLWRIGHT_SESSION_TIMEOUT": "99999999999999999h"]) == "sessionTimeout: '99999999999999999h' \(tooLong)")
        #expect(failure("commitInterval: 1e30s") == "commitInterval: '1e30s' \(tooLong)")
        #expect(failure("commitInterval: 1e30") == "commitInterval: '1e+30' \(tooLong)", "a YAML number is milliseconds")
        #expect(failure(nil, ["MILLWRIGHT_IDLE_COMMIT_WAIT": "99999999999999999999999"]) == "idleCommitWait: '99999999999999999999999' \(tooLong)")
        #expect(failure("processing:\n  grace: 1e400ms") == "processing.grace: '1e400ms' \(tooLong)", "beyond a Double: still a clear error")
        #expect(failure(nil, shutdown: "2500001h") == "shutdownTimeout: '2500001h' \(tooLong)")
        #expect(failure("http:\n  livenessTimeout: -5s") == "http.livenessTimeout: '-5s' is negative; a duration is 0 or more")
        for nonsense in ["infs", "nan", "NaNms", "0x10s", "5 s", "", "s", "1e", "--1s"] {
            #expect(
                failure(nil, ["MILLWRIGHT_PARKING_TIMEOUT": nonsense])
                    == "processing.parkingTimeout: '\(nonsense)' is not a duration (like 250ms, 30s, 15m, 2h, 14d, or a number of milliseconds)",
                "\(nonsense)")
        }
        #expect(
            failure(nil, ["MILLWRIGHT_SESSION_TIMEOUT": "2h"]) == "sessionTimeout: at most 1h, librdkafka's limit of session.timeout.ms (got '2h')",
            "past librdkafka's range: refused here, not by the consumer at start")

        let longest = try MillwrightConfiguration.load(
            yaml: "processing:\n  parkingTimeout: 2500000h\n  grace: 1.5s\nsessionTimeout: 1h\nstateFileInterval: -0s", environment: [:],
            overrides: .init(bootstrapServers: "h:1"))
        #expect(longest.processing.parkingTimeout == 9_000_000_000_000)
        #expect(longest.processing.grace == 1_500)
        #expect(longest.streams.sessionTimeout == .seconds(3_600))
        #expect(longest.streams.stateFileInterval == .zero, "-0 is 0")
        #expect(try MillwrightConfiguration.duration("x", "1e3ms") == 1_000)
    }

    @Test(
        "the retentions of finished work come from the file and the environment (in days too), default to 14, 90, 30 and 90 days, and are refused below their minimum naming the setting"
    )
    func retentions() throws {
        let day: Int64 = 86_400_000
        let defaults = try MillwrightConfiguration.load(yaml: nil, environment: [:], overrides: .init(bootstrapServers: "h:1")).processing
        #expect(defaults.workOrderRetention == 14 * day && defaults.workOrderIdleRetention == 90 * day)
        #expect(defaults.orderRetention == 30 * day && defaults.retirementRecordRetention == 90 * day)
        let configured = try MillwrightConfiguration.load(
            yaml: "processing:\n  workOrderRetention: 7d\n  orderRetention: 45d\n  retirementRecordRetention: 2160h",
            environment: ["MILLWRIGHT_WORK_ORDER_IDLE_RETENTION": "30d", "MILLWRIGHT_ORDER_RETENTION": "60d"], overrides: .init(bootstrapServers: "h:1")
        ).processing
        #expect(configured.workOrderRetention == 7 * day && configured.workOrderIdleRetention == 30 * day)
        #expect(configured.orderRetention == 60 * day, "the environment wins over the file")
        #expect(configured.retirementRecordRetention == 90 * day)
        func failure(_ environment: [String: String]) -> String? {
            do {
                _ = try MillwrightConfiguration.load(yaml: nil, environment: environment, overrides: .init(bootstrapServers: "h:1"))
                return nil
            } catch { return error.description }
        }
        #expect(
            failure(["MILLWRIGHT_WORK_ORDER_RETENTION": "10m"])
                == "processing.workOrderRetention: at least windowSize + grace (a late event within the grace still counts in its window)")
        #expect(failure(["MILLWRIGHT_RETIREMENT_RECORD_RETENTION": "12h"]) == "processing.retirementRecordRetention: at least 1 day")
        #expect(
            failure(["MILLWRIGHT_ORDER_RETENTION": "soon"])
                == "processing.orderRetention: 'soon' is not a duration (like 250ms, 30s, 15m, 2h, 14d, or a number of milliseconds)")
    }

    @Test("stateCacheBytes: 32 MiB by default, from the file or MILLWRIGHT_STATE_CACHE_BYTES, a whole number of bytes, 0 allowed")
    func stateCacheBytes() throws {
        func load(_ yaml: String?, _ environment: [String: String] = [:]) throws -> MillwrightConfiguration {
            try MillwrightConfiguration.load(yaml: yaml, environment: environment, overrides: .init(bootstrapServers: "h:1"))
        }
        #expect(try load(nil).streams.stateCacheBytes == 32 * 1024 * 1024)
        #expect(try load("stateCacheBytes: 1000000").streams.stateCacheBytes == 1_000_000)
        #expect(try load("stateCacheBytes: 1000000", ["MILLWRIGHT_STATE_CACHE_BYTES": "0"]).streams.stateCacheBytes == 0)
        let error = #expect(throws: MillwrightConfiguration.Failure.self) { try load(nil, ["MILLWRIGHT_STATE_CACHE_BYTES": "32MB"]) }
        #expect(error?.description == "stateCacheBytes: a whole number of at least 0 (got '32MB')")
    }

    @Test("message.max.bytes below the size dead letters are cut to is refused, naming the property and the rule; larger is fine")
    func messageMaxBytes() throws {
        func load(_ environment: [String: String]) throws -> MillwrightConfiguration {
            try MillwrightConfiguration.load(yaml: nil, environment: environment, overrides: .init(bootstrapServers: "h:1"))
        }
        let small = #expect(throws: MillwrightConfiguration.Failure.self) { try load(["MILLWRIGHT_KAFKA_MESSAGE_MAX_BYTES": "65536"]) }
        #expect(
            small?.description
                == "kafka.properties message.max.bytes: at least 1000000, librdkafka's default: a dead letter of a larger input is cut to that size (got '65536')"
        )
        #expect(throws: MillwrightConfiguration.Failure.self) { try load(["MILLWRIGHT_KAFKA_MESSAGE_MAX_BYTES": "lots"]) }
        #expect(try load(["MILLWRIGHT_KAFKA_MESSAGE_MAX_BYTES": "2000000"]).streams.client.additionalProperties["message.max.bytes"] == "2000000")
    }
}
