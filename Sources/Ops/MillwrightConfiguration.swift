import Foundation
import Kafka
import Manufacturing
import Streams
import Yams

/// Everything `millwright run` needs, from defaults, a YAML file, `MILLWRIGHT_*` environment
/// variables and command-line flags — in that order, later ones winning. Validated once here;
/// nothing deeper reads the environment.
public struct MillwrightConfiguration: Sendable {
    public var streams: StreamsConfiguration
    public var processing: ProcessingSettings
    /// The worker's HTTP server: probes and metrics.
    public var http = HTTPSettings()
    /// The order API on the HTTP server (`/api/v1/order-requests`, `/api/v1/orders/…`).
    public var api = OrderAPISettings()
    /// How long a graceful stop (SIGTERM, SIGINT) may take before the worker stops at once: it
    /// finishes open transactions and leaves the groups within it. Default 30 s.
    public var shutdownTimeout: Duration = .seconds(30)

    /// The worker's HTTP server (`/healthz`, `/readyz`, `/metrics`).
    public struct HTTPSettings: Sendable, Hashable {
        /// Off with `--no-http` (`http.enabled: false`): no server and no metrics. Default on.
        public var enabled = true
        /// The address to bind. Default `0.0.0.0` for `millwright run`, `127.0.0.1` for `dev`.
        public var host = "0.0.0.0"
        /// The port; 0 picks a free one and logs it. Default 8080.
        public var port = 8080
        /// `/healthz` answers 503 when a loop thread has not polled for this long. Default 60 s.
        public var livenessTimeout: Duration = .seconds(60)
        /// Bearer token of the operator API's read endpoints (`/api/v1/…` GET). Default none: they
        /// answer 403. Never logged.
        public var readToken: String? = nil
        /// Bearer token of the operator API's actions (and reads). Default none: they answer 403.
        public var adminToken: String? = nil
        /// The console (`/console`) and its view of the outputs: a reader that tails postings,
        /// releases and order status (no consumer group). Default on.
        public var console = true
        public init() {}
    }

    /// A problem with the configuration, naming where it came from, the setting and the rule.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    /// The flags of `millwright run`; `nil` leaves the value to the other sources.
    public struct Overrides: Sendable {
        public var bootstrapServers: String?
        public var group: String?
        public var stateDirectory: String?
        /// `--http-port`, `--http-host`, `--no-http` (false), `--shutdown-timeout`.
        public var httpPort: Int?
        public var httpHost: String?
        public var httpEnabled: Bool?
        public var shutdownTimeout: String?
        public init(
            bootstrapServers: String? = nil, group: String? = nil, stateDirectory: String? = nil, httpPort: Int? = nil,
            httpHost: String? = nil, httpEnabled: Bool? = nil, shutdownTimeout: String? = nil
        ) {
            self.bootstrapServers = bootstrapServers
            self.group = group
            self.stateDirectory = stateDirectory
            self.httpPort = httpPort
            self.httpHost = httpHost
            self.httpEnabled = httpEnabled
            self.shutdownTimeout = shutdownTimeout
        }
    }

    /// Builds the configuration.
    /// - Parameters:
    ///   - yaml: the configuration file's text, if one was given.
    ///   - environment: the process environment (only `MILLWRIGHT_*` is read).
    ///   - httpHost: `http.host` unless a source sets it (`0.0.0.0` for `run`, `127.0.0.1` for `dev`).
    public static func load(
        yaml: String?, environment: [String: String], overrides: Overrides, httpHost: String = "0.0.0.0"
    ) throws(Failure) -> MillwrightConfiguration {
        var values: [String: String] = [:]  // flat: "kafka.bootstrapServers", "processing.grace", …
        var kafkaProperties: [String: String] = [:]
        var apiTokens: [String: [String: String]] = [:]  // name → token, scopes
        if let yaml {
            let node: Any?
            do { node = try Yams.load(yaml: yaml) } catch { throw Failure("config file: not YAML: \(error)") }
            guard let root = node as? [String: Any] else { throw Failure("config file: the top level must be a mapping") }
            try flatten(root, prefix: "", into: &values, properties: &kafkaProperties, tokens: &apiTokens)
        }
        for (name, value) in environment where name.hasPrefix("MILLWRIGHT_") {
            let rest = String(name.dropFirst("MILLWRIGHT_".count))
            if rest.hasPrefix("KAFKA_") {
                // MILLWRIGHT_KAFKA_SECURITY_PROTOCOL=sasl_ssl → security.protocol
                kafkaProperties[rest.dropFirst("KAFKA_".count).lowercased().replacingOccurrences(of: "_", with: ".")] = value
            } else if let key = environmentKeys[rest] {
                values[key] = value
            } else if ["LOG_LEVEL", "LOG_FORMAT"].contains(rest) {
                continue  // read by the command line (logging is bootstrapped before this)
            } else if rest.hasPrefix("API_TOKEN_") || rest.hasPrefix("API_SCOPES_") {
                // MILLWRIGHT_API_TOKEN_CRM=… and MILLWRIGHT_API_SCOPES_CRM=orders:write,orders:read
                let isToken = rest.hasPrefix("API_TOKEN_")
                let tokenName = rest.dropFirst(isToken ? "API_TOKEN_".count : "API_SCOPES_".count).lowercased()
                apiTokens[tokenName, default: [:]][isToken ? "token" : "scopes"] = value
            } else if rest == "SASL_PASSWORD" {
                kafkaProperties["sasl.password"] = value  // as `topics` and `offsets` read it
            } else {
                throw Failure(
                    "environment \(name): unknown setting (known: \(environmentKeys.keys.sorted().map { "MILLWRIGHT_" + $0 }.joined(separator: ", ")), MILLWRIGHT_KAFKA_<librdkafka property>)"
                )
            }
        }
        if let v = overrides.bootstrapServers { values["kafka.bootstrapServers"] = v }
        if let v = overrides.group { values["group"] = v }
        if let v = overrides.stateDirectory { values["stateDirectory"] = v }
        if let v = overrides.httpPort { values["http.port"] = String(v) }
        if let v = overrides.httpHost { values["http.host"] = v }
        if let v = overrides.httpEnabled { values["http.enabled"] = String(v) }
        if let v = overrides.shutdownTimeout { values["shutdownTimeout"] = v }

        guard let servers = values["kafka.bootstrapServers"], !servers.isEmpty else {
            throw Failure("kafka.bootstrapServers: required (--bootstrap-servers, MILLWRIGHT_BOOTSTRAP_SERVERS or the config file)")
        }
        if let raw = kafkaProperties["message.max.bytes"] {
            // Dead letters are cut to fit DeadLetter.messageMaxBytes; a smaller limit would refuse them.
            guard let bytes = Int(raw.trimmingCharacters(in: .whitespaces)), bytes >= DeadLetter.messageMaxBytes else {
                throw Failure(
                    "kafka.properties message.max.bytes: at least \(DeadLetter.messageMaxBytes), librdkafka's default: a dead letter of a larger input is cut to that size (got '\(raw)')"
                )
            }
        }
        var client = KafkaClientConfiguration(bootstrapServers: servers)
        if let v = values["kafka.clientId"] { client.clientID = v }
        client.additionalProperties = kafkaProperties
        var streams = StreamsConfiguration(client: client)
        if let v = values["group"] { streams.group = v }
        if let v = values["stateDirectory"] { streams.stateDirectory = v }
        if let v = values["commitInterval"] { streams.commitInterval = .milliseconds(try duration("commitInterval", v)) }
        if let v = values["idleCommitWait"] { streams.idleCommitWait = .milliseconds(try duration("idleCommitWait", v)) }
        if let v = values["streamThreads"] { streams.streamThreads = try wholeNumber("streamThreads", v, minimum: 1) }
        if let v = values["maxRecordsPerTransaction"] { streams.maxRecordsPerTransaction = try wholeNumber("maxRecordsPerTransaction", v, minimum: 1) }
        if let v = values["maxOutputBytesPerTransaction"] {
            streams.maxOutputBytesPerTransaction = try wholeNumber("maxOutputBytesPerTransaction", v, minimum: 1024)
        }
        if let v = values["maxBufferedRecordsPerPartition"] {
            streams.maxBufferedRecordsPerPartition = try wholeNumber("maxBufferedRecordsPerPartition", v, minimum: 5)
        }
        if let v = values["stateFileInterval"] { streams.stateFileInterval = .milliseconds(try duration("stateFileInterval", v)) }
        if let v = values["stateCacheBytes"] { streams.stateCacheBytes = try wholeNumber("stateCacheBytes", v, minimum: 0) }
        if let v = values["allowStateLoss"] {
            guard let allowed = Bool(v.lowercased()) else { throw Failure("allowStateLoss: true or false (got '\(v)')") }
            streams.allowStateLoss = allowed
        }
        if let v = values["sessionTimeout"] {
            streams.sessionTimeout = .milliseconds(try duration("sessionTimeout", v))
            guard streams.sessionTimeout <= longestSessionTimeout else {
                throw Failure("sessionTimeout: at most 1h, librdkafka's limit of session.timeout.ms (got '\(v)')")
            }
        }
        var processing = ProcessingSettings()
        if let v = values["processing.windowSize"] { processing.windowSize = try duration("processing.windowSize", v) }
        if let v = values["processing.grace"] { processing.grace = try duration("processing.grace", v) }
        if let v = values["processing.idleTimeout"] { processing.idleTimeout = try duration("processing.idleTimeout", v) }
        if let v = values["processing.parkingTimeout"] { processing.parkingTimeout = try duration("processing.parkingTimeout", v) }
        if let v = values["processing.overDeliveryTolerance"] { processing.overDeliveryTolerance = try fraction("processing.overDeliveryTolerance", v) }
        if let v = values["processing.scrapTolerance"] { processing.scrapTolerance = try fraction("processing.scrapTolerance", v) }
        if let v = values["processing.workOrderRetention"] { processing.workOrderRetention = try duration("processing.workOrderRetention", v) }
        if let v = values["processing.workOrderIdleRetention"] {
            processing.workOrderIdleRetention = try duration("processing.workOrderIdleRetention", v)
        }
        if let v = values["processing.orderRetention"] { processing.orderRetention = try duration("processing.orderRetention", v) }
        if let v = values["processing.retirementRecordRetention"] {
            processing.retirementRecordRetention = try duration("processing.retirementRecordRetention", v)
        }
        streams.idleTimeout = .milliseconds(processing.idleTimeout)
        var http = HTTPSettings()
        http.host = httpHost
        if let v = values["http.enabled"] {
            guard let enabled = Bool(v.lowercased()) else { throw Failure("http.enabled: true or false (got '\(v)')") }
            http.enabled = enabled
        }
        if let v = values["http.host"] {
            guard !v.isEmpty else { throw Failure("http.host: an address to bind, like 0.0.0.0 or 127.0.0.1 (got nothing)") }
            http.host = v
        }
        if let v = values["http.port"] {
            guard let port = Int(v.trimmingCharacters(in: .whitespaces)), (0...65_535).contains(port) else {
                throw Failure("http.port: a port from 0 to 65535, 0 for any free one (got '\(v)')")
            }
            http.port = port
        }
        if let v = values["http.console"] {
            guard let enabled = Bool(v.lowercased()) else { throw Failure("http.console: true or false (got '\(v)')") }
            http.console = enabled
        }
        if let v = values["http.readToken"], !v.isEmpty { http.readToken = v }
        if let v = values["http.adminToken"], !v.isEmpty { http.adminToken = v }
        if let v = values["http.livenessTimeout"] {
            http.livenessTimeout = .milliseconds(try duration("http.livenessTimeout", v))
            guard http.livenessTimeout > .zero else { throw Failure("http.livenessTimeout: more than 0 (got '\(v)')") }
        }
        var api = OrderAPISettings()
        // A token set but empty (`MILLWRIGHT_API_TOKEN_CRM=` from an unset Compose variable) is no caller.
        for (name, entry) in apiTokens.sorted(by: { $0.key < $1.key }) where entry["token"] != "" {
            api.tokens.append(try OrderAPISettings.token(name: name, token: entry["token"], scopes: entry["scopes"]))
        }
        if let duplicate = Dictionary(grouping: api.tokens, by: \.token).first(where: { $0.value.count > 1 }) {
            throw Failure("api.tokens: \(duplicate.value.map(\.name).joined(separator: " and ")) have the same token; give each caller its own")
        }
        if let v = values["api.rateLimit"] {
            guard let rate = Double(v.trimmingCharacters(in: .whitespaces)), rate.isFinite, rate > 0, rate <= 1_000_000 else {
                throw Failure("api.rateLimit: requests per second per token, more than 0 and at most 1000000 (got '\(v)')")
            }
            api.rateLimit = rate
        }
        if let v = values["api.rateBurst"] { api.rateBurst = try wholeNumber("api.rateBurst", v, minimum: 1) }
        if let v = values["api.idempotencyRetention"] {
            api.idempotencyRetention = .milliseconds(try duration("api.idempotencyRetention", v))
            guard api.idempotencyRetention > .zero else { throw Failure("api.idempotencyRetention: more than 0 (got '\(v)')") }
        }
        if let v = values["api.idempotencyCapacity"] { api.idempotencyCapacity = try wholeNumber("api.idempotencyCapacity", v, minimum: 1) }
        var shutdownTimeout = Duration.seconds(30)
        if let v = values["shutdownTimeout"] { shutdownTimeout = .milliseconds(try duration("shutdownTimeout", v)) }
        do { try processing.validate() } catch { throw Failure("processing.\(error)") }
        do { try streams.validate() } catch { throw Failure(error.reason) }
        return MillwrightConfiguration(streams: streams, processing: processing, http: http, api: api, shutdownTimeout: shutdownTimeout)
    }

    /// `MILLWRIGHT_<NAME>` → setting.
    static let environmentKeys: [String: String] = [
        "BOOTSTRAP_SERVERS": "kafka.bootstrapServers", "CLIENT_ID": "kafka.clientId", "GROUP": "group",
        "STATE_DIR": "stateDirectory", "STATE_FILE_INTERVAL": "stateFileInterval", "STATE_CACHE_BYTES": "stateCacheBytes", "COMMIT_INTERVAL": "commitInterval",
        "IDLE_COMMIT_WAIT": "idleCommitWait",
        "SESSION_TIMEOUT": "sessionTimeout", "STREAM_THREADS": "streamThreads", "ALLOW_STATE_LOSS": "allowStateLoss",
        "MAX_RECORDS_PER_TRANSACTION": "maxRecordsPerTransaction", "MAX_OUTPUT_BYTES_PER_TRANSACTION": "maxOutputBytesPerTransaction",
        "MAX_BUFFERED_RECORDS_PER_PARTITION": "maxBufferedRecordsPerPartition",
        "WINDOW_SIZE": "processing.windowSize", "GRACE": "processing.grace", "IDLE_TIMEOUT": "processing.idleTimeout",
        "PARKING_TIMEOUT": "processing.parkingTimeout", "OVER_DELIVERY_TOLERANCE": "processing.overDeliveryTolerance",
        "SCRAP_TOLERANCE": "processing.scrapTolerance", "WORK_ORDER_RETENTION": "processing.workOrderRetention",
        "WORK_ORDER_IDLE_RETENTION": "processing.workOrderIdleRetention", "ORDER_RETENTION": "processing.orderRetention",
        "RETIREMENT_RECORD_RETENTION": "processing.retirementRecordRetention",
        "HTTP_ENABLED": "http.enabled", "HTTP_HOST": "http.host", "HTTP_PORT": "http.port", "LIVENESS_TIMEOUT": "http.livenessTimeout",
        "READ_TOKEN": "http.readToken", "HTTP_CONSOLE": "http.console", "ADMIN_TOKEN": "http.adminToken",
        "SHUTDOWN_TIMEOUT": "shutdownTimeout",
        "API_RATE_LIMIT": "api.rateLimit", "API_RATE_BURST": "api.rateBurst", "API_IDEMPOTENCY_RETENTION": "api.idempotencyRetention",
        "API_IDEMPOTENCY_CAPACITY": "api.idempotencyCapacity",
    ]

    static let fileKeys: Set<String> = Set(environmentKeys.values)

    private static func flatten(
        _ node: [String: Any], prefix: String, into values: inout [String: String], properties: inout [String: String],
        tokens: inout [String: [String: String]]
    ) throws(Failure) {
        for (key, value) in node {
            let path = prefix.isEmpty ? key : "\(prefix).\(key)"
            if path == "kafka.properties" {
                guard let map = value as? [String: Any] else { throw Failure("config file: kafka.properties must be a mapping of librdkafka property → value") }
                for (name, raw) in map { properties[name] = "\(raw)" }
            } else if path == "api.tokens" {
                // api.tokens: { crm: { token: …, scopes: [orders:write, orders:read] } }
                guard let map = value as? [String: Any] else { throw Failure("config file: api.tokens must be a mapping of name → token and scopes") }
                for (name, raw) in map {
                    guard let entry = raw as? [String: Any], Set(entry.keys).isSubset(of: ["token", "scopes"]) else {
                        throw Failure("config file: api.tokens.\(name) must be a mapping with token and scopes")
                    }
                    tokens[name, default: [:]]["token"] = entry["token"].map { "\($0)" }
                    let scopes = (entry["scopes"] as? [Any])?.map { "\($0)" }.joined(separator: ",") ?? entry["scopes"].map { "\($0)" }
                    tokens[name, default: [:]]["scopes"] = scopes
                }
            } else if let nested = value as? [String: Any] {
                try flatten(nested, prefix: path, into: &values, properties: &properties, tokens: &tokens)
            } else if fileKeys.contains(path) {
                values[path] = "\(value)"
            } else {
                throw Failure("config file: unknown setting '\(path)' (known: \(fileKeys.sorted().joined(separator: ", ")), kafka.properties)")
            }
        }
    }

    /// The longest duration a setting takes, in milliseconds: 2,500,000 h, about 285 years. A
    /// `Duration` in nanoseconds overflows past about 292 years; nothing sensible is this long.
    public static let longestDuration: Int64 = 9_000_000_000_000

    /// `250ms`, `30s`, `15m`, `2h`, `14d`, or a number of milliseconds; fractions and exponents are fine
    /// (`1.5s`, `1e3ms`). The error names the setting and the rule: not a duration, negative, or
    /// longer than ``longestDuration`` (`99999999999999999h`, `1e30s`, `1e400ms`).
    public static func duration(_ name: String, _ text: String) throws(Failure) -> Int64 {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let units: [(suffix: String, factor: Double)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000), ("", 1)]
        let numeral = Set("0123456789.eE+-")
        for unit in units where trimmed.hasSuffix(unit.suffix) {
            let digits = trimmed.dropLast(unit.suffix.count)
            // Digits only: Double would also take `inf`, `nan` and hexadecimal.
            guard !digits.isEmpty, digits.allSatisfy(numeral.contains), let number = Double(digits) else { continue }
            if number < 0 { throw Failure("\(name): '\(text)' is negative; a duration is 0 or more") }
            let milliseconds = number * unit.factor
            guard milliseconds <= Double(longestDuration) else {
                throw Failure(
                    "\(name): '\(text)' is longer than the longest duration a setting takes, 2500000h (\(longestDuration) ms, about 285 years)")
            }
            return Int64(milliseconds)
        }
        throw Failure("\(name): '\(text)' is not a duration (like 250ms, 30s, 15m, 2h, 14d, or a number of milliseconds)")
    }

    /// librdkafka's largest `session.timeout.ms` (brokers allow 30 min unless
    /// `group.max.session.timeout.ms` says more).
    static let longestSessionTimeout = Duration.seconds(3_600)

    static func wholeNumber(_ name: String, _ text: String, minimum: Int) throws(Failure) -> Int {
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)), value >= minimum else {
            throw Failure("\(name): a whole number of at least \(minimum) (got '\(text)')")
        }
        return value
    }

    static func fraction(_ name: String, _ text: String) throws(Failure) -> Double {
        guard let value = Double(text.trimmingCharacters(in: .whitespaces)), value.isFinite else {
            throw Failure("\(name): '\(text)' is not a number (like 0.10)")
        }
        return value
    }
}
