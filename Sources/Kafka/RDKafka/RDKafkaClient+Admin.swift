import CRdKafka
import Foundation

/// Admin API calls. Each one sends its request, then blocks on a private queue for the result
/// event, up to the request timeout plus a margin.
extension RDKafkaClient {
    private func adminRequest(
        _ what: String, operation: rd_kafka_admin_op_t, timeout: Duration,
        send: (OpaquePointer, OpaquePointer?, OpaquePointer) -> Void
    ) throws(KafkaError) -> RDKafkaEvent {
        try withHandle { rk throws(KafkaError) in
            let queue = rd_kafka_queue_new(rk)!
            defer { rd_kafka_queue_destroy(queue) }
            let options = rd_kafka_AdminOptions_new(rk, operation)
            defer { if let options { rd_kafka_AdminOptions_destroy(options) } }
            var errstr = [CChar](repeating: 0, count: 256)
            if let options,
                rd_kafka_AdminOptions_set_request_timeout(options, timeout.millisecondsInt32, &errstr, errstr.count)
                    != RD_KAFKA_RESP_ERR_NO_ERROR
            {
                throw .configuration("\(what): request timeout: \(RDKafkaResult.text(errstr))")
            }
            send(rk, options, queue)
            let wait = timeout + .seconds(2)
            guard let event = rd_kafka_queue_poll(queue, wait.millisecondsInt32) else {
                throw KafkaError(
                    code: .timedOut,
                    reason: "\(what): no answer within \(timeout) (the broker may not support this request)",
                    isRetriable: true)
            }
            let wrapped = RDKafkaEvent(event)
            let code = rd_kafka_event_error(event)
            if code != RD_KAFKA_RESP_ERR_NO_ERROR {
                let text = rd_kafka_event_error_string(event).map { String(cString: $0) } ?? ""
                throw RDKafkaResult.error(code, "\(what): \(text)")
            }
            return wrapped
        }
    }

    func createTopics(_ topics: [KafkaNewTopic], timeout: Duration) throws(KafkaError) -> [KafkaTopicResult] {
        var errstr = [CChar](repeating: 0, count: 256)
        var specs: [OpaquePointer?] = []
        defer { for spec in specs { rd_kafka_NewTopic_destroy(spec) } }
        for topic in topics {
            guard
                let spec = rd_kafka_NewTopic_new(
                    topic.name, Int32(topic.partitions), Int32(topic.replicationFactor), &errstr, errstr.count)
            else { throw .configuration("topic \(topic.name): \(RDKafkaResult.text(errstr))") }
            specs.append(spec)
            for (name, value) in topic.config.sorted(by: { $0.key < $1.key }) {
                try RDKafkaResult.check(
                    rd_kafka_NewTopic_set_config(spec, name, value), "topic \(topic.name) config \(name)")
            }
        }
        let event = try adminRequest("create topics", operation: RD_KAFKA_ADMIN_OP_CREATETOPICS, timeout: timeout) {
            rk, options, queue in
            specs.withUnsafeMutableBufferPointer {
                rd_kafka_CreateTopics(rk, $0.baseAddress, $0.count, options, queue)
            }
        }
        var count = 0
        guard let result = rd_kafka_event_CreateTopics_result(event.pointer),
            let items = rd_kafka_CreateTopics_result_topics(result, &count)
        else { return [] }
        return (0..<count).map { Self.topicResult(items[$0]) }
    }

    func deleteTopics(_ names: [String], timeout: Duration) throws(KafkaError) -> [KafkaTopicResult] {
        var specs: [OpaquePointer?] = names.map { rd_kafka_DeleteTopic_new($0) }
        defer { for spec in specs { rd_kafka_DeleteTopic_destroy(spec) } }
        let event = try adminRequest("delete topics", operation: RD_KAFKA_ADMIN_OP_DELETETOPICS, timeout: timeout) {
            rk, options, queue in
            specs.withUnsafeMutableBufferPointer {
                rd_kafka_DeleteTopics(rk, $0.baseAddress, $0.count, options, queue)
            }
        }
        var count = 0
        guard let result = rd_kafka_event_DeleteTopics_result(event.pointer),
            let items = rd_kafka_DeleteTopics_result_topics(result, &count)
        else { return [] }
        return (0..<count).map { Self.topicResult(items[$0]) }
    }

    private static func topicResult(_ item: OpaquePointer?) -> KafkaTopicResult {
        guard let item else { return KafkaTopicResult(name: "?", error: nil) }
        let code = rd_kafka_topic_result_error(item)
        let name = String(cString: rd_kafka_topic_result_name(item))
        guard code != RD_KAFKA_RESP_ERR_NO_ERROR else { return KafkaTopicResult(name: name, error: nil) }
        let text = rd_kafka_topic_result_error_string(item).map { String(cString: $0) } ?? ""
        return KafkaTopicResult(name: name, error: RDKafkaResult.error(code, "topic \(name): \(text)"))
    }

    /// The group's committed offsets (all partitions when `partitions` is nil).
    func listConsumerGroupOffsets(
        group: String, partitions: [KafkaTopicPartition]?, timeout: Duration
    ) throws(KafkaError) -> [KafkaTopicPartitionOffset] {
        let list = partitions.map { RDKafkaTopicPartitionList($0) }
        var request: OpaquePointer? = rd_kafka_ListConsumerGroupOffsets_new(group, list?.pointer)
        defer { rd_kafka_ListConsumerGroupOffsets_destroy(request) }
        let event = try adminRequest(
            "list offsets of group \(group)", operation: RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS, timeout: timeout
        ) { rk, options, queue in
            rd_kafka_ListConsumerGroupOffsets(rk, &request, 1, options, queue)
        }
        var count = 0
        guard let result = rd_kafka_event_ListConsumerGroupOffsets_result(event.pointer),
            let groups = rd_kafka_ListConsumerGroupOffsets_result_groups(result, &count), count > 0
        else { return [] }
        return try Self.groupPartitions(groups[0], "list offsets of group \(group)")
    }

    /// Sets the group's committed offsets. Kafka refuses this while the group has live members
    /// (`UNKNOWN_MEMBER_ID`).
    func alterConsumerGroupOffsets(
        group: String, offsets: [KafkaTopicPartitionOffset], timeout: Duration
    ) throws(KafkaError) -> [KafkaTopicPartitionOffset] {
        let list = RDKafkaTopicPartitionList(offsets)
        var request: OpaquePointer? = rd_kafka_AlterConsumerGroupOffsets_new(group, list.pointer)
        defer { rd_kafka_AlterConsumerGroupOffsets_destroy(request) }
        let event = try adminRequest(
            "alter offsets of group \(group)", operation: RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS, timeout: timeout
        ) { rk, options, queue in
            rd_kafka_AlterConsumerGroupOffsets(rk, &request, 1, options, queue)
        }
        var count = 0
        guard let result = rd_kafka_event_AlterConsumerGroupOffsets_result(event.pointer),
            let groups = rd_kafka_AlterConsumerGroupOffsets_result_groups(result, &count), count > 0
        else { return [] }
        return try Self.groupPartitions(groups[0], "alter offsets of group \(group)")
    }

    private static func groupPartitions(_ group: OpaquePointer?, _ what: String) throws(KafkaError) -> [KafkaTopicPartitionOffset] {
        guard let group else { return [] }
        if let error = rd_kafka_group_result_error(group) {
            throw RDKafkaResult.error(borrowing: error, what)
        }
        guard let partitions = rd_kafka_group_result_partitions(group) else { return [] }
        return try RDKafkaTopicPartitionList(borrowing: UnsafeMutablePointer(mutating: partitions))
            .positionsOrThrow(what)
    }

    /// The group's state and members (DescribeConsumerGroups, Kafka ≥ 0.9 brokers).
    func describeConsumerGroup(_ group: String, timeout: Duration) throws(KafkaError) -> KafkaConsumerGroupDescription {
        let name = strdup(group)
        defer { free(name) }
        var names: [UnsafePointer<CChar>?] = [UnsafePointer(name)]
        let event = try adminRequest(
            "describe group \(group)", operation: RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS, timeout: timeout
        ) { rk, options, queue in
            names.withUnsafeMutableBufferPointer {
                rd_kafka_DescribeConsumerGroups(rk, $0.baseAddress, 1, options, queue)
            }
        }
        var count = 0
        guard let result = rd_kafka_event_DescribeConsumerGroups_result(event.pointer),
            let groups = rd_kafka_DescribeConsumerGroups_result_groups(result, &count), count > 0,
            let description = groups[0]
        else { throw .invalidState("describe group \(group): empty answer") }
        if let error = rd_kafka_ConsumerGroupDescription_error(description) {
            throw RDKafkaResult.error(borrowing: error, "describe group \(group)")
        }
        let state = String(cString: rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupDescription_state(description)))
        var members: [KafkaConsumerGroupDescription.Member] = []
        for i in 0..<rd_kafka_ConsumerGroupDescription_member_count(description) {
            guard let member = rd_kafka_ConsumerGroupDescription_member(description, i) else { continue }
            var assigned: [KafkaTopicPartition] = []
            if let assignment = rd_kafka_MemberDescription_assignment(member),
                let partitions = rd_kafka_MemberAssignment_partitions(assignment)
            {
                assigned = RDKafkaTopicPartitionList(borrowing: UnsafeMutablePointer(mutating: partitions)).partitions
            }
            members.append(
                KafkaConsumerGroupDescription.Member(
                    memberID: String(cString: rd_kafka_MemberDescription_consumer_id(member)),
                    clientID: String(cString: rd_kafka_MemberDescription_client_id(member)),
                    host: String(cString: rd_kafka_MemberDescription_host(member)),
                    assignment: assigned))
        }
        return KafkaConsumerGroupDescription(group: group, state: state, members: members)
    }
}

/// Owns one `rd_kafka_event_t`.
final class RDKafkaEvent {
    let pointer: OpaquePointer
    init(_ pointer: OpaquePointer) { self.pointer = pointer }
    deinit { rd_kafka_event_destroy(pointer) }
}

/// A topic to create.
public struct KafkaNewTopic: Sendable, Hashable {
    public var name: String
    public var partitions: Int
    public var replicationFactor: Int
    /// Topic configs, for example `cleanup.policy=compact`.
    public var config: [String: String]

    public init(name: String, partitions: Int, replicationFactor: Int, config: [String: String] = [:]) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.config = config
    }
}

/// The per-topic outcome of a create or delete.
public struct KafkaTopicResult: Sendable {
    public var name: String
    public var error: KafkaError?
}

/// A consumer group as the coordinator describes it.
public struct KafkaConsumerGroupDescription: Sendable {
    public struct Member: Sendable {
        public var memberID: String
        public var clientID: String
        public var host: String
        public var assignment: [KafkaTopicPartition]
    }

    public var group: String
    /// `Stable`, `PreparingRebalance`, `CompletingRebalance`, `Empty`, `Dead` or `Unknown`.
    public var state: String
    public var members: [Member]

    /// A group with members, or rebalancing, must not have its offsets reset.
    public var isActive: Bool { !members.isEmpty || state == "PreparingRebalance" || state == "CompletingRebalance" }
}
