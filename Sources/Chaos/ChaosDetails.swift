import Foundation
import Kafka
import Manufacturing
import Ops
import Streams

/// The evidence behind the findings, written to `findings.txt` in the run directory at every check
/// that is not complete (so a run stopped early leaves it behind): per lost or wrong work order its
/// inputs (topic, partition, offset, partitioner) and every output about it, committed or not,
/// with the batch, the worker and life that wrote it; every unexplained output; every batch
/// without a commit marker.
struct ChaosDetails {
    /// A worker's life, from its logs: which worker and log file a batch id's instance and life
    /// belong to.
    struct Life: Hashable {
        var worker: String
        var processor: String
        var log: String
    }

    let group: String
    let messages: [KafkaConsumerMessage]
    let sent: [ChaosRun.Origin: ChaosRun.Sent]
    let lives: [String: Life]  // "<instance>:<life>" -> where it was logged
    let committed: Set<String>
    let aborted: Set<String>

    /// The lives of the workers' processors, from their `worker started` lines.
    static func lives(of workers: [ChaosWorker]) -> [String: Life] {
        var lives: [String: Life] = [:]
        for worker in workers {
            for (log, text) in worker.logs() {
                for line in text.split(separator: "\n") where line.contains("worker started") {
                    func field(_ name: String) -> String? {
                        guard let range = line.range(of: " \(name)=") else { return nil }
                        return String(line[range.upperBound...].prefix { $0 != " " })
                    }
                    guard let instance = field("instance"), let life = field("life") else { continue }
                    lives["\(instance):\(life)"] = Life(worker: worker.name, processor: field("processor") ?? "?", log: log)
                }
            }
        }
        return lives
    }

    /// A batch id in words: who wrote it and whether it counts.
    func describe(batch: String?) -> String {
        guard let batch else { return "no batch" }
        let parts = batch.split(separator: ":")
        let owner =
            parts.count == 3
            ? lives["\(parts[0]):\(parts[1])"].map { "\($0.worker)/\($0.processor) (\($0.log)) n=\(parts[2])" } ?? "unknown life"
            : "?"
        let state = aborted.contains(batch) ? "ABORT NOTE" : committed.contains(batch) ? "committed" : "NO COMMIT MARKER"
        return "batch \(batch) [\(owner), \(state)]"
    }

    func describe(_ m: KafkaConsumerMessage) -> String {
        var text = "\(m.topic)[\(m.partition)]@\(m.offset) key=\(m.keyString ?? "-") \(describe(batch: m.headers.last("mw-batch")?.stringValue))"
        if let causation = m.headers.last("causation-id")?.stringValue { text += " causation=\(causation)" }
        if m.topic == Topics.productionConfirmation, case .success(let posting) = EventDecoder.decode(m.value, as: ProductionConfirmation.self) {
            let p = posting.data
            text += " posting \(p.postingId) \(p.kind.rawValue) goodsReceipt=\(p.goodsReceiptQty) scrap=\(p.scrapQty) events=\(p.eventCount)"
        } else if m.topic == Topics.quarantine, case .success(let held) = EventDecoder.decode(m.value, as: Quarantine.self) {
            let q = held.data
            let origin = ChaosRun.Origin(topic: q.originalTopic, partition: Int32(q.originalPartition), offset: q.originalOffset)
            text += " quarantine \(q.reason.rawValue) of \(q.originalTopic)[\(q.originalPartition)]@\(q.originalOffset)"
            text += " eventId=\(q.original["eventId"]?.stringValue ?? "-") (\(sent[origin].map(\.description) ?? "not a fed record"))"
        } else if m.topic == DeadLetter.topic {
            text += " dead letter of \(m.headers.last(DeadLetter.HeaderName.originalTopic)?.stringValue ?? "?")"
            text += "[\(m.headers.last(DeadLetter.HeaderName.originalPartition)?.stringValue ?? "?")]"
            text += "@\(m.headers.last(DeadLetter.HeaderName.originalOffset)?.stringValue ?? "?")"
        }
        return text
    }

    /// Everything about one work order: what the simulation says, what was fed, what came out.
    func workOrder(_ id: String, expected: PlantSimulation.Expected) -> String {
        var lines = [
            "work order \(id): expected goods receipt \(expected.goodsReceipt[id].map { "\($0)" } ?? "-"), scrap \(expected.scrap[id].map { "\($0)" } ?? "-")"
                + "\(expected.released.contains(id) ? ", released" : "")\(expected.overDeliveries.contains(id) ? ", over-reported" : "")"
                + "\(expected.unknownWorkOrders.contains(id) ? ", never released" : "")"
        ]
        let orderId = id.split(separator: "-").dropFirst().first.map(String.init)
        let inputs = sent.values.filter { $0.workOrder == id || ($0.kind == "order" && $0.workOrder == orderId) }
            .sorted { ($0.eventId ?? "") < ($1.eventId ?? "") }
        lines.append("  inputs (\(inputs.count)):")
        lines += inputs.map { "    " + $0.description }
        let outputs = messages.filter { m in
            guard !m.topic.contains(".changelog.") else { return false }
            if m.keyString == id || (m.topic.hasSuffix(".production-release.v1") && m.keyString == id) { return true }
            guard m.topic == Topics.quarantine, case .success(let held) = EventDecoder.decode(m.value, as: Quarantine.self) else { return false }
            return held.data.original["data"]?["workOrderId"]?.stringValue == id || held.data.original["data"]?["orderId"]?.stringValue == orderId
        }
        lines.append("  outputs (\(outputs.count), committed or not):")
        lines += outputs.map { "    " + describe($0) }
        return lines.joined(separator: "\n")
    }

    /// Batches with outputs but no commit marker (or an abort note), with what they hold.
    func uncommittedBatches() -> String {
        var byBatch: [String: [KafkaConsumerMessage]] = [:]
        for m in messages where !m.topic.contains(".changelog.") {
            let batch = m.headers.last("mw-batch")?.stringValue ?? "none"
            if !committed.contains(batch) || aborted.contains(batch) { byBatch[batch, default: []].append(m) }
        }
        var lines: [String] = []
        for (batch, records) in byBatch.sorted(by: { $0.key < $1.key }) {
            lines.append("\(describe(batch: batch)): \(records.count) outputs")
            lines += records.prefix(30).map { "    " + describe($0) }
        }
        return lines.joined(separator: "\n")
    }
}

extension ChaosRun {
    /// A record the feed sent, for the details: where it went and how.
    struct Sent: Sendable, CustomStringConvertible {
        var origin: Origin
        /// murmur2, consistent_random, keyless (a random partition).
        var partitioner: String
        /// order, mes, poison, fuzz.
        var kind: String
        /// The MES event's work order, or the order's id.
        var workOrder: String?
        var eventId: String?
        var summary: String
        /// What the event adds to its work order's postings: goods receipt (a final operation's
        /// good quantity) and scrap.
        var goodsReceipt = 0.0
        var scrap = 0.0

        var description: String {
            "\(eventId ?? "-") \(kind) \(origin.topic)[\(origin.partition)]@\(origin.offset) by \(partitioner) \(summary)"
        }

        init(origin: Origin, partitioner: String, kind: String, value: [UInt8]?) {
            self.origin = origin
            self.partitioner = partitioner
            self.kind = kind
            let json = value.flatMap { try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any] }
            let data = json?["data"] as? [String: Any]
            eventId = json?["eventId"] as? String
            workOrder = (data?["workOrderId"] as? String) ?? (data?["orderId"] as? String)
            let fields = ["operationSeq", "goodQty", "scrapQty", "final", "completedAt", "reportedAt", "quantity"]
            if data?["final"] as? Bool == true { goodsReceipt = (data?["goodQty"] as? NSNumber)?.doubleValue ?? 0 }
            scrap = (data?["scrapQty"] as? NSNumber)?.doubleValue ?? 0
            summary = json == nil ? "(not JSON, \(value?.count ?? 0) bytes)" : fields.compactMap { k in data?[k].map { "\(k)=\($0)" } }.joined(separator: " ")
        }
    }
}

extension ChaosDetails {
    /// The whole evidence for these findings.
    func text(_ findings: ChaosFindings, expected: PlantSimulation.Expected) -> String {
        var sections = ["findings: \(findings.summary)"] + findings.problems.map { "  - " + $0 }
        if !findings.lateReleaseDetails.isEmpty {
            sections.append(
                "quarantined as UNKNOWN_WORK_ORDER before their release was written or read (explained, not posted; negative: before it was written):")
            sections += findings.lateReleaseDetails.map { "  " + $0 }
        }
        var workOrders = findings.workOrders
        if !findings.origins.isEmpty {
            sections.append("records checked one by one, missing, doubled or not expected (\(findings.origins.count)):")
            for origin in findings.origins.sorted(by: { ($0.topic, $0.partition, $0.offset) < ($1.topic, $1.partition, $1.offset) }) {
                let record = sent[origin]
                var lines = ["  \(origin.topic)[\(origin.partition)]@\(origin.offset): \(record.map(\.description) ?? "not a fed record")"]
                lines += messages.filter { m in
                    if m.topic == DeadLetter.topic {
                        return m.headers.last(DeadLetter.HeaderName.originalTopic)?.stringValue == origin.topic
                            && m.headers.last(DeadLetter.HeaderName.originalPartition)?.stringValue == String(origin.partition)
                            && m.headers.last(DeadLetter.HeaderName.originalOffset)?.stringValue == String(origin.offset)
                    }
                    guard m.topic == Topics.quarantine, case .success(let held) = EventDecoder.decode(m.value, as: Quarantine.self) else { return false }
                    let q = held.data
                    return q.originalTopic == origin.topic && Int32(q.originalPartition) == origin.partition && q.originalOffset == origin.offset
                }.map { "    " + describe($0) }
                sections.append(lines.joined(separator: "\n"))
                if let id = record?.workOrder, record?.kind == "mes" { workOrders.insert(id) }
            }
        }
        if !findings.unexplainedOutputs.isEmpty {
            sections.append("unexplained outputs (\(findings.unexplainedOutputs.count)):")
            for m in findings.unexplainedOutputs {
                sections.append("  " + describe(m))
                if m.topic == Topics.quarantine, case .success(let held) = EventDecoder.decode(m.value, as: Quarantine.self),
                    let id = held.data.original["data"]?["workOrderId"]?.stringValue
                {
                    workOrders.insert(id)
                }
            }
        }
        for id in workOrders.sorted() { sections.append(workOrder(id, expected: expected)) }
        let uncommitted = uncommittedBatches()
        if !uncommitted.isEmpty { sections.append("batches without a commit marker, or with an abort note:\n" + uncommitted) }
        return sections.joined(separator: "\n") + "\n"
    }
}
