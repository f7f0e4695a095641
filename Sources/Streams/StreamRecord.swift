import Kafka

/// A record as the stream runtime and the processors see it: no librdkafka, no Kafka client.
public struct StreamRecord: Sendable {
    /// A header. A value given as text stays a `String` until it is written (an output carries
    /// several: no byte array each). Equal when keys and value bytes are, however made.
    public struct Header: Sendable, Hashable {
        public var key: String
        private var bytes: [UInt8]?
        /// The value when it was given as text (then `bytes` is unused).
        private(set) var text: String?

        public init(key: String, value: [UInt8]?) {
            self.key = key
            self.bytes = value
        }

        public init(key: String, value: String) {
            self.key = key
            self.text = value
        }

        public var value: [UInt8]? {
            get { text.map { Array($0.utf8) } ?? bytes }
            set {
                text = nil
                bytes = newValue
            }
        }

        public var stringValue: String? { text ?? bytes.flatMap { String(validating: $0, as: UTF8.self) } }

        public static func == (a: Header, b: Header) -> Bool {
            guard a.key == b.key else { return false }
            if let x = a.text, let y = b.text { return x.utf8.elementsEqual(y.utf8) }  // bytes, as `hash` sees them
            return a.value == b.value
        }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(key)
            hasher.combine(value)
        }
    }

    public var topic: String
    public var partition: Int32
    public var offset: Int64
    /// `nil` is a tombstone.
    public var value: [UInt8]?
    /// Milliseconds since the epoch, when the record has one.
    public var timestamp: Int64?

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
        message.headers.map { Header(key: $0.key, value: $0.value) }
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
