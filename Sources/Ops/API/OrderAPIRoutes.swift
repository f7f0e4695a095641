import Foundation
import Hummingbird
import Logging
import OpenAPIHummingbird
import OpenAPIRuntime
import OrderAPI

/// The order API on the worker's HTTP server: exactly the operations of
/// `Sources/OrderAPI/openapi.yaml`, registered by the generated code, behind the middlewares
/// (outermost first): problem details for every error (``APIProblemMiddleware``), header values
/// as HTTP writes them (``HeaderDecodingMiddleware``), tokens, scopes
/// and the rate limit (``APIAccessMiddleware``), then the body's checks
/// (``OrderRequestBodyMiddleware``).
///
/// - Important: Thread-safe; one instance serves every request.
public struct OrderAPIRoutes: Sendable {
    /// Callers, limits.
    public let settings: OrderAPISettings
    /// Submissions.
    public let intake: OrderIntake
    /// Status lookups; a service of the worker's group.
    public let statuses: OrderStatusTable
    let access: APIAccessMiddleware
    let logger: Logger

    /// - Parameter logger: for failures of the API (never with a token).
    public init(settings: OrderAPISettings, intake: OrderIntake, statuses: OrderStatusTable, logger: Logger) {
        self.settings = settings
        self.intake = intake
        self.statuses = statuses
        self.logger = logger
        access = APIAccessMiddleware(settings: settings)
    }

    /// Registers the operations on `router`.
    public func register<Context: RequestContext>(on router: Router<Context>) {
        let middlewares: [any ServerMiddleware] = [
            APIProblemMiddleware(logger: logger), HeaderDecodingMiddleware(), access, OrderRequestBodyMiddleware(maxBodyBytes: settings.maxBodyBytes),
        ]
        do {
            // Compact JSON (the runtime's default pretty-prints), members sorted.
            try OrderAPIHandler(intake: intake, statuses: statuses).registerHandlers(
                on: router, configuration: Configuration(jsonEncodingOptions: [.sortedKeys]), middlewares: middlewares)
        } catch {
            // Only an unusable server URL throws, and the default one ("/") is usable.
            preconditionFailure("the order API's routes could not be registered: \(error)")
        }
    }
}
