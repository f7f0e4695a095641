import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Kafka
import Logging
import Manufacturing
import NIOCore
import Ops
import Streams
import Synchronization
import TestSupport

/// Records what the order API publishes; can fail, or hold every publish until released.
final class RecordingPublisher: OrderRequestPublisher {
    private let state = Mutex<(records: [OutputRecord], failing: Bool)>(([], false))
    let delay: Duration

    init(delay: Duration = .zero) { self.delay = delay }

    var records: [OutputRecord] { state.withLock { $0.records } }

    func fail(_ failing: Bool) { state.withLock { $0.failing = failing } }

    func publish(_ record: OutputRecord) async throws {
        if delay > .zero { try await Task.sleep(for: delay) }
        try state.withLock { state in
            if state.failing { throw KafkaLikeError() }
            state.records.append(record)
        }
    }

    struct KafkaLikeError: Error, CustomStringConvertible {
        var description: String { "Local: Message timed out" }
    }
}

/// The order API on a router, with the catalog's master data, a recording publisher and a status
/// table fed from the catalog's status examples.
struct OrderAPIFixture: Sendable {
    static let writer = "crm-writer-token-0001"
    static let reader = "portal-reader-token-01"
    static let erp = "erp-reader-token-00001"

    let publisher: RecordingPublisher
    let routes: OrderAPIRoutes

    /// - Parameter statusLoading: a status table still loading (a cluster it never reached).
    init(
        publisher: RecordingPublisher = RecordingPublisher(), rateLimit: Double = 1_000, rateBurst: Int = 1_000, maxBodyBytes: Int? = nil,
        statusLoading: Bool = false
    ) throws {
        var settings = OrderAPISettings()
        settings.tokens = [
            .init(name: "crm", token: Self.writer, scopes: [.ordersWrite, .ordersRead]),
            .init(name: "portal", token: Self.reader, scopes: [.ordersRead]),
            .init(name: "erp", token: Self.erp, scopes: [.erpRead, .ordersRead]),
        ]
        settings.rateLimit = rateLimit
        settings.rateBurst = rateBurst
        if let maxBodyBytes { settings.maxBodyBytes = maxBodyBytes }
        self.publisher = publisher
        let ready = ReadyFlag()
        let logger = Logger(label: "order-api-test")
        let intake = OrderIntake(
            masterData: try Examples.masterData(), masterDataReady: { ready.value }, publisher: publisher, settings: settings, logger: logger,
            now: { Timestamp(milliseconds: 1_795_000_000_000) })
        let statuses = OrderStatusTable(client: statusLoading ? KafkaClientConfiguration(bootstrapServers: "127.0.0.1:1") : nil, logger: logger)
        var offset: Int64 = 0
        var records: [StreamRecord] = []
        for (topic, files) in [
            (Topics.crmOrderStatus, ["valid-01-in-production-at-risk.json"]), (Topics.erpOrderStatus, ["valid-02-in-production-scrap-at-risk.json"]),
        ] {
            for file in files {
                records.append(MasterDataFixtures.record(topic: topic, key: "4500012345", value: try Examples.bytes(topic, file), offset: offset))
                offset += 1
            }
        }
        try statuses.apply(records, positions: [:])
        routes = OrderAPIRoutes(settings: settings, intake: intake, statuses: statuses, logger: logger)
        readyFlag = ready
    }

    let readyFlag: ReadyFlag

    /// Runs `body` against a router with the order API.
    func test(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let router = Router()
        routes.register(on: router)
        try await Application(router: router).test(.router, body)
    }

    /// A valid request body of the catalog's story (GB-200, 120 EA at P100, BOM B).
    static func body(_ changes: [String: JSONValue] = [:], removing: [String] = []) -> ByteBuffer {
        let members: [(String, JSONValue)] = [
            ("orderId", "4500099001"), ("orderLine", .number(10, isInteger: true)), ("customerId", "C-10077"),
            ("customerName", "Hofmann Antriebstechnik GmbH"), ("itemId", "GB-200"), ("quantity", .number(120, isInteger: true)), ("uom", "EA"),
            ("plant", "P100"), ("bomRevision", "B"), ("dueDate", "2026-12-11T15:00:00.000Z"), ("priority", "NORMAL"),
        ]
        var object = JSONObject(members.filter { !removing.contains($0.0) })
        for (key, value) in changes { object.set(key, value) }
        return ByteBuffer(bytes: JSONWriter.bytes(.object(object)))
    }

    static func headers(token: String? = writer, key: String? = "key-1", contentType: String = "application/json") -> HTTPFields {
        var fields: HTTPFields = [:]
        if let token { fields[.authorization] = "Bearer \(token)" }
        if let key { fields[HTTPField.Name("Idempotency-Key")!] = key }
        fields[.contentType] = contentType
        return fields
    }
}

/// Whether master data has caught up, as the fixture's intake sees it.
final class ReadyFlag: Sendable {
    private let flag = Atomic<Bool>(true)
    var value: Bool { flag.load(ordering: .relaxed) }
    func set(_ value: Bool) { flag.store(value, ordering: .relaxed) }
}

extension TestResponse {
    var json: JSONValue { (try? JSONParser.parse(Array(body.readableBytesView))) ?? .null }
}

extension JSONValue {
    /// The first member of `errors`, in a problem document.
    var firstError: JSONValue? {
        guard case .array(let errors)? = self["errors"] else { return nil }
        return errors.first
    }
}
