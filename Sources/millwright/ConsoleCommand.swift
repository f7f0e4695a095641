import ArgumentParser
import Foundation
import Logging
import Ops

struct ConsoleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "Serve the operators' console and API without processors (for replays with the workers stopped).",
        discussion: """
            The same console (/console, /console/<plant>) and operator API (/api/v1/…) as every \
            worker serves, from a process that is not a member of any consumer group: execute a \
            replay here while every worker is stopped (a worker refuses to reset its own groups). \
            Tokens come from MILLWRIGHT_READ_TOKEN and MILLWRIGHT_ADMIN_TOKEN (never from flags: \
            flags show in process listings). Ctrl-C or SIGTERM stops it.

            Example:
              MILLWRIGHT_ADMIN_TOKEN=… millwright console --bootstrap-servers localhost:9092 --http-port 8090
              then open http://localhost:8090/console
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @Option(help: "Consumer group prefix of the workers.") var group: String = "millwright"
    @Option(help: "Port of the HTTP server; 0 picks a free one. Default 8080.") var httpPort: Int = 8080
    @Option(help: "Address the HTTP server binds. Default 127.0.0.1.") var httpHost: String = "127.0.0.1"
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = try logging.bootstrap(label: "millwright")
        guard (0...65_535).contains(httpPort) else { throw ValidationError("--http-port: a port from 0 to 65535 (got \(httpPort))") }
        let environment = ProcessInfo.processInfo.environment
        let read = environment["MILLWRIGHT_READ_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        let admin = environment["MILLWRIGHT_ADMIN_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        for token in [read, admin].compactMap({ $0 }) { Secrets.register(token) }
        if read == nil && admin == nil {
            logger.warning("no token is configured (MILLWRIGHT_READ_TOKEN, MILLWRIGHT_ADMIN_TOKEN): the console will refuse every request")
        }
        let server = ConsoleServer(
            client: try connection.clientConfiguration(), group: group, host: httpHost, port: httpPort, readToken: read, adminToken: admin, logger: logger)
        do {
            try await server.run { port in
                FileHandle.standardOutput.write(Data("console at http://\(httpHost == "0.0.0.0" ? "localhost" : httpHost):\(port)/console\n".utf8))
            }
        } catch {
            throw CommandError("console failed: \(error)")
        }
    }
}
