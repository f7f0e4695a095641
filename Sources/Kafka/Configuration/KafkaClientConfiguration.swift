import Foundation

/// Settings every Kafka client shares: where the brokers are, who we are, how we authenticate.
///
/// Turned into librdkafka properties once, when a client is created; librdkafka validates each
/// one and an unknown name or bad value fails construction with an error naming the property.
public struct KafkaClientConfiguration: Sendable {
    /// `host:port` of one or more brokers (`bootstrap.servers`). No default: required.
    public var bootstrapServers: [String]
    /// `client.id`, shown in broker logs and quotas. Default `millwright`.
    public var clientID: String = "millwright"
    /// Transport security and authentication. Default plaintext, no SASL.
    public var security: KafkaSecurityConfiguration = .init()
    /// How often librdkafka emits its statistics JSON (`statistics.interval.ms`). Default `nil`: off.
    public var statisticsInterval: Duration? = nil
    /// librdkafka debug contexts (`debug`, for example `"broker,protocol"`). Default `nil`.
    public var debugContexts: String? = nil
    /// Sends small requests at once (`socket.nagle.disable`, TCP_NODELAY) instead of holding one
    /// until the broker acknowledges the one before — pipelined produce requests could otherwise
    /// wait for the broker's delayed ACK. Default `true`, as the Java client (librdkafka: `false`).
    public var disableNagle: Bool = true
    /// Raw librdkafka properties for what is not modelled here. Applied last, so they override
    /// the typed settings. Default empty.
    public var additionalProperties: [String: String] = [:]

    public init(bootstrapServers: [String]) {
        self.bootstrapServers = bootstrapServers
    }

    /// Parses a comma-separated `host:port[,host:port…]` list.
    public init(bootstrapServers: String) {
        self.init(
            bootstrapServers: bootstrapServers.split(separator: ",").map {
                $0.trimmingCharacters(in: .whitespaces)
            }.filter { !$0.isEmpty })
    }

    var properties: [(String, String)] {
        var result: [(String, String)] = [
            ("bootstrap.servers", bootstrapServers.joined(separator: ",")),
            ("client.id", clientID),
            ("socket.nagle.disable", disableNagle ? "true" : "false"),
        ]
        result += security.properties
        if let statisticsInterval {
            result.append(("statistics.interval.ms", String(statisticsInterval.milliseconds)))
        }
        if let debugContexts { result.append(("debug", debugContexts)) }
        return result
    }

    func validate() throws(KafkaError) {
        if bootstrapServers.isEmpty {
            throw .configuration("bootstrapServers: at least one host:port is required")
        }
        for server in bootstrapServers where !server.contains(":") {
            throw .configuration("bootstrapServers: '\(server)' is not host:port")
        }
    }
}

/// TLS and SASL settings (`security.protocol`, `ssl.*`, `sasl.*`).
public struct KafkaSecurityConfiguration: Sendable {
    public enum SecurityProtocol: String, Sendable, CaseIterable {
        case plaintext = "plaintext"
        case ssl = "ssl"
        case saslPlaintext = "sasl_plaintext"
        case saslSSL = "sasl_ssl"
    }

    public struct SASL: Sendable {
        public enum Mechanism: String, Sendable, CaseIterable {
            case plain = "PLAIN"
            case scramSHA256 = "SCRAM-SHA-256"
            case scramSHA512 = "SCRAM-SHA-512"
        }
        /// `sasl.mechanism`. Default PLAIN.
        public var mechanism: Mechanism = .plain
        public var username: String
        public var password: String

        public init(mechanism: Mechanism = .plain, username: String, password: String) {
            self.mechanism = mechanism
            self.username = username
            self.password = password
        }
    }

    public struct TLS: Sendable {
        /// `ssl.ca.location`: CA bundle to verify brokers. Default `nil`: the system store.
        public var caLocation: String? = nil
        /// `ssl.certificate.location` / `ssl.key.location`: client certificate for mutual TLS.
        public var certificateLocation: String? = nil
        public var keyLocation: String? = nil
        public var keyPassword: String? = nil
        /// `ssl.endpoint.identification.algorithm`: verify the broker host name. Default `true`.
        public var verifyHostname: Bool = true

        public init() {}
    }

    /// `security.protocol`. Default plaintext.
    public var securityProtocol: SecurityProtocol = .plaintext
    /// SASL credentials; used with the `sasl_*` protocols. Default `nil`.
    public var sasl: SASL? = nil
    /// TLS settings; used with `ssl` and `sasl_ssl`. Default `nil` (librdkafka's defaults).
    public var tls: TLS? = nil

    public init(securityProtocol: SecurityProtocol = .plaintext, sasl: SASL? = nil, tls: TLS? = nil) {
        self.securityProtocol = securityProtocol
        self.sasl = sasl
        self.tls = tls
    }

    var properties: [(String, String)] {
        var result: [(String, String)] = [("security.protocol", securityProtocol.rawValue)]
        if let sasl {
            result += [
                ("sasl.mechanism", sasl.mechanism.rawValue),
                ("sasl.username", sasl.username),
                ("sasl.password", sasl.password),
            ]
        }
        if let tls {
            if let caLocation = tls.caLocation { result.append(("ssl.ca.location", caLocation)) }
            if let cert = tls.certificateLocation { result.append(("ssl.certificate.location", cert)) }
            if let key = tls.keyLocation { result.append(("ssl.key.location", key)) }
            if let password = tls.keyPassword { result.append(("ssl.key.password", password)) }
            result.append(("ssl.endpoint.identification.algorithm", tls.verifyHostname ? "https" : "none"))
        }
        return result
    }
}

extension Duration {
    /// Whole milliseconds, rounded down (librdkafka takes milliseconds).
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    var millisecondsInt32: Int32 { Int32(clamping: milliseconds) }

    /// Whole milliseconds, rounded down: how librdkafka and the layers above count time.
    public var wholeMilliseconds: Int64 { milliseconds }
}

/// Properties whose values must not be logged: passwords, secrets, private keys, tokens.
public enum SecretProperties {
    /// True for a librdkafka property (or a setting name) whose value is secret.
    public static func isSecret(_ name: String) -> Bool {
        let name = name.lowercased()
        return name.contains("password") || name.contains("secret") || name.contains("token")
            || name == "sasl.oauthbearer.config" || name == "ssl.key.pem" || name == "ssl_key" || name.hasSuffix("key.pem")
    }
}
