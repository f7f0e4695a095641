/// A record a processor wants written: topic, key, value and headers. The runtime produces it.
public struct OutputRecord: Sendable {
    public var topic: String
    public var key: [UInt8]?
    /// `nil` is a tombstone.
    public var value: [UInt8]?
    public var headers: [StreamRecord.Header]
    /// Milliseconds since the epoch; `nil` lets the producer stamp it.
    public var timestamp: Int64?

    public init(
        topic: String, key: [UInt8]?, value: [UInt8]?, headers: [StreamRecord.Header] = [], timestamp: Int64? = nil
    ) {
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }

    public init(topic: String, key: String, value: [UInt8], headers: [StreamRecord.Header] = [], timestamp: Int64? = nil) {
        self.init(topic: topic, key: Array(key.utf8), value: value, headers: headers, timestamp: timestamp)
    }
}
