/// A topic and one of its partitions.
public struct KafkaTopicPartition: Hashable, Sendable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public var description: String { "\(topic)[\(partition)]" }
}

/// A position in a partition. `offset` is the offset of the *next* record to read, as Kafka
/// stores committed offsets; the logical values are ``KafkaOffset``.
public struct KafkaTopicPartitionOffset: Hashable, Sendable, CustomStringConvertible {
    public var topicPartition: KafkaTopicPartition
    public var offset: Int64
    /// Free text stored with a committed offset (at most a few hundred bytes), if any.
    public var metadata: String?

    public init(_ topicPartition: KafkaTopicPartition, offset: Int64, metadata: String? = nil) {
        self.topicPartition = topicPartition
        self.offset = offset
        self.metadata = metadata
    }

    public init(topic: String, partition: Int32, offset: Int64, metadata: String? = nil) {
        self.init(KafkaTopicPartition(topic: topic, partition: partition), offset: offset, metadata: metadata)
    }

    public var topic: String { topicPartition.topic }
    public var partition: Int32 { topicPartition.partition }
    public var description: String { "\(topicPartition)@\(KafkaOffset.describe(offset))" }
}

/// librdkafka's logical offsets.
public enum KafkaOffset {
    /// The first offset still in the log.
    public static let beginning: Int64 = -2
    /// The offset after the last record (only new records are read).
    public static let end: Int64 = -1
    /// The committed offset, or `auto.offset.reset` when there is none.
    public static let stored: Int64 = -1000
    /// No offset (nothing committed).
    public static let invalid: Int64 = -1001

    static func describe(_ offset: Int64) -> String {
        switch offset {
        case beginning: return "BEGINNING"
        case end: return "END"
        case stored: return "STORED"
        case invalid: return "INVALID"
        default: return String(offset)
        }
    }
}

/// A Kafka record header. A header may have no value (`nil`), which differs from an empty one.
///
/// A value given as text is kept as the `String` and written from its UTF-8 as it is (producers
/// of events write several text headers per record: no byte array each). Two headers are equal
/// when their keys and value bytes are, however they were made.
public struct KafkaHeader: Hashable, Sendable {
    public var key: String
    private var storage: Storage

    private enum Storage: Sendable {
        case bytes([UInt8]?)
        case text(String)
    }

    public init(key: String, value: [UInt8]?) {
        self.key = key
        self.storage = .bytes(value)
    }

    public init(key: String, value: String) {
        self.key = key
        self.storage = .text(value)
    }

    public var value: [UInt8]? {
        get {
            switch storage {
            case .bytes(let bytes): bytes
            case .text(let text): Array(text.utf8)
            }
        }
        set { storage = .bytes(newValue) }
    }

    /// The value as UTF-8 text, if it has one and it is valid UTF-8.
    public var stringValue: String? {
        switch storage {
        case .bytes(let bytes): bytes.flatMap { String(validating: $0, as: UTF8.self) }
        case .text(let text): text
        }
    }

    /// The value's bytes without a copy (nil: no value).
    public func withValueBytes<Result>(_ body: (UnsafeRawBufferPointer?) throws -> Result) rethrows -> Result {
        switch storage {
        case .bytes(let bytes?): return try bytes.withUnsafeBytes { try body($0) }
        case .bytes(nil): return try body(nil)
        case .text(var text): return try text.withUTF8 { try body(UnsafeRawBufferPointer($0)) }
        }
    }

    public static func == (a: KafkaHeader, b: KafkaHeader) -> Bool {
        guard a.key == b.key else { return false }
        return a.withValueBytes { x in
            b.withValueBytes { y in
                switch (x, y) {
                case (nil, nil): true
                case (let x?, let y?): x.count == y.count && x.elementsEqual(y)
                default: false
                }
            }
        }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(key)
        withValueBytes { bytes in
            if let bytes {
                hasher.combine(bytes.count)
                hasher.combine(bytes: bytes)
            } else {
                hasher.combine(-1)
            }
        }
    }
}

extension Array where Element == KafkaHeader {
    /// The last header with this key (Kafka allows repeats; the last one wins, as in Kafka Streams).
    public func last(_ key: String) -> KafkaHeader? { last { $0.key == key } }
}

/// A record timestamp in milliseconds since the Unix epoch, and what set it.
public struct KafkaTimestamp: Hashable, Sendable {
    public enum Kind: Sendable, Hashable {
        /// Set by the producer (the default on every topic).
        case createTime
        /// Set by the broker when it appended the record (`message.timestamp.type=LogAppendTime`).
        case logAppendTime
    }

    public var milliseconds: Int64
    public var kind: Kind

    public init(milliseconds: Int64, kind: Kind = .createTime) {
        self.milliseconds = milliseconds
        self.kind = kind
    }
}

/// A record to produce.
public struct KafkaProducerMessage: Sendable {
    public var topic: String
    /// `nil` lets librdkafka's partitioner pick by key (murmur2-random: the same as the Java client).
    public var partition: Int32?
    public var key: [UInt8]?
    /// `nil` is a tombstone on a compacted topic.
    public var value: [UInt8]?
    public var headers: [KafkaHeader]
    /// `nil` uses the producer's clock.
    public var timestamp: Int64?

    public init(
        topic: String, partition: Int32? = nil, key: [UInt8]?, value: [UInt8]?,
        headers: [KafkaHeader] = [], timestamp: Int64? = nil
    ) {
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }

    public init(
        topic: String, partition: Int32? = nil, key: String?, value: String?,
        headers: [KafkaHeader] = [], timestamp: Int64? = nil
    ) {
        self.init(
            topic: topic, partition: partition, key: key.map { Array($0.utf8) },
            value: value.map { Array($0.utf8) }, headers: headers, timestamp: timestamp)
    }
}

/// Where a produced record landed.
public struct KafkaDeliveryReport: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var timestamp: Int64?
}

/// A consumed record.
public struct KafkaConsumerMessage: Sendable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var timestamp: KafkaTimestamp?
    private var contents: Contents

    /// Where value, key and headers are.
    private enum Contents: Sendable {
        /// The message as librdkafka returned it (a consumer's poll copies nothing).
        case held(RDKafkaMessage)
        /// Value, key and headers in one buffer (a message made in Swift): value, key, then per
        /// header a 2-byte name length, the name, a 4-byte value length (-1 for none) and the
        /// value; lengths little-endian.
        case copied(storage: [UInt8], valueLength: Int32, keyLength: Int32)
    }

    public init(
        topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8]?,
        headers: [KafkaHeader] = [], timestamp: KafkaTimestamp? = nil
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestamp = timestamp
        let (storage, valueLength, keyLength) = Self.layout(key: key, value: value, headers: headers.map { (Array($0.key.utf8), $0.value) })
        contents = .copied(storage: storage, valueLength: valueLength, keyLength: keyLength)
    }

    /// A message that holds librdkafka's (the consumer's poll).
    init(topic: String, partition: Int32, offset: Int64, held message: RDKafkaMessage, timestamp: KafkaTimestamp?) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestamp = timestamp
        contents = .held(message)
    }

    private static func layout<Bytes: Collection<UInt8>, Name: Collection<UInt8>, Value: Collection<UInt8>>(
        key: Bytes?, value: Bytes?, headers: [(name: Name, value: Value?)]
    ) -> (storage: [UInt8], valueLength: Int32, keyLength: Int32) {
        var capacity = (value?.count ?? 0) + (key?.count ?? 0)
        for header in headers { capacity += 6 + header.name.count + (header.value?.count ?? 0) }
        var storage: [UInt8] = []
        storage.reserveCapacity(capacity)
        if let value { storage.append(contentsOf: value) }
        if let key { storage.append(contentsOf: key) }
        for header in headers {
            let nameLength = UInt16(clamping: header.name.count)
            storage.append(UInt8(truncatingIfNeeded: nameLength))
            storage.append(UInt8(truncatingIfNeeded: nameLength >> 8))
            storage.append(contentsOf: header.name.prefix(Int(nameLength)))
            let length = header.value.map { Int32($0.count) } ?? -1
            withUnsafeBytes(of: length.littleEndian) { storage.append(contentsOf: $0) }
            if let bytes = header.value { storage.append(contentsOf: bytes) }
        }
        return (storage, value.map { Int32($0.count) } ?? -1, key.map { Int32($0.count) } ?? -1)
    }

    /// The message with its value, key and headers in a buffer of its own (one allocation),
    /// no longer holding librdkafka's: for a record kept a while. A held librdkafka message
    /// keeps its fetch response's buffer and librdkafka's bookkeeping alive; a consumer that
    /// buffers thousands of records ahead (the stream runtime) holds less as copies.
    public func detached() -> KafkaConsumerMessage {
        guard case .held(let message) = contents else { return self }
        var copy = self
        message.withValue { value in
            message.withKey { key in
                message.withHeaderBytes { headers in
                    let (storage, valueLength, keyLength) = Self.layout(key: key, value: value, headers: headers)
                    copy.contents = .copied(storage: storage, valueLength: valueLength, keyLength: keyLength)
                }
            }
        }
        return copy
    }

    /// The value's length in bytes without a copy (nil: a tombstone).
    public var valueCount: Int? {
        switch contents {
        case .held(let message): message.valueCount
        case .copied(_, let valueLength, _): valueLength < 0 ? nil : Int(valueLength)
        }
    }

    /// The value's bytes without a copy, valid inside `body` only (nil: a tombstone).
    public func withValueBytes<R>(_ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        switch contents {
        case .held(let message): return try message.withValue(body)
        case .copied(let storage, let valueLength, _):
            guard valueLength >= 0 else { return try body(nil) }
            return try storage.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<Int(valueLength)])) }
        }
    }

    public var value: [UInt8]? {
        get { withValueBytes { $0.map { Array($0) } } }
        set { self = Self(topic: topic, partition: partition, offset: offset, key: key, value: newValue, headers: headers, timestamp: timestamp) }
    }

    public var key: [UInt8]? {
        get {
            switch contents {
            case .held(let message): return message.withKey { $0.map { Array($0) } }
            case .copied(let storage, let valueLength, let keyLength):
                guard keyLength >= 0 else { return nil }
                let start = max(0, Int(valueLength))
                return Array(storage[start..<start + Int(keyLength)])
            }
        }
        set { self = Self(topic: topic, partition: partition, offset: offset, key: newValue, value: value, headers: headers, timestamp: timestamp) }
    }

    public var headers: [KafkaHeader] {
        get {
            guard case .copied(let storage, let valueLength, let keyLength) = contents else {
                guard case .held(let message) = contents else { return [] }
                return message.headers
            }
            var result: [KafkaHeader] = []
            var index = max(0, Int(valueLength)) + max(0, Int(keyLength))
            while index + 2 <= storage.count {
                let nameLength = Int(storage[index]) | Int(storage[index + 1]) << 8
                index += 2
                let name = String(decoding: storage[index..<index + nameLength], as: UTF8.self)
                index += nameLength
                var length: Int32 = 0
                for i in 0..<4 { length |= Int32(storage[index + i]) << (8 * Int32(i)) }
                index += 4
                if length < 0 {
                    result.append(KafkaHeader(key: name, value: nil))
                } else {
                    result.append(KafkaHeader(key: name, value: Array(storage[index..<index + Int(length)])))
                    index += Int(length)
                }
            }
            return result
        }
        set { self = Self(topic: topic, partition: partition, offset: offset, key: key, value: value, headers: newValue, timestamp: timestamp) }
    }

    public var topicPartition: KafkaTopicPartition { KafkaTopicPartition(topic: topic, partition: partition) }
    public var keyString: String? { key.flatMap { String(validating: $0, as: UTF8.self) } }
    public var valueString: String? { value.flatMap { String(validating: $0, as: UTF8.self) } }
}

/// What a consumer poll can yield.
public enum KafkaConsumerEvent: Sendable {
    case message(KafkaConsumerMessage)
    /// The consumer reached the end of a partition (only with `enablePartitionEOF`); `offset` is
    /// the next offset that will be written there.
    case partitionEOF(KafkaTopicPartitionOffset)
}

/// Low and high watermark of a partition: the first offset still kept and the next to be written.
public struct KafkaWatermarks: Hashable, Sendable {
    public var low: Int64
    public var high: Int64

    public init(low: Int64, high: Int64) {
        self.low = low
        self.high = high
    }
}
