import Manufacturing
import Streams

/// What the probes judge, read at once from the worker's parts.
public struct HealthSnapshot: Sendable, Hashable {
    /// The master-data cache.
    public struct MasterData: Sendable, Hashable {
        /// Loading has begun (partitions assigned).
        public var started: Bool
        /// Every partition has reached the high watermark it had when loading began.
        public var caughtUp: Bool
        /// Why loading stopped, if it failed.
        public var failure: String?
        /// Per topic, offsets loaded towards the high watermarks at start.
        public var progress: [GlobalTableProgress]

        /// Why loading has not started yet, while it is being tried again (the cluster does not
        /// answer, a topic is missing): not a failure — the worker stays live, and not ready.
        public var retrying: String?

        public init(started: Bool, caughtUp: Bool, failure: String?, progress: [GlobalTableProgress], retrying: String? = nil) {
            self.started = started
            self.caughtUp = caughtUp
            self.retrying = retrying
            self.failure = failure
            self.progress = progress
        }
    }

    public var masterData: MasterData
    /// Every loop thread of every processor.
    public var workers: [StreamWorkerHealth]
    /// The worker is shutting down (a signal came): not ready, still live.
    public var shuttingDown: Bool

    public init(masterData: MasterData, workers: [StreamWorkerHealth], shuttingDown: Bool = false) {
        self.masterData = masterData
        self.workers = workers
        self.shuttingDown = shuttingDown
    }
}

/// Where the probes read the worker's health from (``MillwrightWorker``; a fixed value in tests).
public protocol HealthSource: Sendable {
    func healthSnapshot() -> HealthSnapshot
}
