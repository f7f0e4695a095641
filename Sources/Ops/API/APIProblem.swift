import HTTPTypes
import Manufacturing
import OpenAPIRuntime
import OrderAPI

/// RFC 9457 problem details of the order API: what every error answer carries
/// (`application/problem+json`), with the problems of a refused order request in `errors`.
struct APIProblem: Sendable, Hashable {
    /// One problem of a request: its field, the rule it broke and the contract's reason code.
    struct FieldProblem: Sendable, Hashable {
        var field: String
        var rule: String
        var reason: String
    }

    var status: HTTPResponse.Status
    var detail: String
    var errors: [FieldProblem] = []
    var headers: HTTPFields = [:]

    /// The problem document's `type`: the page that explains it.
    var type: String { errors.isEmpty ? "about:blank" : "https://millwright.example/problems/order-request-invalid" }

    var json: JSONValue {
        var object = JSONObject([
            ("type", .string(type)), ("title", .string(status.reasonPhrase)),
            ("status", .number(Double(status.code), isInteger: true)), ("detail", .string(detail)),
        ])
        if !errors.isEmpty {
            object.set(
                "errors", .array(errors.map { ["field": .string($0.field), "rule": .string($0.rule), "reason": .string($0.reason)] }))
        }
        return .object(object)
    }

    /// As a response of the OpenAPI runtime (for middlewares, which answer before the handler).
    var response: (HTTPResponse, HTTPBody?) {
        var fields = headers
        fields[.contentType] = "application/problem+json"
        return (HTTPResponse(status: status, headerFields: fields), HTTPBody(JSONWriter.bytes(json) + [0x0A]))
    }

    /// As the generated `Problem` schema.
    var schema: Components.Schemas.Problem {
        .init(_type: type, title: status.reasonPhrase, status: status.code, detail: detail)
    }

    /// As the generated `ValidationProblem` schema (422).
    var validationSchema: Components.Schemas.ValidationProblem {
        .init(
            _type: type, title: status.reasonPhrase, status: status.code, detail: detail,
            errors: errors.map { .init(field: $0.field, rule: $0.rule, reason: $0.reason) })
    }

    /// 422 for problems of the canonical model's rules.
    static func invalid(_ failures: [DecodingFailure]) -> APIProblem {
        APIProblem(
            status: .unprocessableContent, detail: "the order request breaks \(failures.count) rule(s) of the canonical model; see errors",
            errors: failures.map { FieldProblem(field: $0.field, rule: $0.rule, reason: $0.reason.rawValue) })
    }

    /// 422 for master-data problems.
    static func masterData(_ problems: [OrderRequestCheck.Problem]) -> APIProblem {
        APIProblem(
            status: .unprocessableContent, detail: "the order request fails \(problems.count) master-data check(s); see errors",
            errors: problems.map { FieldProblem(field: $0.field, rule: $0.failure.detail, reason: $0.failure.reason.rawValue) })
    }
}

/// A handler's refusal: the runtime answers it as it is (`HTTPResponseConvertible`), so every
/// error of the API is written by ``APIProblem/response`` whatever the request's `Accept` says.
extension APIProblem: Error, HTTPResponseConvertible {
    var httpStatus: HTTPResponse.Status { status }
    var httpHeaderFields: HTTPFields { response.0.headerFields }
    var httpBody: HTTPBody? { response.1 }
}
