import CRdKafka
import Foundation
import Logging
import Synchronization

extension RDKafkaClient {
    /// Installs the rebalance and offset-commit callbacks. Call from `configure` for consumers.
    ///
    /// The rebalance callback runs on the thread that polls. On a revoke it calls the handler
    /// *first* and only then gives the partitions up, so the handler can flush and commit while
    /// this member still owns them; on an assign it takes the partitions and then calls the
    /// handler, before any of their records is returned by a poll.
    static func installConsumerCallbacks(on conf: OpaquePointer) {
        rd_kafka_conf_set_rebalance_cb(conf) { rk, code, partitions, opaque in
            guard let rk, let partitions else { return }
            let context = RDKafkaCallbackContext.from(opaque)
            let list = RDKafkaTopicPartitionList(borrowing: partitions)
            // NULL once the consumer is closing (its group no longer takes requests): then the
            // incremental calls are tried first, and an eager consumer refuses them harmlessly.
            let named = rd_kafka_rebalance_protocol(rk).map { String(cString: $0) }
            let cooperative = named.map { $0 == "COOPERATIVE" }
            let handler = context?.rebalanceHandler.withLock { $0 }
            var failure: OpaquePointer? = nil
            switch code {
            case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
                if cooperative != false {
                    failure = rd_kafka_incremental_assign(rk, partitions)
                    if cooperative == nil, let error = failure {
                        rd_kafka_error_destroy(error)
                        failure = nil
                        _ = rd_kafka_assign(rk, partitions)
                    }
                } else {
                    let err = rd_kafka_assign(rk, partitions)
                    if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                        context?.logger.error("assign failed: \(RDKafkaResult.name(of: err.rawValue))")
                    }
                }
                handler?(RDKafkaRebalance(kind: .assigned, partitions: list.partitions))
            case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
                let lost = rd_kafka_assignment_lost(rk) != 0
                handler?(RDKafkaRebalance(kind: lost ? .lost : .revoked, partitions: list.partitions))
                if cooperative != false {
                    failure = rd_kafka_incremental_unassign(rk, partitions)
                    if cooperative == nil, let error = failure {
                        rd_kafka_error_destroy(error)
                        failure = nil
                        _ = rd_kafka_assign(rk, nil)
                    }
                } else {
                    _ = rd_kafka_assign(rk, nil)
                }
            default:
                context?.logger.error("rebalance error: \(RDKafkaResult.name(of: code.rawValue))")
                _ = rd_kafka_assign(rk, nil)
            }
            if let failure {
                context?.logger.error("\(RDKafkaResult.error(borrowing: failure, "incremental rebalance"))")
                rd_kafka_error_destroy(failure)
            }
        }
        rd_kafka_conf_set_offset_commit_cb(conf) { _, code, offsets, opaque in
            guard let context = RDKafkaCallbackContext.from(opaque),
                let handler = context.commitHandler.withLock({ $0 })
            else { return }
            if code == RD_KAFKA_RESP_ERR_NO_ERROR || code == RD_KAFKA_RESP_ERR__NO_OFFSET {
                let positions = offsets.map { RDKafkaTopicPartitionList(borrowing: $0).elements.map(\.position) } ?? []
                handler(.success(positions))
            } else {
                handler(.failure(RDKafkaResult.error(code, "asynchronous commit")))
            }
        }
    }

    func subscribe(topics: [String]) throws(KafkaError) {
        let list = RDKafkaTopicPartitionList(capacity: topics.count)
        for topic in topics {
            list.add(KafkaTopicPartitionOffset(topic: topic, partition: RD_KAFKA_PARTITION_UA, offset: KafkaOffset.invalid))
        }
        try RDKafkaResult.check(
            withHandle { rd_kafka_subscribe($0, list.pointer) }, "subscribe to \(topics.joined(separator: ","))")
    }

    func unsubscribe() throws(KafkaError) {
        try RDKafkaResult.check(withHandle { rd_kafka_unsubscribe($0) }, "unsubscribe")
    }

    func assign(_ partitions: [KafkaTopicPartitionOffset]) throws(KafkaError) {
        let list = RDKafkaTopicPartitionList(partitions)
        try RDKafkaResult.check(withHandle { rd_kafka_assign($0, list.pointer) }, "assign")
    }

    func incrementalAssign(_ partitions: [KafkaTopicPartitionOffset]) throws(KafkaError) {
        let list = RDKafkaTopicPartitionList(partitions)
        try RDKafkaResult.check(withHandle { rd_kafka_incremental_assign($0, list.pointer) }, "incremental assign")
    }

    func incrementalUnassign(_ partitions: [KafkaTopicPartition]) throws(KafkaError) {
        let list = RDKafkaTopicPartitionList(partitions)
        try RDKafkaResult.check(withHandle { rd_kafka_incremental_unassign($0, list.pointer) }, "incremental unassign")
    }

    func assignment() throws(KafkaError) -> [KafkaTopicPartition] {
        var raw: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        try RDKafkaResult.check(withHandle { rd_kafka_assignment($0, &raw) }, "assignment")
        guard let raw else { return [] }
        return RDKafkaTopicPartitionList(taking: raw).partitions
    }

    /// Polls the consumer queue for up to `maxMessages` events. Blocks up to `timeout` for the
    /// first one, then takes only what is already queued. Rebalance and commit callbacks run
    /// inside this call, on this thread.
    ///
    /// Built on `rd_kafka_consumer_poll`, not `rd_kafka_consume_batch_queue`: in librdkafka 2.0.2
    /// the batch call does not wake the fetcher when the local queue drains below
    /// `queued.min.messages`, which stalled consumption for 0.5 s at a time (Docs/performance.md).
    func consumeBatch(maxMessages: Int, timeoutMilliseconds: Int32) throws(KafkaError) -> [KafkaConsumerEvent] {
        try checkFatal()
        var events: [KafkaConsumerEvent] = []
        events.reserveCapacity(min(maxMessages, 1024))
        var topicNames = TopicNameCache()
        var firstError: KafkaError?
        var wait = timeoutMilliseconds
        try withHandle { rk throws(KafkaError) in
            while events.count < maxMessages, let message = rd_kafka_consumer_poll(rk, wait) {
                wait = 0
                switch convert(message, topicNames: &topicNames) {
                case .event(let event): events.append(event)
                case .error(let error): if firstError == nil { firstError = error }
                case .ignored: break
                }
            }
        }
        if let firstError, events.isEmpty { throw firstError }
        if events.isEmpty { try checkFatal() }
        return events
    }

    private enum Converted {
        case event(KafkaConsumerEvent)
        case error(KafkaError)
        case ignored
    }

    /// A record becomes a message that holds librdkafka's (no copy); anything else is read and
    /// the message destroyed here.
    private func convert(
        _ message: UnsafeMutablePointer<rd_kafka_message_t>, topicNames: inout TopicNameCache
    ) -> Converted {
        let m = message.pointee
        guard m.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            defer { rd_kafka_message_destroy(message) }
            return convertError(message, topicNames: &topicNames)
        }
        let topic = m.rkt.map { topicNames.name(of: $0) } ?? "?"
        var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let ts = rd_kafka_message_timestamp(message, &type)
        let timestamp: KafkaTimestamp? =
            switch type {
            case RD_KAFKA_TIMESTAMP_CREATE_TIME: KafkaTimestamp(milliseconds: ts, kind: .createTime)
            case RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME: KafkaTimestamp(milliseconds: ts, kind: .logAppendTime)
            default: nil
            }
        return .event(
            .message(
                KafkaConsumerMessage(
                    topic: topic, partition: m.partition, offset: m.offset, held: RDKafkaMessage(taking: message, client: self), timestamp: timestamp)))
    }

    /// An error or a partition's end (`m.err` set).
    private func convertError(
        _ message: UnsafeMutablePointer<rd_kafka_message_t>, topicNames: inout TopicNameCache
    ) -> Converted {
        let m = message.pointee
        let topic = m.rkt.map { topicNames.name(of: $0) } ?? "?"
        if m.err == RD_KAFKA_RESP_ERR__PARTITION_EOF {
            return .event(.partitionEOF(KafkaTopicPartitionOffset(topic: topic, partition: m.partition, offset: m.offset)))
        }
        let text = rd_kafka_message_errstr(message).map { String(cString: $0) } ?? ""
        let error = RDKafkaResult.error(m.err, "consume \(topic)[\(m.partition)]: \(text)")
        if error.isFatal || m.err == RD_KAFKA_RESP_ERR__FATAL { return .error(error) }
        // Consumer errors are informational (librdkafka keeps trying); log and go on.
        context.logger.warning("consumer error", metadata: ["error": "\(error)"])
        return .ignored
    }

    func storeOffsets(_ offsets: [KafkaTopicPartitionOffset]) throws(KafkaError) {
        let list = RDKafkaTopicPartitionList(offsets)
        try RDKafkaResult.check(withHandle { rd_kafka_offsets_store($0, list.pointer) }, "store offsets")
        _ = try list.positionsOrThrow("store offset")
    }

    /// Commits `offsets`, or the stored offsets when `nil`. Synchronous commits block until the
    /// coordinator answers; "nothing to commit" is not an error.
    func commit(_ offsets: [KafkaTopicPartitionOffset]?, asynchronous: Bool) throws(KafkaError) {
        let list = offsets.map { RDKafkaTopicPartitionList($0) }
        let code = withHandle { rd_kafka_commit($0, list?.pointer, asynchronous ? 1 : 0) }
        if code == RD_KAFKA_RESP_ERR__NO_OFFSET { return }
        try RDKafkaResult.check(code, "commit")
        if let list, !asynchronous { _ = try list.positionsOrThrow("commit") }
    }

    func committed(_ partitions: [KafkaTopicPartition], timeout: Duration) throws(KafkaError) -> [KafkaTopicPartitionOffset] {
        let list = RDKafkaTopicPartitionList(partitions)
        try RDKafkaResult.check(
            withHandle { rd_kafka_committed($0, list.pointer, timeout.millisecondsInt32) }, "committed offsets")
        return try list.positionsOrThrow("committed offset")
    }

    func position(_ partitions: [KafkaTopicPartition]) throws(KafkaError) -> [KafkaTopicPartitionOffset] {
        let list = RDKafkaTopicPartitionList(partitions)
        try RDKafkaResult.check(withHandle { rd_kafka_position($0, list.pointer) }, "position")
        return try list.positionsOrThrow("position")
    }

    func seek(_ offsets: [KafkaTopicPartitionOffset], timeout: Duration) throws(KafkaError) {
        let list = RDKafkaTopicPartitionList(offsets)
        try RDKafkaResult.check(
            withHandle { rd_kafka_seek_partitions($0, list.pointer, timeout.millisecondsInt32) }, "seek")
        _ = try list.positionsOrThrow("seek")
    }

    func pause(_ partitions: [KafkaTopicPartition]) throws(KafkaError) {
        let list = RDKafkaTopicPartitionList(partitions)
        try RDKafkaResult.check(withHandle { rd_kafka_pause_partitions($0, list.pointer) }, "pause")
    }

    func resume(_ partitions: [KafkaTopicPartition]) throws(KafkaError) {
        let list = RDKafkaTopicPartitionList(partitions)
        try RDKafkaResult.check(withHandle { rd_kafka_resume_partitions($0, list.pointer) }, "resume")
    }

    func groupMetadata() throws(KafkaError) -> KafkaConsumerGroupMetadata {
        guard let raw = withHandle({ rd_kafka_consumer_group_metadata($0) }) else {
            throw .invalidState("consumer has no group metadata (no group.id?)")
        }
        return KafkaConsumerGroupMetadata(taking: raw)
    }

    /// The member id the coordinator gave this consumer, or `nil` before it joined.
    var memberID: String? {
        withHandle { rk in
            guard let raw = rd_kafka_memberid(rk) else { return nil }
            defer { rd_kafka_mem_free(rk, raw) }
            let id = String(cString: raw)
            return id.isEmpty ? nil : id
        }
    }

    /// librdkafka considers the current assignment lost: the session timed out or the coordinator
    /// no longer knows this member (its partitions may belong to another member already). Set on
    /// librdkafka's main thread when it notices, before the rebalance handler runs; cleared with
    /// the next assignment. An atomic in librdkafka: safe from any thread.
    var assignmentLost: Bool { withHandle { rd_kafka_assignment_lost($0) != 0 } }

    /// Leaves the group: revokes (running the rebalance handler), commits nothing by itself.
    /// Blocks until done.
    func closeConsumer() throws(KafkaError) {
        try RDKafkaResult.check(withHandle { rd_kafka_consumer_close($0) }, "close consumer")
    }
}

/// Topic names by handle for one poll: consecutive records mostly share a topic, so the last one
/// is checked before the dictionary.
struct TopicNameCache {
    private var last: (OpaquePointer, String)?
    private var names: [OpaquePointer: String] = [:]

    mutating func name(of rkt: OpaquePointer) -> String {
        if let last, last.0 == rkt { return last.1 }
        let name = names[rkt] ?? String(cString: rd_kafka_topic_name(rkt))
        names[rkt] = name
        last = (rkt, name)
        return name
    }
}
