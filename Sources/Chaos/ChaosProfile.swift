/// How hard a chaos run is: the workload and the faults, all from one seed.
public struct ChaosProfile: Sendable, Hashable {
    public var seed: UInt64 = 1
    /// Orders of the simulated plants (about ten MES events each).
    public var orders = 10_000
    /// Worker processes of the group (a further one joins and leaves during the run).
    public var workers = 3
    /// The input is sent over this long, while the faults happen.
    public var feedSeconds = 180
    /// Workers killed with SIGKILL (each started again after 1–3 s).
    public var kills = 8
    /// Brokers taken down (5–8 s each; one at a time).
    public var brokerOutages = 3
    /// Rounds of injected request errors (Produce, EndTxn, AddPartitionsToTxn, TxnOffsetCommit,
    /// OffsetCommit, JoinGroup, SyncGroup, Heartbeat in turn).
    public var requestErrorRounds = 16
    /// Periods of added latency on a broker.
    public var latencyRounds = 3
    /// Fuzzed records (random bytes, truncations, bit flips, 900 KB values, deep nesting, invalid
    /// UTF-8, huge numbers).
    public var fuzz = 140
    /// How long the outputs may take to be complete after the last input and fault.
    public var settleSeconds = 300
    /// Memory of the workers sampled every 10 s (a soak).
    public var sampleMemory = false
    /// The workers' log level (`info`; `debug` logs every transaction with its batch id).
    public var workerLogLevel = "info"

    public init() {}

    /// The bounded profile CI runs (a few minutes on 2 cores).
    public static var ci: ChaosProfile {
        var profile = ChaosProfile()
        profile.orders = 2_000
        profile.feedSeconds = 75
        profile.kills = 5
        profile.brokerOutages = 2
        profile.requestErrorRounds = 8
        profile.latencyRounds = 2
        profile.fuzz = 70
        profile.settleSeconds = 180
        return profile
    }

    /// A soak of `minutes`: orders and faults in proportion, memory sampled.
    public static func soak(minutes: Int) -> ChaosProfile {
        var profile = ChaosProfile()
        profile.feedSeconds = minutes * 60
        // 100 orders a minute (about 880 MES events): what fits the in-process cluster's ~5 MB per
        // partition, which it neither compacts nor keeps longer. At 600 a minute a 30-minute soak
        // outgrew it after ~25 minutes: changelog starts were deleted and tasks that moved to a
        // worker with older local state stopped, as they must (Docs/reliability.md).
        profile.orders = minutes * 100
        profile.kills = max(5, minutes * 2)
        profile.brokerOutages = max(2, minutes / 2)
        profile.requestErrorRounds = max(8, minutes * 4)
        profile.latencyRounds = max(2, minutes)
        profile.fuzz = max(70, minutes * 20)
        profile.sampleMemory = true
        return profile
    }
}
