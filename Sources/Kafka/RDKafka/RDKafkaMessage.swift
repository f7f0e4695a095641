import CRdKafka
import Foundation
import Synchronization

/// One consumed librdkafka message, held as librdkafka returned it: a poll copies nothing, and
/// value, key and headers are read from it when asked for. It is destroyed with the last
/// ``KafkaConsumerMessage`` that holds it.
///
/// It keeps its client alive: librdkafka wants a handle's messages destroyed before the handle.
/// Holding a message also holds the fetch response it came in (librdkafka's buffer, shared by the
/// records of that fetch), as librdkafka's own queue did until the poll.
///
/// `@unchecked Sendable`: the message is never changed after the poll, except librdkafka's
/// header list, which it parses on the first `rd_kafka_message_headers` call: that call is
/// serialized by `headerLock`. `rd_kafka_message_destroy` may run on any thread (librdkafka
/// counts its references atomically).
final class RDKafkaMessage: @unchecked Sendable {
    private let message: UnsafeMutablePointer<rd_kafka_message_t>
    private let client: RDKafkaClient
    /// Serializes librdkafka's parse of the header list (a `Mutex` is stored inline: no allocation
    /// per message).
    private let headerLock = Mutex(())

    /// Takes over `message` (destroyed in `deinit`).
    init(taking message: UnsafeMutablePointer<rd_kafka_message_t>, client: RDKafkaClient) {
        self.message = message
        self.client = client
    }

    deinit { rd_kafka_message_destroy(message) }

    var valueCount: Int? { message.pointee.payload == nil ? nil : message.pointee.len }

    /// The value's bytes, valid inside `body` only (nil: a tombstone).
    func withValue<R>(_ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        try withExtendedLifetime(self) {
            try body(message.pointee.payload.map { UnsafeRawBufferPointer(start: $0, count: message.pointee.len) })
        }
    }

    /// The key's bytes, valid inside `body` only (nil: no key).
    func withKey<R>(_ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        try withExtendedLifetime(self) {
            try body(message.pointee.key.map { UnsafeRawBufferPointer(start: $0, count: message.pointee.key_len) })
        }
    }

    /// Every header, in order, copied out.
    var headers: [KafkaHeader] {
        withHeaderBytes { raw in
            raw.map { KafkaHeader(key: String(decoding: $0.name, as: UTF8.self), value: $0.value.map { Array($0) }) }
        }
    }

    /// Every header's name and value bytes, in order, valid inside `body` only (they point into
    /// the message).
    func withHeaderBytes<R>(_ body: ([(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer?)]) throws -> R) rethrows -> R {
        // librdkafka parses the list on the first call and keeps it: reading it is read-only.
        let parsed: OpaquePointer? = headerLock.withLock { _ in
            var raw: OpaquePointer?
            return rd_kafka_message_headers(message, &raw) == RD_KAFKA_RESP_ERR_NO_ERROR ? raw : nil
        }
        var headers: [(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer?)] = []
        if let raw = parsed {
            headers.reserveCapacity(rd_kafka_header_cnt(raw))
            var index = 0
            var name: UnsafePointer<CChar>?
            var value: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(raw, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                let nameBytes = name.map { UnsafeRawBufferPointer(start: $0, count: strlen($0)) } ?? UnsafeRawBufferPointer(start: nil, count: 0)
                headers.append((nameBytes, value.map { UnsafeRawBufferPointer(start: $0, count: size) }))
                index += 1
            }
        }
        return try withExtendedLifetime(self) { try body(headers) }
    }
}
