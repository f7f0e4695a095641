import Kafka

/// Why a ``GlobalTableLoader`` could not start, stopped, or gave up waiting.
public struct GlobalTableError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, as a code that new cases can be added to without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Backing: Hashable, Sendable {
            case configuration, unknownTopic, kafka, sink, timedOut, stopped, cancelled, invalidState
        }
        private let backing: Backing

        /// A setting of ``GlobalTableConfiguration`` (or the topic list) is not usable.
        public static let configuration = Code(backing: .configuration)
        /// A topic to read does not exist (or has no partitions) in the cluster.
        public static let unknownTopic = Code(backing: .unknownTopic)
        /// The Kafka client failed (metadata, watermarks, assignment, a fatal poll error).
        public static let kafka = Code(backing: .kafka)
        /// The sink failed to read its positions or to apply a batch; nothing of that batch is stored.
        public static let sink = Code(backing: .sink)
        /// The wait ended before the table caught up.
        public static let timedOut = Code(backing: .timedOut)
        /// The loader was stopped before what was waited for happened.
        public static let stopped = Code(backing: .stopped)
        /// The waiting task was cancelled.
        public static let cancelled = Code(backing: .cancelled)
        /// The call is not allowed now (for example a second `start`).
        public static let invalidState = Code(backing: .invalidState)

        public var description: String {
            switch backing {
            case .configuration: return "configuration"
            case .unknownTopic: return "unknownTopic"
            case .kafka: return "kafka"
            case .sink: return "sink"
            case .timedOut: return "timedOut"
            case .stopped: return "stopped"
            case .cancelled: return "cancelled"
            case .invalidState: return "invalidState"
            }
        }
    }

    /// What went wrong.
    public let code: Code
    /// A readable reason naming the topic, partition or setting involved.
    public let reason: String
    /// The error that caused this one (a `KafkaError`, the sink's own error), if any.
    public let underlying: (any Error)?
    /// Where the error was raised: file (`Module/File.swift`) and line.
    public let file: String
    public let line: UInt

    /// - Parameters:
    ///   - reason: names the topic, partition or setting involved.
    ///   - underlying: the error that caused this one, if any.
    public init(code: Code, reason: String, underlying: (any Error)? = nil, file: String = #fileID, line: UInt = #line) {
        self.code = code
        self.reason = reason
        self.underlying = underlying
        self.file = file
        self.line = line
    }

    /// Whether trying again later may succeed: timeouts, and Kafka errors librdkafka calls retriable.
    public var isRetriable: Bool {
        if code == .timedOut { return true }
        if code == .kafka, let kafka = underlying as? KafkaError { return kafka.isRetriable }
        return false
    }

    public var description: String {
        let cause = underlying.map { ": \($0)" } ?? ""
        return "GlobalTableError.\(code): \(reason)\(cause) (at \(file):\(line))"
    }
}
