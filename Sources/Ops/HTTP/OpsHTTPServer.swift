import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// The worker's HTTP server as a `Service`: binds `host:port` (port 0: any free one, logged),
/// serves ``OpsEndpoints`` until graceful shutdown. A port in use is an error that names it.
///
/// - Important: Thread-safe; ``boundPort`` may be read from any task once the server runs.
public final class OpsHTTPServer: Service, Sendable {
    public let host: String
    public let port: Int
    private let endpoints: OpsEndpoints
    private let logger: Logger
    private let bound = Mutex<Int?>(nil)
    private let onBound: @Sendable (Int) -> Void

    /// - Parameter onBound: called with the port once the server listens.
    public init(host: String, port: Int, endpoints: OpsEndpoints, logger: Logger, onBound: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.host = host
        self.port = port
        self.endpoints = endpoints
        self.logger = logger
        self.onBound = onBound
    }

    /// The port the server listens on, once it does.
    public var boundPort: Int? { bound.withLock { $0 } }

    public func run() async throws {
        let app = Application(
            router: endpoints.router(),
            configuration: .init(address: .hostname(host, port: port), serverName: "millwright", reuseAddress: false),
            onServerRunning: { [self] channel in
                let port = channel.localAddress?.port ?? 0
                bound.withLock { $0 = port }
                logger.notice("HTTP server listening", metadata: ["host": "\(host)", "port": "\(port)", "endpoints": "/healthz /readyz /metrics /api/v1"])
                onBound(port)
            },
            logger: logger)
        do {
            try await app.run()
        } catch let error as IOError where error.errnoCode == EADDRINUSE {
            throw OpsHTTPServerError(
                "http.port \(port) on \(host) is already in use (another worker or program listens there): pass another --http-port, 0 for any free one, or --no-http"
            )
        } catch let error as IOError {
            throw OpsHTTPServerError("the HTTP server cannot listen on \(host):\(port): \(error)")
        }
    }
}

/// The HTTP server could not start.
public struct OpsHTTPServerError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = description }
}
