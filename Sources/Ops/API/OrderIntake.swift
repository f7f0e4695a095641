import Foundation
import Logging
import Manufacturing
import Streams

/// What `POST /api/v1/order-requests` does once the body has passed the canonical model's rules:
/// the `Idempotency-Key`, the master-data checks (every failing one), and the publish to
/// `crm.order-request.v1` with a new correlationId. Knows nothing of HTTP.
///
/// - Important: Thread-safe.
public struct OrderIntake: Sendable {
    /// An accepted request: what the 201 says.
    public struct Accepted: Sendable, Hashable {
        /// New for the request; on the published event and every status that follows it.
        public var correlationId: String
        /// The normalised request, as published.
        public var request: OrderRequest
    }

    /// The answer to a submission.
    public enum Outcome: Sendable {
        /// Published (or, `replayed`, the first answer to this key and body).
        case accepted(Accepted, replayed: Bool)
        /// Refused by master data: every failing check.
        case refused([OrderRequestCheck.Problem])
        /// The key was used with another body.
        case conflict
        /// Cannot answer now (master data loading, the cluster not acknowledging): why.
        case unavailable(String)
    }

    let masterData: any MasterDataLookup
    let masterDataReady: @Sendable () -> Bool
    let publisher: any OrderRequestPublisher
    let ledger: IdempotencyLedger<Outcome>
    let logger: Logger
    let now: @Sendable () -> Timestamp

    /// - Parameters:
    ///   - masterDataReady: false while master data has not caught up (the API answers 503 then,
    ///     not a refusal for an unknown plant that is only not loaded yet).
    ///   - now: the clock of `occurredAt`.
    public init(
        masterData: any MasterDataLookup, masterDataReady: @escaping @Sendable () -> Bool, publisher: any OrderRequestPublisher,
        settings: OrderAPISettings, logger: Logger,
        now: @escaping @Sendable () -> Timestamp = { Timestamp(milliseconds: Int64(Date().timeIntervalSince1970 * 1000)) }
    ) {
        self.masterData = masterData
        self.masterDataReady = masterDataReady
        self.publisher = publisher
        self.logger = logger
        self.now = now
        ledger = IdempotencyLedger(retention: settings.idempotencyRetention, capacity: settings.idempotencyCapacity) { outcome in
            if case .accepted = outcome { return true }
            return false
        }
    }

    /// Submits `request` for `caller` under its `idempotencyKey`.
    public func submit(_ request: OrderRequest, idempotencyKey: String, caller: String) async -> Outcome {
        let fingerprint = JSONWriter.bytes(request.json)
        do {
            let outcome = try await ledger.answer(key: "\(caller)\u{1F}\(idempotencyKey)", fingerprint: fingerprint) {
                await check(request, caller: caller)
            }
            switch outcome {
            case .conflict: return .conflict
            case .answer(.accepted(let accepted, _), let replayed): return .accepted(accepted, replayed: replayed)
            case .answer(let other, _): return other
            }
        } catch {
            return .unavailable("the order request could not be published to \(Topics.orderRequest): \(error)")
        }
    }

    /// Master data, then the publish. An `unavailable` outcome is not remembered for the key.
    private func check(_ request: OrderRequest, caller: String) async -> Outcome {
        guard masterDataReady() else { return .unavailable("master data is still loading; try again shortly") }
        let problems = OrderRequestCheck.problems(request, against: masterData)
        guard problems.isEmpty else {
            logger.info(
                "order request refused by master data",
                metadata: ["orderId": "\(request.orderId)", "caller": "\(caller)", "reasons": "\(problems.map(\.failure.reason.rawValue))"])
            return .refused(problems)
        }
        let eventId = UUID().uuidString.lowercased()
        let correlationId = "req-\(eventId)"
        let envelope = Envelope(
            eventId: eventId, correlationId: correlationId, occurredAt: now(), source: EventSource(system: "CRM", plant: request.plant), data: request)
        var record = envelope.outputRecord(topic: Topics.orderRequest, key: request.orderId, causationId: eventId)
        record.headers.append(.init(key: "requested-by", value: caller))
        do {
            try await publisher.publish(record)
        } catch {
            logger.error(
                "order request not published", metadata: ["correlationId": "\(correlationId)", "orderId": "\(request.orderId)", "error": "\(error)"])
            return .unavailable("the order request could not be published to \(Topics.orderRequest); try again with the same Idempotency-Key")
        }
        logger.debug(
            "order request accepted", metadata: ["correlationId": "\(correlationId)", "orderId": "\(request.orderId)", "caller": "\(caller)"])
        return .accepted(Accepted(correlationId: correlationId, request: request), replayed: false)
    }
}
