import Streams

/// Builds the processors' output records: envelope, deterministic event id, contract headers.
struct OutputFactory {
    /// Milliseconds since the epoch: when the output is made.
    var now: Int64
    var correlationId: String
    /// The eventId of the input that caused the output.
    var causationId: String
    var plant: String?

    func envelope<P: EventPayload>(_ data: P, eventId: String) -> Envelope<P> {
        Envelope(
            eventId: eventId, correlationId: correlationId, occurredAt: Timestamp(milliseconds: now),
            source: EventSource(system: "Millwright", plant: plant), data: data)
    }

    func record<P: EventPayload>(_ data: P, topic: String, key: String, eventId: String) -> OutputRecord {
        envelope(data, eventId: eventId).outputRecord(topic: topic, key: key, causationId: causationId)
    }

    /// ERP's and CRM's status events for one status. CRM's envelope names no plant either.
    /// The status for ERP and (masked) for CRM; `erp` / `crm` false leaves that one out.
    func statusRecords(_ status: OrderStatus, sequence: String, erp: Bool = true, crm: Bool = true) -> [OutputRecord] {
        var masked = self
        masked.plant = nil
        var records: [OutputRecord] = []
        if erp { records.append(record(status, topic: Topics.erpOrderStatus, key: status.orderId, eventId: "status:\(status.orderId):\(sequence)")) }
        if crm {
            records.append(
                masked.record(status.forCustomer, topic: Topics.crmOrderStatus, key: status.orderId, eventId: "crm-status:\(status.orderId):\(sequence)"))
        }
        return records
    }
}
