import Kafka
import Logging
import Manufacturing
import ServiceLifecycle
import Streams
import Synchronization

/// The latest status of every order, as CRM (`crm.order-status.v1`) and ERP
/// (`erp.order-status.v1`) see it: a global table, like master data — every worker reads every
/// partition of both topics, so any worker answers for any order. Kept in memory (about 0.5 KB
/// per order and view) and read again from the topics' start when the worker starts.
///
/// As a `Service` it loads until the group shuts down, trying again while the cluster or the
/// topics are not there yet; the order API answers 503 until it has caught up.
///
/// - Important: Thread-safe. The loader applies records on its own thread; lookups take a lock.
public final class OrderStatusTable: GlobalTableSink, Service, Sendable {
    /// One order's status in one view, with the correlationId of its event and its ETag.
    public struct Entry<Status: Sendable & Hashable>: Sendable, Hashable {
        public var status: Status
        public var correlationId: String
        /// A strong validator: the same for the same status and correlationId, on every worker.
        public var etag: String
    }

    private struct Tables {
        var customer: [String: Entry<CustomerOrderStatus>] = [:]
        var erp: [String: Entry<OrderStatus>] = [:]
        var undecodable = 0
    }

    private let tables = Mutex(Tables())
    private let loader = Mutex<GlobalTableLoader?>(nil)
    private let client: KafkaClientConfiguration?
    private let logger: Logger

    /// - Parameter client: the cluster to load from; `nil` for a table filled only through
    ///   ``apply(_:positions:)`` (tests).
    public init(client: KafkaClientConfiguration?, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// The topics loaded.
    public static let topics = [Topics.crmOrderStatus, Topics.erpOrderStatus]

    /// CRM's view of the order, if a status is known.
    public func customerStatus(_ orderId: String) -> Entry<CustomerOrderStatus>? { tables.withLock { $0.customer[orderId] } }

    /// ERP's view of the order, if a status is known.
    public func erpStatus(_ orderId: String) -> Entry<OrderStatus>? { tables.withLock { $0.erp[orderId] } }

    /// True once every partition was read up to where it was when loading began (a table without
    /// a client: always).
    public var isCaughtUp: Bool { client == nil || (loader.withLock { $0 }?.isCaughtUp ?? false) }

    /// Status events that could not be read (skipped; the last good status stays).
    public var undecodableCount: Int { tables.withLock { $0.undecodable } }

    // MARK: GlobalTableSink

    /// None: the table is read from the topics' start at every start.
    public func storedPositions() throws -> [TopicPartition: Int64] { [:] }

    /// Keeps each record's status as its order's latest (on the loader's thread); a record that
    /// does not decode is counted and skipped.
    public func apply(_ records: [StreamRecord], positions: [TopicPartition: Int64]) throws {
        var customer: [(String, Entry<CustomerOrderStatus>)] = []
        var erp: [(String, Entry<OrderStatus>)] = []
        var undecodable = 0
        for record in records {
            if record.topic == Topics.crmOrderStatus, case .success(let event) = EventDecoder.decode(record, as: CustomerOrderStatus.self) {
                customer.append((event.data.orderId, Self.entry(event)))
            } else if record.topic == Topics.erpOrderStatus, case .success(let event) = EventDecoder.decode(record, as: OrderStatus.self) {
                erp.append((event.data.orderId, Self.entry(event)))
            } else if record.value != nil {
                undecodable += 1
            }
        }
        tables.withLock { tables in
            for (orderId, entry) in customer { tables.customer[orderId] = entry }
            for (orderId, entry) in erp { tables.erp[orderId] = entry }
            tables.undecodable += undecodable
        }
    }

    static func entry<Status: EventPayload & Hashable>(_ event: Envelope<Status>) -> Entry<Status> {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a, 64 bits
        for byte in JSONWriter.bytes(event.data.json) + [0] + Array(event.metadata.correlationId.utf8) {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return Entry(status: event.data, correlationId: event.metadata.correlationId, etag: "\"\(String(repeating: "0", count: 16 - hex.count))\(hex)\"")
    }

    // MARK: Service

    /// Loads until the group shuts down, trying again (1 s doubling to 30 s) while the cluster
    /// or a status topic is not there.
    public func run() async throws {
        guard let client else { return }
        var delay = Duration.seconds(1)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let created = try GlobalTableLoader(configuration: GlobalTableConfiguration(client: client), topics: Self.topics, sink: self, logger: logger)
                loader.withLock { $0 = created }
                try await cancelWhenGracefulShutdown { try await created.start() }
                logger.info("loading the order status table", metadata: ["topics": "\(Self.topics.joined(separator: ","))"])
                try? await cancelWhenGracefulShutdown { try await created.waitUntilFinished() }
                await created.stop()
                if let failure = created.failure { throw failure }
                return
            } catch let error as GlobalTableError where error.code == .kafka || error.code == .unknownTopic {
                await loader.withLock { $0 }?.stop()
                logger.warning(
                    "cannot load the order status table yet; trying again (the order API answers 503 for status until then)",
                    metadata: ["error": "\(error)", "retryIn": "\(delay)"])
                let wait = delay
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
                delay = min(delay * 2, .seconds(30))
            } catch {
                await loader.withLock { $0 }?.stop()
                if Task.isShuttingDownGracefully || Task.isCancelled { return }
                throw error
            }
        }
    }
}
