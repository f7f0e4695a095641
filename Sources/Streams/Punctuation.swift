/// What a punctuation follows: the task's stream time (the highest event time seen, moved up by
/// the idle advance of a quiet partition) or the wall clock.
public enum PunctuationType: Sendable, Hashable {
    case streamTime
    case wallClock
}

/// A processor's periodic callback, as Kafka Streams' `punctuate`: scheduled from the processor
/// with ``ProcessorContext/schedule(_:every:_:)`` (usually in ``StreamProcessor/initialize(context:)``),
/// called on the task's thread between records, with the time that triggered it.
///
/// - Stream time: called on the first advance of stream time, then whenever stream time reaches
///   the next multiple of `interval` (epoch-aligned), once per advance even when an advance
///   crosses several multiples. An interval of 1 ms calls it on every advance.
/// - Wall clock: called when the wall clock has moved `interval` since the schedule, then every
///   `interval`; intervals missed (a long pause) are skipped, not called in a burst. The runtime
///   looks about every `StreamsConfiguration.wallClockInterval` (1 s), so a shorter interval fires
///   at that pace.
public final class Punctuation {
    public typealias Punctuator = (_ time: Int64, _ context: any ProcessorContext) throws -> Void

    public let type: PunctuationType
    /// ms, > 0.
    public let interval: Int64
    /// The time at or after which it is called next; nil for stream time before its first call.
    public internal(set) var next: Int64?
    public private(set) var isCancelled = false
    let punctuator: Punctuator

    init(type: PunctuationType, interval: Int64, next: Int64?, punctuator: @escaping Punctuator) {
        precondition(interval > 0, "a punctuation interval is positive")
        self.type = type
        self.interval = interval
        self.next = next
        self.punctuator = punctuator
    }

    /// Stops it: it is not called again.
    public func cancel() { isCancelled = true }
}

/// A task's punctuations, and which of them are due. Pure: when its stream time moved or its wall
/// clock ticked, the task walks ``punctuations`` and calls each one ``claim(_:_:at:)`` says is due.
struct PunctuationSchedule {
    /// In the order they were scheduled; a cancelled one is dropped at the next schedule.
    private(set) var punctuations: [Punctuation] = []

    /// Adds a punctuation of `type`; a wall-clock one is first due `interval` after `wallClock`.
    mutating func schedule(
        _ type: PunctuationType, every interval: Int64, wallClock: Int64, _ punctuator: @escaping Punctuation.Punctuator
    ) -> Punctuation {
        punctuations.removeAll(where: \.isCancelled)
        let punctuation = Punctuation(
            type: type, interval: interval, next: type == .wallClock ? wallClock + interval : nil, punctuator: punctuator)
        punctuations.append(punctuation)
        return punctuation
    }

    /// Whether `punctuation` is of `type`, not cancelled and due at `time`; if so, sets when it is
    /// due next (the caller then calls it). No allocation: asked on nearly every record.
    static func claim(_ punctuation: Punctuation, _ type: PunctuationType, at time: Int64) -> Bool {
        guard punctuation.type == type, !punctuation.isCancelled else { return false }
        if let next = punctuation.next, time < next { return false }
        switch type {
        case .streamTime:
            punctuation.next = floorDivide(time, punctuation.interval) * punctuation.interval + punctuation.interval
        case .wallClock:
            let next = punctuation.next ?? time
            punctuation.next = next + ((time - next) / punctuation.interval + 1) * punctuation.interval
        }
        return true
    }

    var count: Int { punctuations.count { !$0.isCancelled } }

    private static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }
}
