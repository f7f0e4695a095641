import ArgumentParser
import Foundation
import Kafka

/// How to reach a Kafka cluster: the options shared by every command that talks to one.
struct ConnectionOptions: ParsableArguments {
    @Option(name: .customLong("bootstrap-servers"), help: "Brokers as host:port[,host:port…].")
    var bootstrapServers: String

    @Option(help: "plaintext, ssl, sasl_plaintext or sasl_ssl.")
    var securityProtocol: String = "plaintext"

    @Option(help: "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (with sasl_*).")
    var saslMechanism: String = "PLAIN"

    @Option(help: "SASL user name. The password comes from MILLWRIGHT_SASL_PASSWORD.")
    var saslUsername: String?

    @Option(help: "CA bundle that signs the brokers' certificates (ssl, sasl_ssl).")
    var sslCaLocation: String?

    @Option(name: .customShort("X"), help: ArgumentHelp("A raw librdkafka property, name=value (repeatable).", valueName: "name=value"))
    var properties: [String] = []

    func clientConfiguration() throws -> KafkaClientConfiguration {
        var configuration = KafkaClientConfiguration(bootstrapServers: bootstrapServers)
        guard let securityProtocol = KafkaSecurityConfiguration.SecurityProtocol(rawValue: securityProtocol.lowercased()) else {
            throw ValidationError("--security-protocol: '\(securityProtocol)' is not one of plaintext, ssl, sasl_plaintext, sasl_ssl")
        }
        configuration.security.securityProtocol = securityProtocol
        if let saslUsername {
            guard let mechanism = KafkaSecurityConfiguration.SASL.Mechanism(rawValue: saslMechanism.uppercased()) else {
                throw ValidationError("--sasl-mechanism: '\(saslMechanism)' is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512")
            }
            let password = Environment.value("MILLWRIGHT_SASL_PASSWORD") ?? ""
            configuration.security.sasl = .init(mechanism: mechanism, username: saslUsername, password: password)
        }
        if let sslCaLocation {
            var tls = KafkaSecurityConfiguration.TLS()
            tls.caLocation = sslCaLocation
            configuration.security.tls = tls
        }
        for property in properties {
            let parts = property.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else {
                throw ValidationError("-X \(property): expected name=value")
            }
            configuration.additionalProperties[parts[0]] = parts[1]
        }
        return configuration
    }
}

enum Environment {
    static func value(_ name: String) -> String? { ProcessInfo.processInfo.environment[name] }
}
