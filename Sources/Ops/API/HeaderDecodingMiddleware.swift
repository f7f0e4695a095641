import Foundation
import HTTPTypes
import OpenAPIRuntime

/// Writes `ETag` and `Location` as HTTP means them: swift-openapi-runtime 1.13 percent-encodes
/// every header value it serializes (the `simple` style of a URI parameter), so `"3fa…"` would go
/// out as `%223fa…%22` and `/api/v1/…` as `%2Fapi%2Fv1…`, which no cache or client takes back.
struct HeaderDecodingMiddleware: ServerMiddleware {
    static let decoded: [HTTPField.Name] = [.eTag, .location]

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        var (response, body) = try await next(request, body, metadata)
        for name in Self.decoded {
            if let value = response.headerFields[name], value.utf8.contains(UInt8(ascii: "%")), let plain = value.removingPercentEncoding {
                response.headerFields[name] = plain
            }
        }
        return (response, body)
    }
}
