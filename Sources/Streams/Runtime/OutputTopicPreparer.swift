import Kafka

/// Makes sure a topic the processors write to exists before the first record goes to it: a new
/// plant's release topic on a cluster that does not create topics on first use. Called on the
/// committer thread before each transaction, for every topic its outputs go to (a preparer
/// remembers what it made sure of; the runtime asks again each transaction, so that must be
/// cheap). Blocking; a thrown error fails the transaction — a fatal or non-retriable code stops
/// the worker with the error's text, so it should say what to do.
public protocol OutputTopicPreparer: Sendable {
    func prepare(_ topic: String) throws(KafkaError)
}
