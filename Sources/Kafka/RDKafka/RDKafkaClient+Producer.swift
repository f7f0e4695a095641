import CRdKafka
import Foundation
import Logging
import Synchronization

/// Receives one delivery report on librdkafka's polling thread. Passed to librdkafka as the
/// per-message opaque (retained), released when its report arrives.
class RDKafkaDeliveryWaiter: @unchecked Sendable {
    // @unchecked: subclasses keep their mutable state behind a lock.
    func complete(_ result: Result<KafkaDeliveryReport, KafkaError>) {}
}

extension RDKafkaClient {
    /// Installs the delivery report callback. Call from `configure` when creating a producer.
    static func installDeliveryCallback(on conf: OpaquePointer) {
        rd_kafka_conf_set_dr_msg_cb(conf) { _, message, opaque in
            guard let message else { return }
            let m = message.pointee
            // Every record's report, delivered or failed, counts down what a wait for deliveries waits for.
            defer { RDKafkaCallbackContext.from(opaque)?.deliveryServed() }
            // Delivered and nobody waiting (the stream worker's sends): nothing to report.
            if m.err == RD_KAFKA_RESP_ERR_NO_ERROR && m._private == nil { return }
            let result: Result<KafkaDeliveryReport, KafkaError>
            let topic = m.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? "?"
            if m.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
                let ts = rd_kafka_message_timestamp(message, &type)
                result = .success(
                    KafkaDeliveryReport(
                        topic: topic, partition: m.partition, offset: m.offset,
                        timestamp: type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : ts))
            } else {
                result = .failure(RDKafkaResult.error(m.err, "delivery to \(topic)[\(m.partition)]"))
            }
            if let waiter = m._private {
                Unmanaged<RDKafkaDeliveryWaiter>.fromOpaque(waiter).takeRetainedValue().complete(result)
            } else if case .failure(let error) = result, let context = RDKafkaCallbackContext.from(opaque) {
                context.untrackedDeliveryFailures.add(1, ordering: .relaxed)
                if m.err != RD_KAFKA_RESP_ERR__PURGE_QUEUE && m.err != RD_KAFKA_RESP_ERR__PURGE_INFLIGHT {
                    context.untrackedDeliveryFailuresNotPurged.add(1, ordering: .relaxed)
                }
                context.lastDeliveryError.withLock { $0 = error }
                context.logger.error("delivery failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Enqueues one record (copied). When librdkafka's local queue is full this serves delivery
    /// reports and tries again, up to `queueFullTimeout`.
    func produce(
        _ message: KafkaProducerMessage, waiter: RDKafkaDeliveryWaiter?, queueFullTimeout: Duration
    ) throws(KafkaError) {
        try produceRetrying(topic: message.topic, waiter: waiter, queueFullTimeout: queueFullTimeout) { opaque in
            var headers: OpaquePointer? = nil
            if !message.headers.isEmpty {
                headers = rd_kafka_headers_new(message.headers.count)
                for header in message.headers {
                    header.withValueBytes { value in
                        // librdkafka copies the value; an empty one still needs a non-null pointer.
                        if let value {
                            _ = rd_kafka_header_add(headers, header.key, -1, value.baseAddress ?? UnsafeRawPointer(emptyBuffer), value.count)
                        } else {
                            _ = rd_kafka_header_add(headers, header.key, -1, nil, 0)
                        }
                    }
                }
            }
            return withOptionalBytes(message.key) { key in
                withOptionalBytes(message.value) { value in
                    produceOnce(
                        topic: message.topic, partition: message.partition, key: key, value: value, timestamp: message.timestamp,
                        headers: headers, opaque: opaque)
                }
            }
        }
    }

    /// Enqueues one packed record (copied from its buffer), with `extraHeader` after its own
    /// headers; as ``produce(_:waiter:queueFullTimeout:)`` when the queue is full.
    func produce(_ record: KafkaPackedRecords.Record, extraHeader: KafkaHeader?, queueFullTimeout: Duration) throws(KafkaError) {
        try produceRetrying(topic: record.topic, waiter: nil, queueFullTimeout: queueFullTimeout) { opaque in
            var headers: OpaquePointer? = nil
            let headerCount = record.headerCount + (extraHeader == nil ? 0 : 1)
            if headerCount > 0 {
                let list = rd_kafka_headers_new(headerCount)
                record.forEachHeader { name, value in
                    let namePointer = name.baseAddress.map { $0.assumingMemoryBound(to: CChar.self) } ?? UnsafePointer(emptyCString)
                    _ = rd_kafka_header_add(
                        list, namePointer, name.count, value.map { $0.baseAddress ?? UnsafeRawPointer(emptyBuffer) }, value?.count ?? 0)
                }
                if let extraHeader {
                    extraHeader.withValueBytes { value in
                        _ = rd_kafka_header_add(list, extraHeader.key, -1, value.map { $0.baseAddress ?? UnsafeRawPointer(emptyBuffer) }, value?.count ?? 0)
                    }
                }
                headers = list
            }
            return produceOnce(
                topic: record.topic, partition: record.partition, key: record.key, value: record.value, timestamp: record.timestamp, headers: headers,
                opaque: opaque)
        }
    }

    /// Runs `attempt` (one produceva, given the per-record opaque) until it is queued; when
    /// librdkafka's queue is full, serves delivery reports and tries again up to `queueFullTimeout`.
    private func produceRetrying(
        topic: String, waiter: RDKafkaDeliveryWaiter?, queueFullTimeout: Duration, _ attempt: (UnsafeMutableRawPointer?) -> OpaquePointer?
    ) throws(KafkaError) {
        try checkFatal()
        let opaque = waiter.map { Unmanaged.passRetained($0).toOpaque() }
        var deadline: ContinuousClock.Instant?  // only when the queue is full
        while true {
            // Counted before the record is queued: its report can be served before produceva returns.
            context.deliveriesPending.add(1, ordering: .relaxed)
            let error = attempt(opaque)
            guard let error else { return }
            context.deliveryServed()
            let code = rd_kafka_error_code(error)
            if code == RD_KAFKA_RESP_ERR__QUEUE_FULL {
                deadline = deadline ?? ContinuousClock.now.advanced(by: queueFullTimeout)
            }
            if code == RD_KAFKA_RESP_ERR__QUEUE_FULL, let deadline, ContinuousClock.now < deadline {
                rd_kafka_error_destroy(error)
                poll(timeoutMilliseconds: 10)
                continue
            }
            if let opaque { Unmanaged<RDKafkaDeliveryWaiter>.fromOpaque(opaque).release() }
            try RDKafkaResult.check(error, "produce to \(topic)")
        }
    }

    /// One `rd_kafka_produceva` (the record copied). `headers` pass to librdkafka on success; on
    /// failure they are destroyed here.
    private func produceOnce(
        topic: String, partition: Int32?, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, timestamp: Int64?, headers: OpaquePointer?,
        opaque: UnsafeMutableRawPointer?
    ) -> OpaquePointer? {
        let error: OpaquePointer? = topic.withCString { topic in
            // At most 8 arguments, on the stack: no allocation per record.
            withUnsafeTemporaryAllocation(of: rd_kafka_vu_t.self, capacity: 8) { vus in
                var count = 0
                func add(_ type: rd_kafka_vtype_t, _ set: (inout rd_kafka_vu_t) -> Void) {
                    var v = rd_kafka_vu_t()
                    v.vtype = type
                    set(&v)
                    vus.initializeElement(at: count, to: v)
                    count += 1
                }
                func addBytes(_ type: rd_kafka_vtype_t, _ bytes: UnsafeRawBufferPointer) {
                    add(type) {
                        $0.u.mem.ptr = bytes.baseAddress.map { UnsafeMutableRawPointer(mutating: $0) } ?? emptyBuffer
                        $0.u.mem.size = bytes.count
                    }
                }
                add(RD_KAFKA_VTYPE_TOPIC) { $0.u.cstr = topic }
                add(RD_KAFKA_VTYPE_MSGFLAGS) { $0.u.i = RD_KAFKA_MSG_F_COPY }
                if let partition { add(RD_KAFKA_VTYPE_PARTITION) { $0.u.i32 = partition } }
                if let key { addBytes(RD_KAFKA_VTYPE_KEY, key) }
                if let value { addBytes(RD_KAFKA_VTYPE_VALUE, value) }
                if let timestamp { add(RD_KAFKA_VTYPE_TIMESTAMP) { $0.u.i64 = timestamp } }
                if let headers { add(RD_KAFKA_VTYPE_HEADERS) { $0.u.headers = headers } }
                if let opaque { add(RD_KAFKA_VTYPE_OPAQUE) { $0.u.ptr = opaque } }
                return withHandle { rk in rd_kafka_produceva(rk, vus.baseAddress, count) }
            }
        }
        // On success librdkafka owns the headers; on failure they are still ours.
        if error != nil, let headers { rd_kafka_headers_destroy(headers) }
        return error
    }

    /// Waits until every queued record is delivered or failed. Blocks up to `timeout`.
    func flush(timeout: Duration) throws(KafkaError) {
        let remaining = waitForDeliveries(timeout: timeout)
        let code = withHandle { rd_kafka_flush($0, remaining.millisecondsInt32) }
        try RDKafkaResult.check(code, "flush (\(outstandingCount) records still queued)")
    }

    /// Waits (up to `timeout`) until every record's delivery report is served and nothing is
    /// queued or in flight.
    ///
    /// librdkafka 2.0.2's flush — also inside `rd_kafka_commit_transaction` — serves delivery
    /// reports itself in polls of up to 10 ms; the producer's poll thread serves them first, so
    /// the flush's own poll found nothing and slept its 10 ms through (every commit took ≥ 10 ms).
    /// Called first, this leaves the flush nothing to wait for. It sleeps until the last report is
    /// served (the delivery callback signals), then checks librdkafka's queue every 50 µs for the
    /// moment it takes to free those records (a poll every 0.2 ms all the while cost a committer
    /// ~5,000 wake-ups a second). Returns what is left of `timeout` (at least 1 ms, so the flush
    /// or commit after it still runs once).
    private func waitForDeliveries(timeout: Duration) -> Duration {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        let wallDeadline = Date(timeIntervalSinceNow: Double(timeout.components.seconds) + Double(timeout.components.attoseconds) * 1e-18)
        let drained = context.deliveriesDrained
        drained.lock()
        while context.deliveriesPending.load(ordering: .relaxed) > 0 && drained.wait(until: wallDeadline) {}
        drained.unlock()
        while outstandingCount > 0 && ContinuousClock.now < deadline { usleep(50) }
        return max(.milliseconds(1), deadline - ContinuousClock.now)
    }

    /// Records queued locally or in flight, awaiting a delivery report.
    var outstandingCount: Int { Int(withHandle { rd_kafka_outq_len($0) }) }

    // MARK: Transactions (each blocks; call from a blocking thread)

    func initTransactions(timeout: Duration) throws(KafkaError) {
        try RDKafkaResult.check(
            withHandle { rd_kafka_init_transactions($0, timeout.millisecondsInt32) }, "init transactions")
    }

    func beginTransaction() throws(KafkaError) {
        try RDKafkaResult.check(withHandle { rd_kafka_begin_transaction($0) }, "begin transaction")
    }

    func sendOffsetsToTransaction(
        _ offsets: [KafkaTopicPartitionOffset], groupMetadata: KafkaConsumerGroupMetadata, timeout: Duration
    ) throws(KafkaError) {
        let list = RDKafkaTopicPartitionList(offsets)
        try RDKafkaResult.check(
            withHandle { rk in
                groupMetadata.withPointer {
                    rd_kafka_send_offsets_to_transaction(rk, list.pointer, $0, timeout.millisecondsInt32)
                }
            }, "send offsets to transaction")
    }

    func commitTransaction(timeout: Duration) throws(KafkaError) {
        let remaining = waitForDeliveries(timeout: timeout)
        try RDKafkaResult.check(
            withHandle { rd_kafka_commit_transaction($0, remaining.millisecondsInt32) }, "commit transaction")
    }

    func abortTransaction(timeout: Duration) throws(KafkaError) {
        try RDKafkaResult.check(
            withHandle { rd_kafka_abort_transaction($0, timeout.millisecondsInt32) }, "abort transaction")
    }
}

nonisolated(unsafe) private let emptyBuffer = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)
/// A name for a header whose name is empty (librdkafka copies `name_size` bytes of it: none).
nonisolated(unsafe) private let emptyCString: UnsafeMutablePointer<CChar> = {
    let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: 1)
    pointer.initialize(to: 0)
    return pointer
}()

private func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
    guard let bytes else { return body(nil) }
    return bytes.withUnsafeBytes { body($0) }
}

/// Owns a `rd_kafka_consumer_group_metadata_t`, which a transactional producer needs to send a
/// consumer's offsets into its transaction.
///
/// `@unchecked Sendable`: the pointer is immutable after creation and only read by librdkafka.
public final class KafkaConsumerGroupMetadata: @unchecked Sendable {
    private let pointer: OpaquePointer

    init(taking pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit { rd_kafka_consumer_group_metadata_destroy(pointer) }

    func withPointer<T>(_ body: (OpaquePointer) -> T) -> T { body(pointer) }
}
