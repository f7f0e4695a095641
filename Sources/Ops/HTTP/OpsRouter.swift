import Hummingbird
import Manufacturing
import NIOCore

/// The worker's operational endpoints:
/// - `GET /healthz`: 200 while live (``Probes/liveness(_:timeout:)``), else 503; JSON.
/// - `GET /readyz`: 200 once ready (``Probes/readiness(_:)``), else 503; JSON naming what is
///   pending, with progress.
/// - `GET /metrics`: Prometheus text exposition (``MillwrightMetrics/scrape(health:livenessTimeout:masterData:)``).
/// - the operator API (``OperatorAPI``) and the order API (``OrderAPIRoutes``), when given.
public struct OpsEndpoints: Sendable {
    public var health: any HealthSource
    /// `nil`: no `/metrics` route (metrics off).
    public var metrics: MillwrightMetrics?
    public var livenessTimeout: Duration
    /// Master-data row counts for `/metrics` (a SQLite read, off the event loop).
    public var masterDataCounts: @Sendable () async -> MasterDataCounts?
    /// The operator API under `/api/v1`; `nil`: not served.
    public var operatorAPI: OperatorAPI?
    /// The order API (`/api/v1/order-requests`, `/api/v1/orders/…`); `nil`: not served.
    public var orderAPI: OrderAPIRoutes?

    public init(
        health: any HealthSource, metrics: MillwrightMetrics?, livenessTimeout: Duration,
        masterDataCounts: @escaping @Sendable () async -> MasterDataCounts? = { nil }, operatorAPI: OperatorAPI? = nil,
        orderAPI: OrderAPIRoutes? = nil
    ) {
        self.operatorAPI = operatorAPI
        self.orderAPI = orderAPI
        self.health = health
        self.metrics = metrics
        self.livenessTimeout = livenessTimeout
        self.masterDataCounts = masterDataCounts
    }

    /// The content type of `/metrics`: Prometheus' text format 0.0.4.
    public static let prometheusContentType = "text/plain; version=0.0.4; charset=utf-8"

    /// A router with the endpoints.
    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/healthz") { _, _ -> Response in
            Self.json(Probes.liveness(health.healthSnapshot(), timeout: livenessTimeout))
        }
        router.get("/readyz") { _, _ -> Response in
            Self.json(Probes.readiness(health.healthSnapshot()))
        }
        if let metrics {
            router.get("/metrics") { _, _ -> Response in
                let counts = await masterDataCounts()
                let text = metrics.scrape(health: health.healthSnapshot(), livenessTimeout: livenessTimeout, masterData: counts)
                return Response(
                    status: .ok, headers: [.contentType: Self.prometheusContentType],
                    body: .init(byteBuffer: ByteBuffer(bytes: text)))
            }
        }
        operatorAPI?.addRoutes(to: router)
        orderAPI?.register(on: router)
        return router
    }

    static func json(_ result: ProbeResult) -> Response {
        Response(
            status: result.healthy ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: JSONWriter.bytes(result.body) + [0x0A])))
    }
}
