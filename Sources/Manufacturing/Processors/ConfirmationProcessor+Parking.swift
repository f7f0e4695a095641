import Foundation
import Streams

/// MES events that came before their work order's release wait (are parked) for it, up to the
/// parking timeout of processing time; then they go to quarantine as UNKNOWN_WORK_ORDER, and a
/// replay may apply them once the work order is known.
extension ConfirmationProcessor {
    /// Parked events whose work order did not come within the parking timeout go to quarantine.
    func expireParked(at milliseconds: Int64, context: any ProcessorContext) {
        for (id, events) in parked {
            let (expired, waiting) = (
                events.filter { $0.parkedAt + settings.parkingTimeout <= milliseconds }, events.filter { $0.parkedAt + settings.parkingTimeout > milliseconds }
            )
            guard !expired.isEmpty else { continue }
            parked[id] = waiting.isEmpty ? nil : waiting
            dirtyParking.insert(id)
            for event in expired { quarantineUnknown(event, workOrderId: id, context: context) }
        }
    }

    // MARK: Parking

    func park(_ record: StreamRecord, workOrderId: String, now: Int64, correlation: String?) {
        guard let value = record.value.flatMap({ String(validating: $0, as: UTF8.self) }) else { return }
        var list = parked[workOrderId] ?? []
        guard !list.contains(where: { $0.topic == record.topic && $0.partition == record.partition && $0.offset == record.offset }) else { return }
        list.append(
            ParkedEvent(
                topic: record.topic, partition: record.partition, offset: record.offset, key: record.keyString, value: value, correlationHeader: correlation,
                parkedAt: now, origin: record.origin))
        parked[workOrderId] = list
        dirtyParking.insert(workOrderId)
    }

    func record(of event: ParkedEvent) -> StreamRecord {
        var record = StreamRecord(
            topic: event.topic, partition: event.partition, offset: event.offset, key: event.key.map { Array($0.utf8) },
            value: Array(event.value.utf8), headers: event.correlationHeader.map { [.init(key: EventHeader.correlationId, value: $0)] } ?? [])
        record.origin = event.origin
        return record
    }

    func replayParked(_ event: ParkedEvent, context: any ProcessorContext) {
        let record = record(of: event)
        let decoded: (ShopFloorEvent, EventMetadata)?
        switch event.sourceTopic {
        case Topics.operationCompleted:
            decoded = (try? EventDecoder.decode(record, as: OperationCompleted.self).get()).map { (.completed($0.data), $0.metadata) }
        default: decoded = (try? EventDecoder.decode(record, as: ScrapReported.self).get()).map { (.scrap($0.data), $0.metadata) }
        }
        guard let (shopFloorEvent, metadata) = decoded, let resident = resident(shopFloorEvent.workOrderId) else { return }
        apply(shopFloorEvent, cause: EventCause(metadata, record), workOrder: resident.workOrder, context: context)
    }

    func quarantineUnknown(_ event: ParkedEvent, workOrderId: String, context: any ProcessorContext) {
        replayable["\(event.topic):\(event.offset)"] = context.streamTime
        appliedDirty = true
        let original = (try? JSONParser.parse(Array(event.value.utf8))) ?? .null
        var metadata: EventMetadata?
        if case .object(let object) = original, case .string(let eventId)? = object["eventId"] {
            let correlation: String
            if case .string(let c)? = object["correlationId"] { correlation = c } else { correlation = event.correlationHeader ?? eventId }
            metadata = EventMetadata(
                schema: "", schemaVersion: 1, eventId: eventId, correlationId: correlation, occurredAt: Timestamp(milliseconds: 0),
                source: EventSource(system: "MES"))
        }
        let source = event.origin ?? RecordOrigin(topic: event.topic, partition: event.partition, offset: event.offset)
        let eventId = metadata?.eventId ?? "\(source.topic):\(source.partition):\(source.offset)"
        let factory = OutputFactory(now: context.wallClock, correlationId: metadata?.correlationId ?? eventId, causationId: eventId, plant: nil)
        let quarantine = Quarantine(
            reason: .unknownWorkOrder,
            detail: "no release seen for work order \(workOrderId) within \(settings.parkingTimeout / 1000) s of processing time",
            originalTopic: source.topic, originalPartition: Int(source.partition), originalOffset: source.offset, original: original)
        context.forward(
            factory.record(quarantine, topic: Topics.quarantine, key: event.key ?? workOrderId, eventId: "quarantine:\(eventId)").tallied(
                .quarantine(.unknownWorkOrder, plant: nil)))
    }
}
