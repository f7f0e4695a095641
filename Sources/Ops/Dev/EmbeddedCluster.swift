import Foundation
import Kafka
import Logging
import Manufacturing
import Streams

/// The embedded default: librdkafka's in-process cluster with the catalog's topics, and what
/// `millwright dev` shows of the outputs. `millwright cluster` and `millwright dev` are built on it.
public enum EmbeddedCluster {
    /// Starts a cluster of `brokers` with every catalog topic: the fixed ones, a per-group
    /// template (the changelogs) once per group, a per-plant template once per plant. Returns it
    /// and the topics created (`name (n partitions)`).
    ///
    /// A worker of another group needs its changelogs before it starts: ``createTopics(of:catalog:in:)``
    /// (the cluster does not answer CreateTopics from another process, and creates an unknown
    /// topic on first use with 4 partitions, not the inputs' 12).
    public static func start(catalog: TopicCatalog, brokers: Int, plants: [String], groups: [String] = ["millwright"], logger: Logger) throws -> (
        cluster: InProcessKafkaCluster, created: [String]
    ) {
        let cluster = try InProcessKafkaCluster(brokers: brokers, logger: logger)
        var created: [String] = []
        for spec in catalog.concreteTopics(groups: groups, plants: plants) {
            try cluster.createTopic(spec.name, partitions: spec.partitions, replicationFactor: spec.replicationFactor)
            created.append("\(spec.name) (\(spec.partitions) partitions)")
        }
        return (cluster, created)
    }

    /// Creates a group's own topics (its changelogs) on a running in-process cluster, with the
    /// catalog's partitions. Returns their names.
    @discardableResult
    public static func createTopics(of group: String, catalog: TopicCatalog, in cluster: InProcessKafkaCluster) throws -> [String] {
        try catalog.topics(forGroup: group).map { spec in
            try cluster.createTopic(spec.name, partitions: spec.partitions, replicationFactor: spec.replicationFactor)
            return spec.name
        }
    }

    /// The sample run's output topics, in the order `millwright dev` shows them.
    public static let sampleOutputs = [
        "mes.P100.production-release.v1", Topics.workOrders, Topics.productionConfirmation, Topics.erpOrderStatus,
        Topics.crmOrderStatus, Topics.quarantine, DeadLetter.topic,
    ]

    /// Every committed record of `topics`, one line each, per topic in that order.
    public static func outputs(_ topics: [String], client: KafkaClientConfiguration, logger: Logger) async throws -> [(
        topic: String, lines: [String]
    )] {
        let messages = try await TopicReader(client: client, logger: logger).readAll(topics, timeout: .seconds(10))
        return topics.map { topic in (topic, messages.filter { $0.topic == topic }.map(describe)) }
    }

    /// One output record in a line: the fields a person looks at first.
    public static func describe(_ m: KafkaConsumerMessage) -> String {
        let key = m.keyString ?? "-"
        if m.topic == DeadLetter.topic {
            return "\(key): \(m.headers.last("dlq-reason")?.stringValue ?? "?") — \(m.headers.last("dlq-error")?.stringValue ?? "")"
        }
        guard let value = m.value, case .object(let root)? = try? JSONParser.parse(value), case .object(let data)? = root["data"] else {
            return "\(key): \(m.valueString?.prefix(80) ?? "")"
        }
        func field(_ name: String) -> String {
            switch data[name] {
            case .string(let s)?: return s
            case .number(let n, _)?: return n == n.rounded() ? String(Int(n)) : String(n)
            case .bool(let b)?: return String(b)
            case .array(let a)?: return "[\(a.compactMap { if case .string(let s) = $0 { s } else { nil } }.joined(separator: ","))]"
            default: return "-"
            }
        }
        switch m.topic {
        case Topics.productionConfirmation:
            return "\(field("postingId")) \(field("kind")) goodsReceipt=\(field("goodsReceiptQty")) scrap=\(field("scrapQty")) events=\(field("eventCount"))"
        case Topics.erpOrderStatus:
            return "order \(key) \(field("status")) \(field("goodsReceiptQty"))/\(field("orderedQty")) \(field("progressPct"))% risk=\(field("riskReasons"))"
        case Topics.crmOrderStatus:
            return "order \(key) \(field("status")) \(field("progressPct"))% atRisk=\(field("atRisk"))"
        case Topics.quarantine:
            return "\(key): \(field("reason")) — \(field("detail"))"
        case Topics.workOrders:
            return "\(key): \(field("orderedQty")) \(field("uom")) of \(field("itemId"))"
        default:
            let operations = data["operations"].map { if case .array(let a) = $0 { a.count } else { 0 } } ?? 0
            return "\(key): \(field("workOrderId")) \(field("quantity")) \(field("uom")) of \(field("itemId")), \(operations) operations"
        }
    }
}
