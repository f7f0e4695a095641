/// What a ``StreamWorker`` reports for liveness and readiness checks.
public struct StreamWorkerHealth: Sendable, Hashable {
    /// The processor's name (`release`, `confirmation`).
    public var processor: String
    /// Which of the processor's loop threads this is.
    public var thread: Int
    /// The loop thread is running.
    public var running: Bool
    /// A stop was asked for (a graceful shutdown).
    public var stopping: Bool
    /// Why the worker stopped, if it failed.
    public var failure: String?
    /// Time since the loop thread last made progress (a poll, or changelog read by a restore);
    /// `nil` before its first.
    public var sinceProgress: Duration?
    /// The group has given this worker its (possibly empty) share of the partitions.
    public var joined: Bool
    /// Partitions whose tasks this thread runs.
    public var assignedPartitions: [Int32]
    /// Tasks being restored from their changelog now.
    public var restoring: [TaskRestoreProgress]
    /// Partitions assigned to this thread whose tasks are not open (restored) yet.
    public var openingTasks: Int
    /// Tasks whose changelog no longer had the history their state needed, since the worker
    /// started: rebuilt from what was left (`allowStateLoss`), or the reason the worker stopped.
    public var stateLosses: [TaskStateLoss]
    /// How long the loop's consumer has had no connection to any broker (librdkafka reported
    /// all brokers down and none has come back since); `nil` while it reaches the cluster. The
    /// worker keeps running and retrying meanwhile.
    public var clusterUnreachableFor: Duration?

    public init(
        processor: String, thread: Int, running: Bool, stopping: Bool, failure: String?, sinceProgress: Duration?, joined: Bool,
        assignedPartitions: [Int32], restoring: [TaskRestoreProgress], openingTasks: Int = 0, stateLosses: [TaskStateLoss] = [],
        clusterUnreachableFor: Duration? = nil
    ) {
        self.clusterUnreachableFor = clusterUnreachableFor
        self.processor = processor
        self.thread = thread
        self.running = running
        self.stopping = stopping
        self.failure = failure
        self.sinceProgress = sinceProgress
        self.joined = joined
        self.assignedPartitions = assignedPartitions
        self.restoring = restoring
        self.openingTasks = openingTasks
        self.stateLosses = stateLosses
    }

    /// Not failed, and while running, polled within `timeout`: what a liveness probe asks. A
    /// thread that has not started (master data still loading) or has stopped cleanly is live.
    public func isLive(within timeout: Duration) -> Bool {
        guard failure == nil else { return false }
        guard running, let sinceProgress else { return true }
        return sinceProgress <= timeout
    }

    /// Joined, every assigned task open (restored), running, the cluster reachable: what a
    /// readiness probe asks.
    public var isReady: Bool {
        running && !stopping && failure == nil && joined && restoring.isEmpty && openingTasks == 0 && clusterUnreachableFor == nil
    }
}

/// A task's restore from its changelog, in changelog records.
public struct TaskRestoreProgress: Sendable, Hashable {
    public var partition: Int32
    /// Records read so far.
    public var restored: Int64
    /// Records from where the restore started to the end of the changelog when it started.
    public var toRestore: Int64

    public init(partition: Int32, restored: Int64, toRestore: Int64) {
        self.partition = partition
        self.restored = restored
        self.toRestore = toRestore
    }
}

/// A task whose changelog started past the offset its state needed (history deleted by retention).
public struct TaskStateLoss: Sendable, Hashable {
    public var partition: Int32
    /// The changelog topic.
    public var changelog: String
    /// The offsets needed and where the log starts.
    public var gap: StateGap
    /// Rebuilt from what was left (`allowStateLoss`); false: the worker stopped on it.
    public var rebuilt: Bool

    public init(partition: Int32, changelog: String, gap: StateGap, rebuilt: Bool) {
        self.partition = partition
        self.changelog = changelog
        self.gap = gap
        self.rebuilt = rebuilt
    }
}
