import Foundation
import JSON

/// How task state is written to a processor's changelog topic.
///
/// Partition p of the changelog belongs to task p. Each commit writes, inside the same Kafka
/// transaction as the outputs: the changed store entries (key `<store>␟<key>`, a tombstone for
/// a delete), the task's positions and stream time (key `␟positions`), and last a commit marker
/// (key `␟commit`). Every record carries the header `mw-batch`.
///
/// A restore counts a record only when a commit marker follows it in the log and no abort note
/// (key `␟abort`, the batch id as value) names its batch. On a broker that hides aborted
/// transactions, neither case is ever visible; on one that does not (librdkafka 2.0.2's mock
/// cluster), records after the last marker are the tail of a transaction that never committed,
/// and a transaction that aborted after its marker was delivered gets an abort note in the
/// worker's next transaction on that partition while it still holds it (the worker itself skips
/// the batch at once). Markers are sent only once the rest of the batch is delivered, so a
/// visible marker means a whole batch. The
/// new owner writes the committed values of skipped keys again in its first transaction, so that
/// an aborted record is always followed by a correction — which keeps the rule true for later
/// restores and lets compaction (which keeps only the latest record per key) converge on the
/// committed state.
enum ChangelogFormat {
    static let separator: Character = "\u{1F}"
    static let batchHeader = "mw-batch"
    static let positionsKey = "\u{1F}positions"
    static let commitKey = "\u{1F}commit"
    static let abortKey = "\u{1F}abort"

    static func storeKey(store: String, key: String) -> String { "\(store)\(separator)\(key)" }

    static func split(_ key: String) -> (store: String, key: String)? {
        guard let index = key.firstIndex(of: separator), index != key.startIndex else { return nil }
        return (String(key[..<index]), String(key[key.index(after: index)...]))
    }

    /// `{"streamTime":…, "positions":{"topic":offset,…}}`.
    static func encodePositions(streamTime: Int64, positions: [String: Int64]) -> [UInt8] {
        let entries = positions.sorted { $0.key < $1.key }.map { "\"\(escape($0.key))\":\($0.value)" }.joined(separator: ",")
        return Array("{\"streamTime\":\(streamTime),\"positions\":{\(entries)}}".utf8)
    }

    static func decodePositions(_ bytes: [UInt8]) -> (streamTime: Int64, positions: [String: Int64])? {
        guard let object = try? JSONParser.parse(bytes), case .object = object else { return nil }
        let streamTime = object["streamTime"]?.int64 ?? .min
        var positions: [String: Int64] = [:]
        if case .object(let members)? = object["positions"] {
            for member in members.members {
                if let offset = member.value.int64 { positions[member.key] = offset }
            }
        }
        return (streamTime, positions)
    }

    private static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }
}

/// One record of a processor's changelog as tools outside the runtime read it (for example to
/// follow a worker's committed input positions; the benchmark does).
public enum ChangelogRecord: Sendable, Equatable {
    /// A changed store entry (or its deletion).
    case change
    /// The task's input positions (topic → next offset to process) as of its batch.
    case positions([String: Int64])
    /// The marker that ends a batch: what came before it on the partition is committed.
    case commit(batch: String)
    /// A note that a batch aborted after its marker was delivered.
    case abort(batch: String)

    /// Nil when the record is not one the runtime writes.
    public init?(key: [UInt8]?, value: [UInt8]?) {
        guard let key = key.flatMap({ String(validating: $0, as: UTF8.self) }) else { return nil }
        let text = value.flatMap { String(validating: $0, as: UTF8.self) } ?? ""
        switch key {
        case ChangelogFormat.positionsKey:
            guard let value, let decoded = ChangelogFormat.decodePositions(value) else { return nil }
            self = .positions(decoded.positions)
        case ChangelogFormat.commitKey: self = .commit(batch: text)
        case ChangelogFormat.abortKey: self = .abort(batch: text)
        default:
            guard ChangelogFormat.split(key) != nil else { return nil }
            self = .change
        }
    }
}

extension ChangelogRecord {
    /// Which batches count, decided as a restore decides (``ChangelogRestorer``): on each
    /// partition, in offset order, a batch with a commit marker counts unless an abort note
    /// naming it was read by the time the next marker on that partition (or the partition's
    /// end) settles it; a note read after that changes nothing. A batch counts when it counts on
    /// every partition it marked; one skipped on any is aborted.
    ///
    /// Readers of outputs on a cluster that shows aborted transactions (the chaos check, tests)
    /// use this, so that they keep exactly the batches the workers' restores kept.
    /// - Parameter partitions: each changelog partition's records, in offset order.
    public static func settledBatches(_ partitions: [[ChangelogRecord]]) -> (committed: Set<String>, aborted: Set<String>) {
        var counted = Set<String>()
        var skipped = Set<String>()
        for records in partitions {
            var notes = Set<String>()
            var marked: String?
            func settle() {
                guard let batch = marked else { return }
                if notes.contains(batch) { skipped.insert(batch) } else { counted.insert(batch) }
            }
            for record in records {
                switch record {
                case .commit(let batch):
                    settle()
                    marked = batch
                case .abort(let batch): notes.insert(batch)
                case .change, .positions: break
                }
            }
            settle()
        }
        return (counted.subtracting(skipped), skipped)
    }
}
