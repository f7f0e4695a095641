import Kafka

/// A record as the stream runtime and the processors see it: no librdkafka, no Kafka client.
public struct StreamRecord: Sendable {
    /// A header. Kept as the Kafka layer's header, so a value given as text stays a `String`
    /// until it is written, and two headers are equal when keys and value bytes are.
    public struct Header: Sendable, Hashable {
        /// The header as the Kafka layer writes it (no conversion when an output is sent).
        var kafka: KafkaHeader

        init(_ kafka: KafkaHeader) {
            self.kafka = kafka
        }

        public init(key: String, value: [UInt8]?) {
            kafka = KafkaHeader(key: key, value: value)
        }

        public init(key: String, value: String) {
            kafka = KafkaHeader(key: key, value: value)
        }

        public var key: String {
            get { kafka.key }
            set { kafka.key = newValue }
        }

        public var value: [UInt8]? {
            get { kafka.value }
            set { kafka.value = newValue }
        }

        public var stringValue: String? { kafka.stringValue }
    }

    public var topic: String
    public var partition: Int32
    public var offset: Int64
    /// `nil` is a tombstone.
    public var value: [UInt8]?
    /// Milliseconds since the epoch, when the record has one.
    public var timestamp: Int64?
    /// Where the record was first read, when the runtime forwarded it through the processor's
    /// repartition topic (``ProcessorContext/repartition(_:key:)``); `nil` for a record read
    /// where it was produced. `topic`, `partition` and `offset` are always where it was read now.
    public var origin: RecordOrigin?
    /// The topic the record was produced to: its origin's, or its own.
    public var sourceTopic: String { origin?.topic ?? topic }

    public var key: [UInt8]? {
        get { consumed.map(\.key) ?? storedKey }
        set {
            copyOutOfConsumed()
            storedKey = newValue
        }
    }

    public var headers: [Header] {
        get { consumed.map(Self.headers(of:)) ?? storedHeaders }
        set {
            copyOutOfConsumed()
            storedHeaders = newValue
        }
    }

    private var storedKey: [UInt8]?
    private var storedHeaders: [Header]
    /// A consumed record's key and headers stay in its message until asked for: most records
    /// never need them, and copying them out was a dozen allocations a record. (Internal: the
    /// processors see `key` and `headers` only.)
    var consumed: KafkaConsumerMessage?

    private mutating func copyOutOfConsumed() {
        guard let message = consumed else { return }
        consumed = nil
        storedKey = message.key
        storedHeaders = Self.headers(of: message)
    }

    private static func headers(of message: KafkaConsumerMessage) -> [Header] {
        message.headers.map(Header.init)
    }

    public init(
        topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8]?, headers: [Header] = [],
        timestamp: Int64? = nil
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.storedKey = key
        self.value = value
        self.storedHeaders = headers
        self.timestamp = timestamp
    }

    public var keyString: String? { key.flatMap { String(validating: $0, as: UTF8.self) } }

    /// The last header with this key.
    public func header(_ key: String) -> Header? { headers.last { $0.key == key } }
}
