/// Records to produce, packed back to back in one byte buffer: topic (an index into ``topics``),
/// partition, timestamp, key, value and headers of each, as bytes.
///
/// What a stream worker's transaction holds its outputs in. As ``KafkaProducerMessage``s every
/// record was several heap objects (its key, value and header arrays, each header's strings) that
/// the committer thread converted, sent and freed one by one; packed, a transaction's records are
/// one allocation of about their own size, written once as they are made and sent straight from
/// the buffer (``KafkaProducer/send(_:extraHeader:)``): no conversion, nothing freed per record.
///
/// Layout of a record (integers little-endian, unaligned): `u32` its length in bytes, `u16` topic
/// index, `u8` flags (1 partition, 2 timestamp, 4 key, 8 value), `i32` partition and `i64`
/// timestamp when flagged, `u32` length and the bytes of the key and of the value when flagged,
/// `u16` header count, then per header `u16` name length, the name, `i32` value length (−1: no
/// value) and the value.
public struct KafkaPackedRecords: Sendable {
    /// The topics the records go to, each once, in the order first used.
    public private(set) var topics: [String] = []
    /// Records held.
    public private(set) var count = 0
    private var storage: [UInt8] = []

    private static let hasPartition: UInt8 = 1
    private static let hasTimestamp: UInt8 = 2
    private static let hasKey: UInt8 = 4
    private static let hasValue: UInt8 = 8

    /// - Parameter capacity: bytes to reserve (a transaction's outputs take about what the
    ///   previous one's did).
    public init(capacity: Int = 0) {
        if capacity > 0 { storage.reserveCapacity(capacity) }
    }

    public var isEmpty: Bool { count == 0 }
    /// Bytes the records take (what the buffer holds).
    public var byteCount: Int { storage.count }
    /// Bytes the buffer has room for.
    public var capacity: Int { storage.capacity }

    /// Appends a record; returns its position (for ``message(at:)``).
    @discardableResult
    public mutating func append(
        topic: String, partition: Int32?, key: [UInt8]?, value: [UInt8]?, headers: [KafkaHeader], timestamp: Int64?
    ) -> Int {
        append(topic: topic, partition: partition, key: key, value: value, timestamp: timestamp, headerCount: headers.count) { writer in
            for header in headers { writer.add(header) }
        }
    }

    /// Appends a record whose `headerCount` headers `writeHeaders` adds (exactly that many, in
    /// order): no array of them needed. Returns its position (for ``message(at:)``).
    @discardableResult
    public mutating func append(
        topic: String, partition: Int32?, key: [UInt8]?, value: [UInt8]?, timestamp: Int64?, headerCount: Int,
        headers writeHeaders: (inout HeaderWriter) -> Void
    ) -> Int {
        let start = storage.count
        let topicIndex: Int
        // A stream task writes to a few topics: a list compared by `==` (the same string storage
        // for the same topic, so mostly no bytes compared).
        if let index = topics.firstIndex(of: topic) {
            topicIndex = index
        } else {
            precondition(topics.count < Int(UInt16.max), "more than 65,535 topics in one batch")
            topicIndex = topics.count
            topics.append(topic)
        }
        put(UInt32(0))  // the length, set below
        put(UInt16(topicIndex))
        var flags: UInt8 = 0
        if partition != nil { flags |= Self.hasPartition }
        if timestamp != nil { flags |= Self.hasTimestamp }
        if key != nil { flags |= Self.hasKey }
        if value != nil { flags |= Self.hasValue }
        storage.append(flags)
        if let partition { put(partition) }
        if let timestamp { put(timestamp) }
        if let key {
            put(UInt32(key.count))
            storage.append(contentsOf: key)
        }
        if let value {
            put(UInt32(value.count))
            storage.append(contentsOf: value)
        }
        precondition(headerCount >= 0 && headerCount <= Int(UInt16.max), "a record's headers: 0 to 65,535")
        put(UInt16(headerCount))
        // The buffer moves to the writer and back: one reference at a time, so appends stay in place.
        var writer = HeaderWriter(storage: [])
        swap(&storage, &writer.storage)
        writeHeaders(&writer)
        swap(&storage, &writer.storage)
        precondition(writer.written == headerCount, "\(writer.written) headers written, \(headerCount) announced")
        let length = UInt32(storage.count - start)
        storage.withUnsafeMutableBytes { $0.storeBytes(of: length.littleEndian, toByteOffset: start, as: UInt32.self) }
        count += 1
        return start
    }

    /// Adds a record's headers to its packed bytes.
    public struct HeaderWriter {
        fileprivate var storage: [UInt8]
        fileprivate var written = 0

        public mutating func add(_ header: KafkaHeader) {
            var name = header.key
            name.withUTF8 { bytes in
                precondition(bytes.count <= Int(UInt16.max), "a header name over 65,535 bytes")
                put(UInt16(bytes.count))
                storage.append(contentsOf: bytes)
            }
            header.withValueBytes { bytes in
                if let bytes {
                    put(Int32(bytes.count))
                    storage.append(contentsOf: bytes)
                } else {
                    put(Int32(-1))
                }
            }
            written += 1
        }

        private mutating func put<T: FixedWidthInteger>(_ value: T) {
            withUnsafeBytes(of: value.littleEndian) { storage.append(contentsOf: $0) }
        }
    }

    private mutating func put<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { storage.append(contentsOf: $0) }
    }

    /// Removes every record, keeping the buffer's capacity when asked.
    public mutating func removeAll(keepingCapacity: Bool = false) {
        storage.removeAll(keepingCapacity: keepingCapacity)
        topics.removeAll(keepingCapacity: keepingCapacity)
        count = 0
    }

    /// Calls `body` with each record, in the order appended. The record's bytes are valid only
    /// during the call.
    public func forEachRecord<E: Error>(_ body: (Record) throws(E) -> Void) throws(E) {
        // `withUnsafeBytes` rethrows untyped: the error is carried out as a value.
        let failure: E? = storage.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let record = Record(buffer, at: offset, topics: topics)
                do throws(E) { try body(record) } catch { return error }
                offset += record.length
            }
            return nil
        }
        if let failure { throw failure }
    }

    /// The record at `position` (as ``append(topic:partition:key:value:headers:timestamp:)``
    /// returned it) as a message: a copy, for logs and tests.
    public func message(at position: Int) -> KafkaProducerMessage {
        storage.withUnsafeBytes { Record($0, at: position, topics: topics).message }
    }

    /// Every record as a message (copies: for tests and tools).
    public var messages: [KafkaProducerMessage] {
        var messages: [KafkaProducerMessage] = []
        messages.reserveCapacity(count)
        forEachRecord { messages.append($0.message) }
        return messages
    }

    /// One packed record, read in place: valid only inside ``KafkaPackedRecords/forEachRecord(_:)``.
    public struct Record {
        /// Where the record starts in the buffer (for ``KafkaPackedRecords/message(at:)``).
        public let position: Int
        public let topicIndex: Int
        public let topic: String
        public let partition: Int32?
        public let timestamp: Int64?
        public let key: UnsafeRawBufferPointer?
        public let value: UnsafeRawBufferPointer?
        public let headerCount: Int
        /// The packed headers (see ``KafkaPackedRecords``).
        let headerBytes: UnsafeRawBufferPointer
        let length: Int

        init(_ buffer: UnsafeRawBufferPointer, at start: Int, topics: [String]) {
            position = start
            var offset = start
            func read<T: FixedWidthInteger>(_: T.Type) -> T {
                defer { offset += MemoryLayout<T>.size }
                return T(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: T.self))
            }
            func bytes(_ count: Int) -> UnsafeRawBufferPointer {
                defer { offset += count }
                return UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + count])
            }
            length = Int(read(UInt32.self))
            topicIndex = Int(read(UInt16.self))
            topic = topics[topicIndex]
            let flags = read(UInt8.self)
            partition = flags & KafkaPackedRecords.hasPartition != 0 ? read(Int32.self) : nil
            timestamp = flags & KafkaPackedRecords.hasTimestamp != 0 ? read(Int64.self) : nil
            key = flags & KafkaPackedRecords.hasKey != 0 ? bytes(Int(read(UInt32.self))) : nil
            value = flags & KafkaPackedRecords.hasValue != 0 ? bytes(Int(read(UInt32.self))) : nil
            headerCount = Int(read(UInt16.self))
            headerBytes = UnsafeRawBufferPointer(rebasing: buffer[offset..<start + length])
        }

        /// Calls `body` with each header's name and value (nil: no value), in order.
        public func forEachHeader(_ body: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer?) -> Void) {
            var offset = 0
            for _ in 0..<headerCount {
                let nameLength = Int(UInt16(littleEndian: headerBytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
                let name = UnsafeRawBufferPointer(rebasing: headerBytes[offset + 2..<offset + 2 + nameLength])
                offset += 2 + nameLength
                let valueLength = Int(Int32(littleEndian: headerBytes.loadUnaligned(fromByteOffset: offset, as: Int32.self)))
                offset += 4
                if valueLength < 0 {
                    body(name, nil)
                } else {
                    body(name, UnsafeRawBufferPointer(rebasing: headerBytes[offset..<offset + valueLength]))
                    offset += valueLength
                }
            }
        }

        /// The headers as values (copies).
        public var headers: [KafkaHeader] {
            var headers: [KafkaHeader] = []
            headers.reserveCapacity(headerCount)
            forEachHeader { name, value in
                headers.append(KafkaHeader(key: String(decoding: name, as: UTF8.self), value: value.map { Array($0) }))
            }
            return headers
        }

        /// The record as a message (copies).
        public var message: KafkaProducerMessage {
            KafkaProducerMessage(
                topic: topic, partition: partition, key: key.map { Array($0) }, value: value.map { Array($0) }, headers: headers,
                timestamp: timestamp)
        }
    }
}
