import HTTPTypes
import Logging
import OpenAPIRuntime

/// The outermost middleware of the order API: every error becomes RFC 9457 problem details. A
/// handler's ``APIProblem`` is answered as it is; the runtime's own refusals (a missing header, a
/// body that does not decode) keep their 4xx status and get a problem body naming the cause;
/// anything else is a 500 that names no internals (logged with the operation).
struct APIProblemMiddleware: ServerMiddleware {
    let logger: Logger

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        do {
            return try await next(request, body, metadata)
        } catch let error as ServerError {
            if error.underlyingError is APIProblem {
                return (HTTPResponse(status: error.httpStatus, headerFields: error.httpHeaderFields), error.httpBody)
            }
            if error.httpStatus.kind == .clientError {
                return APIProblem(status: error.httpStatus, detail: error.causeDescription).response
            }
            logger.error("order API failed", metadata: ["operation": "\(operationID)", "error": "\(error.underlyingError)"])
            return APIProblem(status: .internalServerError, detail: "the server failed to answer; it is logged").response
        } catch {
            logger.error("order API failed", metadata: ["operation": "\(operationID)", "error": "\(error)"])
            return APIProblem(status: .internalServerError, detail: "the server failed to answer; it is logged").response
        }
    }
}
