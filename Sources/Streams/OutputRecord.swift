/// A record a processor wants written: topic, key, value and headers. The runtime produces it.
public struct OutputRecord: Sendable {
    public var topic: String
    public var key: [UInt8]?
    /// `nil` is a tombstone.
    public var value: [UInt8]?
    public var headers: [StreamRecord.Header]
    /// Milliseconds since the epoch; `nil` lets the producer stamp it.
    public var timestamp: Int64?
    /// The partition to write to; `nil` (the default) partitions by key (murmur2).
    public var partition: Int32?
    /// What the output counts as in the worker's metrics, beyond its topic (a posting of a kind,
    /// a quarantine for a reason…). Counted once its transaction commits. Default `nil`.
    public var tally: OutputTally?

    public init(
        topic: String, key: [UInt8]?, value: [UInt8]?, headers: [StreamRecord.Header] = [], timestamp: Int64? = nil
    ) {
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }

    /// Returns the record with its ``tally`` set.
    public func tallied(_ tally: OutputTally) -> OutputRecord {
        var copy = self
        copy.tally = tally
        return copy
    }

    public init(topic: String, key: String, value: [UInt8], headers: [StreamRecord.Header] = [], timestamp: Int64? = nil) {
        self.init(topic: topic, key: Array(key.utf8), value: value, headers: headers, timestamp: timestamp)
    }
}

/// A committed output's entry in the metrics: the counter `<name>` with these labels is increased
/// by one when the output's transaction commits, and when `eventTime` is set, the time from it to
/// the commit is observed in the duration histogram ``lagHistogram``.
///
/// Label values must come from a bounded set (reason codes, kinds, plants): never an order or work
/// order id.
public struct OutputTally: Sendable, Hashable {
    /// The counter's name, for example `millwright_postings_total`.
    public var name: String
    /// Label names and values; the same names, in the same order, for every tally of a name.
    public var labels: [Label]
    /// The event time the output reports on (ms since the epoch), for the lag histogram
    /// ``lagHistogram``; `nil`: no lag is observed.
    public var eventTime: Int64?
    /// The duration histogram the commit time − ``eventTime`` goes to.
    public var lagHistogram: String?
    /// When set, the committed output is also logged (at `notice`) with this message, its labels,
    /// topic and key, and the correlation and event ids of the input it is about. For outputs an
    /// operator acts on (quarantines, dead letters), never for the bulk.
    public var logMessage: String?

    public struct Label: Sendable, Hashable {
        public var name: String
        public var value: String
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    public init(name: String, labels: [Label], eventTime: Int64? = nil, lagHistogram: String? = nil, logMessage: String? = nil) {
        self.name = name
        self.labels = labels
        self.eventTime = eventTime
        self.lagHistogram = lagHistogram
        self.logMessage = logMessage
    }
}
