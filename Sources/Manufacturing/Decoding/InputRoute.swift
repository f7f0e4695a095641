import Streams

/// What becomes of one input record: a typed event for the processor, or a dead letter to
/// publish (and processing goes on with the next record).
public enum InputRoute<Payload: EventPayload>: Sendable {
    case event(Envelope<Payload>)
    case deadLetter(OutputRecord, DecodingFailure)

    /// Decodes `record` as `Payload`; a record that cannot be understood becomes its dead letter
    /// (original bytes and headers unchanged, reason and error added).
    public init(_ record: StreamRecord, as type: Payload.Type) {
        switch EventDecoder.decode(record, as: type) {
        case .success(let envelope): self = .event(envelope)
        case .failure(let failure): self = .deadLetter(EventDecoder.deadLetter(for: record, failure), failure)
        }
    }
}
