import Kafka

/// Makes sure a topic the processors write to exists before the first record goes to it: a new
/// plant's release topic on a cluster that does not create topics on first use. Called on the
/// committer thread before each transaction, for every topic its outputs go to (a preparer
/// remembers what it made sure of; the runtime asks again each transaction, so that must be
/// cheap). Blocking; a thrown error fails the transaction — a fatal or non-retriable code stops
/// the worker with the error's text, so it should say what to do.
///
/// The runtime also asks it for the processor's changelog (``prepareChangelog(_:)``), once, on the
/// loop thread before the worker joins its group: a changelog must exist with the inputs'
/// partition count and compacted before the first restore, never be auto-created on first use.
public protocol OutputTopicPreparer: Sendable {
    func prepare(_ topic: String) throws(KafkaError)
    /// Makes sure the changelog exists, or throws saying how to create it (the worker stops).
    /// Default: ``prepare(_:)``.
    func prepareChangelog(_ topic: String) throws(KafkaError)
}

extension OutputTopicPreparer {
    public func prepareChangelog(_ topic: String) throws(KafkaError) { try prepare(topic) }
}
