import Foundation

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
        guard let root = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any],
            let brokers = root["brokers"] as? [String: Any]
        else { return nil }
        self.brokers = brokers.values.compactMap { value in
            guard let broker = value as? [String: Any], let name = broker["name"] as? String else { return nil }
            let rtt = (broker["rtt"] as? [String: Any])?["avg"] as? NSNumber
            let average = rtt?.int64Value
            return Broker(
                name: name, nodeID: (broker["nodeid"] as? NSNumber)?.intValue ?? -1, state: broker["state"] as? String ?? "?",
                averageRTTMicroseconds: average.flatMap { $0 > 0 ? $0 : nil })
        }.sorted { $0.name < $1.name }
    }
}
