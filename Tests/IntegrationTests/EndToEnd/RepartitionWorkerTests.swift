import Foundation
import Kafka
import Manufacturing
import Ops
import Streams
import TestSupport
import Testing

@Suite("MES producers with any partitioner and any key, through worker processes", .serialized)
struct RepartitionWorkerTests {
    /// Produces `records` with `mes_gateway.py` (Python confluent-kafka, default settings); the
    /// partition each landed on, in order.
    static func gateway(_ records: [(topic: String, key: String?, value: [UInt8], headers: [StreamRecord.Header])], bootstrap: String) throws -> [Int32] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("mes_gateway.py").path
        process.arguments = ["python3", script, bootstrap]
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        var lines = ""
        for record in records {
            var headers: [String: JSONValue] = [:]
            for header in record.headers { headers[header.key] = .string(header.stringValue ?? "") }
            let line: JSONValue = [
                "topic": .string(record.topic), "key": record.key.map(JSONValue.string) ?? .null,
                "value": .string(String(decoding: record.value, as: UTF8.self)),
                "headers": .object(JSONObject(headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })),
            ]
            lines += JSONWriter.string(line) + "\n"
        }
        input.fileHandleForWriting.write(Data(lines.utf8))
        try input.fileHandleForWriting.close()
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let problems = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw WorkerProcessError("mes_gateway.py failed: \(problems)") }
        return try printed.split(separator: "\n").map { line in
            guard case .number(let n, _)? = try JSONParser.parse(Array(line.utf8))["partition"] else { throw WorkerProcessError("gateway printed \(line)") }
            return Int32(n)
        }
    }

    /// The sum of a counter's series in a worker's /metrics.
    static func counter(_ name: String, of worker: WorkerProcess) async throws -> Double {
        try await worker.get("/metrics").body.split(separator: "\n").filter { $0.hasPrefix(name + "{") || $0.hasPrefix(name + " ") }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
    }

    @Test(
        "MES events from a confluent-kafka gateway with its default partitioner, a third keyless, a third keyed by station: every event posted exactly once, sums exact; each misplaced event went through the repartition topic exactly once, as the metric counts"
    )
    func anyPartitionerAnyKey() async throws {
        let e2e = try EndToEnd()
        try await e2e.send(try SampleData().masterData())
        let work = EndToEndTests.workload(workOrders: 40, eventsPerWorkOrder: 12)
        try await e2e.send(work.table)
        let a = try e2e.worker("a")
        defer { a.kill() }
        let b = try e2e.worker("b")
        defer { b.kill() }

        let owners = work.events.map { KeyPartitioner.partition(forKey: $0.key ?? [], partitions: 12) }
        let sent = work.events.enumerated().map { index, record in
            let workOrderId = String(decoding: record.key ?? [], as: UTF8.self)
            let key: String? = index % 3 == 0 ? workOrderId : index % 3 == 1 ? nil : "line-2/station-\(index % 7)"
            return (topic: record.topic, key: key, value: record.value ?? [], headers: record.headers)
        }
        let partitions = try Self.gateway(sent, bootstrap: e2e.bootstrap)
        #expect(partitions.count == sent.count)
        let misplaced = zip(partitions, owners).filter { $0 != $1 }.count
        #expect(
            misplaced > sent.count / 2, "the gateway's partitioner put most events elsewhere than murmur2 of their work order (\(misplaced) of \(sent.count))")

        try await EndToEndTests.checkExactlyOnce(e2e, events: work.events.count, goodsReceipt: work.goodsReceipt, scrap: work.scrap) { a.output + b.output }

        let topic = try #require(MillwrightWorker.confirmation(settings: ProcessingSettings()).repartitionTopic(group: e2e.group))
        let forwarded = e2e.committed(try await e2e.read([topic]), batches: try await e2e.committedBatches())
        let origins = forwarded.compactMap { m in RecordOrigin(headers: m.headers.map { StreamRecord.Header(key: $0.key, value: $0.value) }) }
        #expect(origins.count == forwarded.count, "every forwarded record names its origin")
        #expect(
            Set(origins).count == misplaced && forwarded.count == misplaced,
            "each misplaced event forwarded once: \(forwarded.count) forwarded, \(misplaced) misplaced")
        #expect(forwarded.allSatisfy { m in m.keyString.map { KeyPartitioner.partition(forKey: Array($0.utf8), partitions: 12) == m.partition } ?? false })
        let counted = try await Self.counter("millwright_repartitioned_records_total", of: a) + Self.counter("millwright_repartitioned_records_total", of: b)
        #expect(Int(counted) == misplaced, "millwright_repartitioned_records_total counts the committed forwards")
    }
}
