import Foundation
import Kafka
import Manufacturing
import Ops
import TestSupport
import Testing

@Suite("Offset reset for replay on the in-process cluster")
struct OffsetResetTests {
    @Test("plans earliest, latest, a time, a duration back, a shift and an offset; applies to a stopped group")
    func planAndApply() async throws {
        let cluster = try TestKafka.cluster()
        try cluster.createTopic(Topics.orderApproved, partitions: 2)
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger("p"))
        let base: Int64 = 1_790_000_000_000
        _ = try await producer.send(
            batch: (0..<20).map {
                KafkaProducerMessage(topic: Topics.orderApproved, partition: Int32($0 % 2), key: nil, value: String($0), timestamp: base + Int64($0) * 60_000)
            })
        let reset = OffsetReset(client: KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers), logger: TestKafka.logger("r"))
        let group = TestKafka.uniqueName("replay") + ".release"
        func targets(_ to: OffsetReset.Target) async throws -> [Int64] {
            try await reset.plan(group: group, topics: [Topics.orderApproved], to: to).sorted { $0.partition.partition < $1.partition.partition }.map(\.target)
        }
        #expect(try await targets(.earliest) == [0, 0])
        #expect(try await targets(.latest) == [10, 10])
        // Partition 0 holds minutes 0,2,4,…; partition 1 minutes 1,3,5,…: from minute 9 on.
        #expect(try await targets(.time(base + 9 * 60_000)) == [5, 4])
        #expect(try await targets(.offset(99)) == [10, 10], "kept within the log")

        #expect(
            try await reset.apply(
                group: group, subscribe: [Topics.orderApproved], try await reset.plan(group: group, topics: [Topics.orderApproved], to: .offset(7))) == .altered
        )
        let plan = try await reset.plan(group: group, topics: [Topics.orderApproved], to: .shift(-3))
        #expect(plan.map(\.current) == [7, 7])
        #expect(plan.map(\.target) == [4, 4])

        let now: Int64 = 1_790_000_000_000 + 3_600_000
        #expect(try OffsetReset.parseTarget("-15m", now: now) == .time(now - 900_000))
        #expect(try OffsetReset.parseTarget("2h-ago", now: now) == .time(now - 7_200_000), "the spelling without a leading dash")
        #expect(try OffsetReset.parseTarget(" Latest ", now: now) == .latest)
        #expect(try OffsetReset.parseTarget("2026-11-27T06:00:00Z", now: now) == .time(try Timestamp(rfc3339: "2026-11-27T06:00:00Z").milliseconds))
        #expect(throws: ResetError.self) { try OffsetReset.parseTarget("yesterday", now: now) }
        await producer.close()
    }

    @Test("a reset of a group whose only member subscribed and closed cleanly is applied (joining it as the only member on the in-process cluster)")
    func appliedAfterCleanClose() async throws {
        let cluster = try TestKafka.cluster()
        try cluster.createTopic(Topics.orderApproved, partitions: 2)
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger("p"))
        _ = try await producer.send(
            batch: (0..<10).map { KafkaProducerMessage(topic: Topics.orderApproved, partition: Int32($0 % 2), key: nil, value: String($0)) })
        await producer.close()
        let group = TestKafka.uniqueName("stopped") + ".release"
        let consumer = try KafkaConsumer(configuration: TestKafka.consumerConfiguration(cluster, group: group), logger: TestKafka.logger("c"))
        try consumer.subscribe(topics: [Topics.orderApproved])
        _ = try await TestKafka.collect(consumer, count: 10, timeout: .seconds(10))
        try await consumer.commit([.init(topic: Topics.orderApproved, partition: 0, offset: 5), .init(topic: Topics.orderApproved, partition: 1, offset: 5)])
        try await consumer.close()
        let reset = OffsetReset(client: KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers), logger: TestKafka.logger("r"))
        let plan = try await reset.plan(group: group, topics: [Topics.orderApproved], to: .earliest)
        #expect(plan.map(\.current) == [5, 5])
        let applied = try await reset.apply(group: group, subscribe: [Topics.orderApproved], plan)
        #expect(applied == .committedAsSoleMember, "the in-process cluster refuses the admin change to a group that had members")
        #expect(try await reset.lag(group: group, topics: [Topics.orderApproved]).map(\.committed) == [0, 0], "every partition back at the start")
    }

    @Test("a reset is refused while the group has a live member, with what to do")
    func refusedWhileLive() async throws {
        let cluster = try TestKafka.cluster()
        try cluster.createTopic(Topics.orderApproved, partitions: 2)
        let group = TestKafka.uniqueName("live") + ".release"
        var configuration = TestKafka.consumerConfiguration(cluster, group: group)
        configuration.sessionTimeout = .seconds(6)
        configuration.heartbeatInterval = .seconds(1)
        let consumer = try KafkaConsumer(configuration: configuration, logger: TestKafka.logger("c"))
        try consumer.subscribe(topics: [Topics.orderApproved])
        _ = try await TestKafka.collect(consumer, count: 1, timeout: .seconds(5))
        // The member stays live: it keeps polling (and so answers rebalances) during the reset.
        let stop = StopFlag()
        let polling = Task { while !stop.isStopped { _ = try await consumer.pollBatch(timeout: .milliseconds(100)) } }
        let reset = OffsetReset(client: KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers), logger: TestKafka.logger("r"))
        let plan = try await reset.plan(group: group, topics: [Topics.orderApproved], to: .earliest)
        let error = await #expect(throws: ResetError.self) { try await reset.apply(group: group, subscribe: [Topics.orderApproved], plan) }
        #expect(error?.description.contains("stop every worker") == true)
        #expect(error?.description.contains("has live members") == true)
        stop.stop()
        try await polling.value
        try await consumer.close()
    }
}
