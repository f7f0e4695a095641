/// An error from the Kafka layer: a librdkafka result code, a configuration problem or a misuse.
///
/// Every librdkafka result passes through one checking function (``RDKafkaResult``) that turns it
/// into this type, so callers see one error shape with librdkafka's own classification.
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, as a code that new cases can be added to without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Backing: Hashable, Sendable {
            case configuration
            case invalidState
            case closed
            case librdkafka(Int32)
        }
        fileprivate let backing: Backing

        /// A property name or value that librdkafka (or our validation) refused.
        public static let configuration = Code(backing: .configuration)
        /// The call is not allowed in the client's current state (for example a transaction call
        /// on a producer without `transactionalID`).
        public static let invalidState = Code(backing: .invalidState)
        /// The client was closed.
        public static let closed = Code(backing: .closed)
        /// A librdkafka `rd_kafka_resp_err_t` value (negative: client-local; positive: broker).
        public static func librdkafka(_ raw: Int32) -> Code { Code(backing: .librdkafka(raw)) }

        /// The raw librdkafka code, when this is one.
        public var librdkafkaCode: Int32? {
            if case .librdkafka(let raw) = backing { return raw }
            return nil
        }

        public var description: String {
            switch backing {
            case .configuration: return "configuration"
            case .invalidState: return "invalidState"
            case .closed: return "closed"
            case .librdkafka(let raw): return RDKafkaResult.name(of: raw)
            }
        }

        // Codes that callers branch on. Values are librdkafka's `rd_kafka_resp_err_t`.
        public static let timedOut = librdkafka(-185)
        public static let partitionEOF = librdkafka(-191)
        public static let unknownTopicOrPartition = librdkafka(3)
        public static let unknownPartition = librdkafka(-190)
        public static let unknownTopic = librdkafka(-188)
        public static let unknownMemberID = librdkafka(25)
        public static let rebalanceInProgress = librdkafka(27)
        public static let topicAlreadyExists = librdkafka(36)
        public static let unsupportedFeature = librdkafka(-165)
        public static let fenced = librdkafka(-144)
        public static let producerFenced = librdkafka(90)
        public static let invalidProducerEpoch = librdkafka(47)
        public static let queueFull = librdkafka(-184)
        public static let fatal = librdkafka(-150)
        public static let state = librdkafka(-172)
        public static let groupNotEmpty = librdkafka(68)
        public static let transport = librdkafka(-195)
        public static let allBrokersDown = librdkafka(-187)
        /// A record larger than the producer's `message.max.bytes` (refused before it is sent)
        /// or the topic's `max.message.bytes` (refused by the broker).
        public static let messageSizeTooLarge = librdkafka(10)
    }

    /// What went wrong.
    public let code: Code
    /// A readable reason, naming the property, topic or partition involved.
    public let reason: String
    /// librdkafka says the same call may succeed if repeated.
    public let isRetriable: Bool
    /// The client can no longer be used; it must be closed and re-created.
    public let isFatal: Bool
    /// A transactional producer must abort the current transaction before going on.
    public let transactionRequiresAbort: Bool
    /// Where the error was raised.
    public let file: String
    public let line: UInt

    public init(
        code: Code, reason: String, isRetriable: Bool = false, isFatal: Bool = false,
        transactionRequiresAbort: Bool = false, file: String = #fileID, line: UInt = #line
    ) {
        self.code = code
        self.reason = reason
        self.isRetriable = isRetriable
        self.isFatal = isFatal
        self.transactionRequiresAbort = transactionRequiresAbort
        self.file = file
        self.line = line
    }

    public var description: String {
        var flags: [String] = []
        if isRetriable { flags.append("retriable") }
        if isFatal { flags.append("fatal") }
        if transactionRequiresAbort { flags.append("abort-required") }
        let suffix = flags.isEmpty ? "" : " [\(flags.joined(separator: ", "))]"
        return "KafkaError.\(code): \(reason)\(suffix) (at \(file):\(line))"
    }

    static func configuration(_ reason: String, file: String = #fileID, line: UInt = #line) -> KafkaError {
        KafkaError(code: .configuration, reason: reason, file: file, line: line)
    }

    static func invalidState(_ reason: String, file: String = #fileID, line: UInt = #line) -> KafkaError {
        KafkaError(code: .invalidState, reason: reason, file: file, line: line)
    }

    static func closed(_ what: String, file: String = #fileID, line: UInt = #line) -> KafkaError {
        KafkaError(code: .closed, reason: "\(what) is closed", file: file, line: line)
    }
}
