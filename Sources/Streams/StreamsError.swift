import Kafka

/// Why the stream runtime stopped or refused: a processor failed, the configuration breaks a rule,
/// the runtime was used wrongly, a changelog lost history a task needs, or Kafka failed (the ``kafka`` error beneath says how: fatal,
/// fenced, timed out…).
public struct StreamsError: Error, CustomStringConvertible, Sendable {
    public enum Code: Sendable, Hashable {
        /// A processor threw (on a record, on the clock, or in its flush): the worker stops.
        case processor
        /// A setting breaks a rule (``reason`` names it).
        case configuration
        /// The runtime was used in a way it does not support (a loop thread without its group member…).
        case invalidState
        /// A Kafka client call failed: ``kafka``.
        case kafka
        /// A task's changelog no longer has the history its state needs (retention deleted it),
        /// and ``StreamsConfiguration/allowStateLoss`` is off: the worker does not start the task.
        case stateLoss
    }

    public var code: Code
    /// What happened, in words (for `.kafka`, the Kafka error's reason).
    public var reason: String
    /// The Kafka error beneath, for `.kafka`.
    public var kafka: KafkaError?

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public init(kafka error: KafkaError) {
        code = .kafka
        reason = error.reason
        kafka = error
    }

    public var description: String { kafka.map { "\($0)" } ?? reason }
}

/// Runs a Kafka call in a function that reports ``StreamsError``.
@inline(__always)
func kafka<T>(_ body: () throws(KafkaError) -> T) throws(StreamsError) -> T {
    do { return try body() } catch { throw StreamsError(kafka: error) }
}
