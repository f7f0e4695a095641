import Streams

/// One batch of master-data records turned into what the store will do with them — upserts,
/// deletes and rejections — before any I/O, so the SQLite transaction only writes.
///
/// Decoding (JSON parse, checks, JSON write) is most of the cost of loading; decoding in chunks
/// on both cores was tried and measured no faster next to the in-process cluster, so it is serial.
struct MasterDataBatch {
    enum Operation {
        /// Insert or replace the row of `key` with the payload's JSON.
        case upsert(MasterDataKind, key: String, json: String, partition: Int32, offset: Int64)
        /// Delete the row of `key` (a tombstone).
        case delete(MasterDataKind, key: String)
    }

    private(set) var operations: [Operation] = []
    private(set) var rejections: [MasterDataRejection] = []
    private(set) var changes = MasterDataChanges()

    /// - Parameter receivedAt: the wall-clock time stored with rejections.
    init(_ records: [StreamRecord], receivedAt: Timestamp) {
        operations.reserveCapacity(records.count)
        for record in records {
            switch Self.operation(for: record) {
            case .success(let operation):
                operations.append(operation)
                switch operation {
                case .upsert(let kind, let key, _, _, _), .delete(let kind, let key): changes.changed(kind, key)
                }
            case .failure(let cause):
                rejections.append(
                    MasterDataRejection(
                        topic: record.topic, partition: record.partition, offset: record.offset,
                        key: record.key.map { String(decoding: $0, as: UTF8.self) }, value: record.value,
                        reason: cause.reason, error: cause.error,
                        correlationId: cause.correlationId ?? Self.correlationId(of: record), receivedAt: receivedAt,
                        rawKey: record.key, headers: record.headers, timestamp: record.timestamp))
                changes.rejected += 1
            }
        }
    }

    /// Why a record cannot be applied.
    struct Cause: Error {
        var reason: MasterDataRejection.Reason
        var error: String
        var correlationId: String? = nil
    }

    static func operation(for record: StreamRecord) -> Result<Operation, Cause> {
        guard let kind = MasterDataKind(topic: record.topic) else {
            return .failure(
                Cause(
                    reason: .unknownTopic,
                    error: "\(record.topic) is not a master-data topic (\(MasterDataTopic.all.joined(separator: ", ")))"))
        }
        guard record.value != nil else {
            guard let key = record.keyString else {
                return .failure(
                    Cause(
                        reason: .missingKey,
                        error: "a tombstone needs the natural key as its Kafka key; this one has \(record.key == nil ? "none" : "one that is not UTF-8")"))
            }
            return .success(.delete(kind, key: key))
        }
        switch kind {
        case .plant: return upsert(record, as: Plant.self)
        case .item: return upsert(record, as: Item.self)
        case .bom: return upsert(record, as: BillOfMaterials.self)
        case .routing: return upsert(record, as: Routing.self)
        }
    }

    private static func upsert<P: MasterDataPayload>(_ record: StreamRecord, as type: P.Type) -> Result<Operation, Cause> {
        let decoded = EventDecoder.decode(record.value, as: P.self, headerCorrelationId: record.header("correlation-id")?.stringValue)
        switch decoded {
        case .failure(let failure):
            return .failure(Cause(reason: MasterDataRejection.Reason(failure.reason), error: failure.description))
        case .success(let envelope):
            let key = envelope.data.key
            guard record.keyString == key else {
                let recordKey = record.keyString.map { "'\($0)'" } ?? (record.key == nil ? "missing" : "not UTF-8")
                return .failure(
                    Cause(
                        reason: .keyMismatch,
                        error: "the Kafka key (\(recordKey)) is not the \(P.kind)'s natural key '\(key)'",
                        correlationId: envelope.metadata.correlationId))
            }
            return .success(
                .upsert(
                    P.kind, key: key, json: JSONWriter.string(envelope.data.json), partition: record.partition, offset: record.offset))
        }
    }

    /// The correlation id of a record that did not decode: the envelope's field if the value is
    /// still a JSON object with one, else the `correlation-id` header.
    private static func correlationId(of record: StreamRecord) -> String? {
        if let value = record.value, case .object(let object)? = try? JSONParser.parse(value),
            case .string(let id)? = object["correlationId"], !id.isEmpty
        {
            return id
        }
        return record.header("correlation-id")?.stringValue
    }
}
