/// The processors' business settings, validated once at the edge.
public struct ProcessingSettings: Sendable, Hashable {
    /// Tumbling event-time window, aligned to the epoch. Default 15 minutes.
    public var windowSize: Int64 = 15 * 60_000
    /// How long after a window's end late events still count in it. Default 5 minutes.
    public var grace: Int64 = 5 * 60_000
    /// Goods receipt may exceed the ordered quantity by this fraction. Default 0.10.
    public var overDeliveryTolerance: Double = 0.10
    /// Scrap / (goods receipt + scrap) above this flags SCRAP_OVER_TOLERANCE. Default 0.05.
    public var scrapTolerance: Double = 0.05
    /// MES events of an unknown work order wait this long (processing time). Default 10 minutes.
    public var parkingTimeout: Int64 = 10 * 60_000
    /// A quiet partition's stream time moves to the wall clock after this. Default 60 s.
    public var idleTimeout: Int64 = 60_000
    /// A finished work order is retired this long (stream time) after it finished: its windows,
    /// progress and row are deleted, a compact retirement record stays. Default 14 days.
    public var workOrderRetention: Int64 = 14 * Self.day
    /// A work order with no event for this long (stream time) counts as finished even if it never
    /// completed. Default 90 days.
    public var workOrderIdleRetention: Int64 = 90 * Self.day
    /// The release ledger forgets an order this long (stream time) after its release, keeping a
    /// retirement record. Default 30 days.
    public var orderRetention: Int64 = 30 * Self.day
    /// Retirement records (and the UNKNOWN_WORK_ORDER quarantines a replay may apply) are kept this
    /// long (stream time), then deleted: the horizon within which a late or replayed input of a
    /// retired work order is recognised. Longer than the input topics' retention (7 days) and the
    /// work-order table's compaction lag. Default 90 days.
    public var retirementRecordRetention: Int64 = 90 * Self.day

    /// One day in milliseconds.
    public static let day: Int64 = 86_400_000

    public init() {}

    /// Checks every value; the error names the setting and the rule.
    public func validate() throws(SettingsError) {
        if windowSize < 1000 { throw SettingsError("windowSize: at least 1 s") }
        if 86_400_000 % windowSize != 0 { throw SettingsError("windowSize: must divide a day evenly (windows align to the epoch)") }
        if grace < 0 { throw SettingsError("grace: must be ≥ 0") }
        if !(0...1).contains(overDeliveryTolerance) { throw SettingsError("overDeliveryTolerance: must be between 0 and 1") }
        if !(0...1).contains(scrapTolerance) { throw SettingsError("scrapTolerance: must be between 0 and 1") }
        if parkingTimeout < 0 { throw SettingsError("parkingTimeout: must be ≥ 0") }
        if idleTimeout < 1000 { throw SettingsError("idleTimeout: at least 1 s") }
        if workOrderRetention < windowSize + grace {
            throw SettingsError("workOrderRetention: at least windowSize + grace (a late event within the grace still counts in its window)")
        }
        if workOrderIdleRetention < windowSize + grace {
            throw SettingsError("workOrderIdleRetention: at least windowSize + grace (a late event within the grace still counts in its window)")
        }
        if orderRetention < Self.day { throw SettingsError("orderRetention: at least 1 day") }
        if retirementRecordRetention < Self.day { throw SettingsError("retirementRecordRetention: at least 1 day") }
    }
}

public struct SettingsError: Error, Sendable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// The topics the processors read and write.
public enum Topics {
    public static let orderApproved = "erp.order-approved.v1"
    public static let operationCompleted = "mes.operation-completed.v1"
    public static let scrapReported = "mes.scrap-reported.v1"
    public static let productionConfirmation = "erp.production-confirmation.v1"
    public static let erpOrderStatus = "erp.order-status.v1"
    public static let crmOrderStatus = "crm.order-status.v1"
    /// Order requests accepted by the order API, for ERP to approve.
    public static let orderRequest = "crm.order-request.v1"
    public static let quarantine = "ops.quarantine.v1"
    /// One record per executed operator action (offset reset, quarantine release, redrive).
    public static let audit = "ops.audit.v1"
    /// Internal: released work orders, compacted, co-partitioned with the MES topics.
    public static let workOrders = "millwright.work-orders.v1"
}
