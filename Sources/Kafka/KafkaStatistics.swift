import JSON

/// What Millwright reads of librdkafka's statistics JSON (`statistics.interval.ms`): each broker's
/// connection state and round-trip time. See librdkafka's STATISTICS.md for the full document.
public struct KafkaStatistics: Sendable, Hashable {
    /// One broker connection of the client.
    public struct Broker: Sendable, Hashable {
        /// `host:port/nodeid` as librdkafka names it (bootstrap entries: `host:port/bootstrap`).
        public var name: String
        /// The broker's node id; -1 for a bootstrap connection.
        public var nodeID: Int
        /// `UP`, `DOWN`, `INIT`, `CONNECT`, `AUTH`, `APIVERSION_QUERY`, `TRY_CONNECT`, …
        public var state: String
        /// Average round-trip time over the last interval, in microseconds; `nil` without requests.
        public var averageRTTMicroseconds: Int64?

        /// The connection is up.
        public var isUp: Bool { state == "UP" }
    }

    public var brokers: [Broker]

    /// Parses the statistics JSON; `nil` when it is not librdkafka's document.
    public init?(json: String) {
        guard let root = try? JSONParser.parse(Array(json.utf8)), case .object(let brokers)? = root["brokers"] else { return nil }
        self.brokers = brokers.members.compactMap { member in
            let broker = member.value
            guard let name = broker["name"]?.stringValue else { return nil }
            let average = broker["rtt"]?["avg"]?.int64
            return Broker(
                name: name, nodeID: broker["nodeid"]?.int64.map { Int($0) } ?? -1, state: broker["state"]?.stringValue ?? "?",
                averageRTTMicroseconds: average.flatMap { $0 > 0 ? $0 : nil })
        }.sorted { $0.name < $1.name }
    }
}
