/// A record as the stream runtime and the processors see it: no librdkafka, no Kafka client.
public struct StreamRecord: Sendable {
    public struct Header: Sendable, Hashable {
        public var key: String
        public var value: [UInt8]?

        public init(key: String, value: [UInt8]?) {
            self.key = key
            self.value = value
        }

        public init(key: String, value: String) {
            self.init(key: key, value: Array(value.utf8))
        }

        public var stringValue: String? { value.flatMap { String(validating: $0, as: UTF8.self) } }
    }

    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: [UInt8]?
    /// `nil` is a tombstone.
    public var value: [UInt8]?
    public var headers: [Header]
    /// Milliseconds since the epoch, when the record has one.
    public var timestamp: Int64?

    public init(
        topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8]?, headers: [Header] = [],
        timestamp: Int64? = nil
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }

    public var keyString: String? { key.flatMap { String(validating: $0, as: UTF8.self) } }

    /// The last header with this key.
    public func header(_ key: String) -> Header? { headers.last { $0.key == key } }
}
