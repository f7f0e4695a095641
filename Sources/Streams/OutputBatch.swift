import Kafka

/// A task's outputs since its last commit, packed into one buffer as they are forwarded
/// (``KafkaPackedRecords``), with the tallies of those that have one.
///
/// What a transaction holds its outputs in: about their own bytes in one allocation, where each
/// ``OutputRecord`` held was several heap objects (key, value, headers and their strings); the
/// committer sends them straight from the buffer and frees one buffer, not thousands of records.
public struct OutputBatch: Sendable {
    public private(set) var packed: KafkaPackedRecords
    /// The outputs that count in the metrics: their position in ``packed`` and their tally, in order.
    public private(set) var tallies: [(position: Int, tally: OutputTally)] = []

    /// - Parameter capacity: bytes to reserve for the packed records.
    public init(capacity: Int = 0) {
        packed = KafkaPackedRecords(capacity: capacity)
    }

    public init(_ records: some Sequence<OutputRecord>) {
        self.init()
        for record in records { append(record) }
    }

    public var count: Int { packed.count }
    public var isEmpty: Bool { packed.isEmpty }
    /// Bytes the packed outputs take: what a transaction's output budget counts
    /// (`maxOutputBytesPerTransaction`).
    public var byteCount: Int { packed.byteCount }

    public mutating func append(_ record: OutputRecord) {
        let position = packed.append(
            topic: record.topic, partition: record.partition, key: record.key, value: record.value, timestamp: record.timestamp,
            headerCount: record.headers.count
        ) { writer in
            for header in record.headers { writer.add(header.kafka) }
        }
        if let tally = record.tally { tallies.append((position, tally)) }
    }

    /// The output at `position` (of ``packed``) as a record, without its tally (a copy: for logs).
    public func record(at position: Int) -> OutputRecord {
        OutputRecord(packed.message(at: position))
    }

    /// Every output as a record with its tally, in order (copies: for tests and tools).
    public var records: [OutputRecord] {
        var records: [OutputRecord] = []
        records.reserveCapacity(count)
        var nextTally = 0
        packed.forEachRecord { packed in
            var record = OutputRecord(packed.message)
            if nextTally < tallies.count, tallies[nextTally].position == packed.position {
                record.tally = tallies[nextTally].tally
                nextTally += 1
            }
            records.append(record)
        }
        return records
    }
}

extension OutputRecord {
    /// The output a message is (no tally).
    init(_ message: KafkaProducerMessage) {
        self.init(
            topic: message.topic, key: message.key, value: message.value, headers: message.headers.map(StreamRecord.Header.init),
            timestamp: message.timestamp)
        partition = message.partition
    }
}
