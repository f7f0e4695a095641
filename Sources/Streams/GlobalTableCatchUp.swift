/// Whether a global table has read every partition up to where the partition ended when loading
/// began (its high watermark then): the point from which lookups answer with the data as it was
/// at start, or newer.
///
/// A partition counts as caught up when its position (the next offset to read) reaches its
/// target, or when the consumer reports that it reached the partition's end (an empty partition,
/// one that ends in transaction markers, or one whose last records are not readable yet under
/// `read_committed`). Partitions that are not in the targets (added later) never hold it back.
struct GlobalTableCatchUp: Sendable, Equatable {
    /// High watermark of each partition at start.
    let targets: [TopicPartition: Int64]
    /// The partitions still behind, with their position (`nil`: nothing read yet).
    private(set) var behind: [TopicPartition: Int64?]

    /// - Parameter positions: where reading starts (the sink's stored positions).
    init(targets: [TopicPartition: Int64], positions: [TopicPartition: Int64]) {
        self.targets = targets
        var behind: [TopicPartition: Int64?] = [:]
        for (partition, target) in targets {
            let position = positions[partition]
            if (position ?? 0) < target { behind[partition] = .some(position) }
        }
        self.behind = behind
    }

    var isCaughtUp: Bool { behind.isEmpty }

    /// Records that `partition` will next read `position`.
    mutating func advance(_ partition: TopicPartition, to position: Int64) {
        guard behind[partition] != nil, let target = targets[partition] else { return }
        if position >= target {
            behind[partition] = nil
        } else {
            behind[partition] = .some(position)
        }
    }

    /// Records that the consumer reached the end of `partition`: it has read all there is to read.
    mutating func reachedEnd(_ partition: TopicPartition) {
        behind[partition] = nil
    }

    /// Per topic: offsets read so far towards the targets, and the targets (the high watermarks at
    /// start, summed over its partitions). A partition caught up counts as its target.
    var progress: [GlobalTableProgress] {
        var byTopic: [String: GlobalTableProgress] = [:]
        for (partition, target) in targets {
            var entry = byTopic[partition.topic] ?? GlobalTableProgress(topic: partition.topic, loaded: 0, toLoad: 0)
            entry.toLoad += target
            switch behind[partition] {
            case .none: entry.loaded += target
            case .some(let position): entry.loaded += min(target, position ?? 0)
            }
            byTopic[partition.topic] = entry
        }
        return byTopic.values.sorted { $0.topic < $1.topic }
    }

    /// The partitions still behind, for logs and timeout errors: `t[0] at 12 of 40, t[2] at start of 7`.
    var lagDescription: String {
        if behind.isEmpty { return "caught up" }
        return behind.keys.sorted().map { partition in
            let position = behind[partition].flatMap { $0 }.map(String.init) ?? "start"
            return "\(partition) at \(position) of \(targets[partition] ?? 0)"
        }.joined(separator: ", ")
    }
}

/// How far a global table's topic has been read towards where it ended when loading began.
public struct GlobalTableProgress: Sendable, Hashable {
    public var topic: String
    /// Offsets read (summed over the topic's partitions).
    public var loaded: Int64
    /// High watermarks at start (summed over the topic's partitions).
    public var toLoad: Int64

    public init(topic: String, loaded: Int64, toLoad: Int64) {
        self.topic = topic
        self.loaded = loaded
        self.toLoad = toLoad
    }
}
