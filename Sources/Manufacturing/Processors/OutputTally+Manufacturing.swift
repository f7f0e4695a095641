import Streams

/// The processors' outputs as the worker's metrics count them (``OutputTally``). Label values
/// come from bounded sets: reason codes, posting kinds, and plants that master data knows.
extension OutputTally {
    /// `millwright_releases_total{plant}`: a work order released to a plant's MES.
    static func release(plant: String) -> OutputTally {
        OutputTally(name: "millwright_releases_total", labels: [.init("plant", plant)])
    }

    /// `millwright_quarantined_total{reason,plant}`: a record held back. `plant` is `unknown` when
    /// the plant is not known to master data (its code came from the input and is unbounded).
    static func quarantine(_ reason: QuarantineReason, plant: String?) -> OutputTally {
        let label = reason == .unknownPlant ? "unknown" : plant ?? "unknown"
        return OutputTally(
            name: "millwright_quarantined_total", labels: [.init("reason", reason.rawValue), .init("plant", label)],
            logMessage: reason == .overConfirmation ? "posting held back" : "input quarantined")
    }

    /// `millwright_postings_total{kind,plant}`, and the confirmation lag: commit time − the start
    /// of the posting's window (the earliest event time it can hold), in
    /// `millwright_confirmation_lag_seconds`.
    static func posting(_ kind: ProductionConfirmation.Kind, plant: String, windowStart: Int64) -> OutputTally {
        OutputTally(
            name: "millwright_postings_total", labels: [.init("kind", kind.rawValue), .init("plant", plant)],
            eventTime: windowStart, lagHistogram: "millwright_confirmation_lag_seconds")
    }
}
