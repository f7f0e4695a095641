/// The contract's quarantine reason codes, in the order the checks run.
public enum QuarantineReason: String, Sendable, CaseIterable, Comparable {
    case unknownPlant = "UNKNOWN_PLANT"
    case inactivePlant = "INACTIVE_PLANT"
    case unknownItem = "UNKNOWN_ITEM"
    case inactiveItem = "INACTIVE_ITEM"
    case unknownBomRevision = "UNKNOWN_BOM_REVISION"
    case obsoleteBomRevision = "OBSOLETE_BOM_REVISION"
    case noRouting = "NO_ROUTING"
    case uomNotConvertible = "UOM_NOT_CONVERTIBLE"
    case unknownWorkOrder = "UNKNOWN_WORK_ORDER"
    case overConfirmation = "OVER_CONFIRMATION"
    /// An input for a work order retired after its retention (finished, older than the retention
    /// in stream time): never applied, never posted.
    case workOrderRetired = "WORK_ORDER_RETIRED"

    public static func < (lhs: QuarantineReason, rhs: QuarantineReason) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// An input held back because it failed a referential check (`ops.quarantine.v1`, key = the
/// input's key). An operator can release it again once master data is fixed.
public struct Quarantine: EventPayload, Hashable {
    public static let schema = "ops.quarantine"

    public var reason: QuarantineReason
    /// Human text: what was missing or wrong, with the values involved.
    public var detail: String
    public var originalTopic: String
    public var originalPartition: Int
    public var originalOffset: Int64
    /// The whole input envelope as it arrived (extra fields kept).
    public var original: JSONValue

    public init(
        reason: QuarantineReason, detail: String, originalTopic: String, originalPartition: Int, originalOffset: Int64,
        original: JSONValue
    ) {
        self.reason = reason
        self.detail = detail
        self.originalTopic = originalTopic
        self.originalPartition = originalPartition
        self.originalOffset = originalOffset
        self.original = original
    }

    public init(data: FieldReader, version: Int) throws(DecodingFailure) {
        reason = try data.value("reason", QuarantineReason.self)
        detail = try data.string("detail")
        originalTopic = try data.string("originalTopic")
        originalPartition = try data.int("originalPartition", minimum: 0)
        originalOffset = Int64(try data.int("originalOffset", minimum: 0))
        original = .object(try data.object("original").object)
    }

    public var json: JSONValue {
        [
            "reason": .string(reason.rawValue), "detail": .string(detail), "originalTopic": .string(originalTopic),
            "originalPartition": .number(Double(originalPartition), isInteger: true),
            "originalOffset": .number(Double(originalOffset), isInteger: true), "original": original,
        ]
    }
}
