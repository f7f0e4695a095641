/// A plant (`mdm.plant.v1`, key plantCode).
public struct Plant: EventPayload, Hashable {
    public enum Status: String, Sendable, CaseIterable {
        case active = "ACTIVE"
        case inactive = "INACTIVE"
    }
    public static let schema = "mdm.plant"

    public var plantCode: String
    public var name: String
    /// IANA time zone, for example `Europe/Berlin`.
    public var timezone: String
    public var status: Status

    public init(plantCode: String, name: String, timezone: String, status: Status) {
        self.plantCode = plantCode
        self.name = name
        self.timezone = timezone
        self.status = status
    }

    public init(data: FieldReader, version: Int) throws(DecodingFailure) {
        plantCode = try data.code("plantCode")
        name = try data.string("name")
        timezone = try data.string("timezone")
        status = try data.value("status", Status.self)
    }

    public var key: String { plantCode }

    public var json: JSONValue {
        ["plantCode": .string(plantCode), "name": .string(name), "timezone": .string(timezone), "status": .string(status.rawValue)]
    }
}

/// An item (`mdm.item.v1`, key itemId).
public struct Item: EventPayload, Hashable {
    public enum Status: String, Sendable, CaseIterable {
        case active = "ACTIVE"
        case inactive = "INACTIVE"
        case obsolete = "OBSOLETE"
    }
    public static let schema = "mdm.item"

    public var itemId: String
    public var description: String
    /// The unit quantities are kept in (upper case).
    public var baseUom: String
    /// Alternative unit → how many baseUom in one (upper-case keys, values > 0).
    public var uomConversions: [String: Double]
    public var status: Status

    public init(itemId: String, description: String, baseUom: String, uomConversions: [String: Double], status: Status) {
        self.itemId = itemId
        self.description = description
        self.baseUom = baseUom
        self.uomConversions = uomConversions
        self.status = status
    }

    public init(data: FieldReader, version: Int) throws(DecodingFailure) {
        itemId = try data.string("itemId")
        description = try data.string("description")
        baseUom = try data.code("baseUom")
        let conversions = try data.object("uomConversions")
        var table: [String: Double] = [:]
        // Each member read once, in hand: an object of many units costs linear time.
        for member in conversions.object.members {
            let unit = member.key.trimmed.uppercased()
            if unit.isEmpty { throw conversions.fail(member.key, "unit names must not be empty") }
            let factor = try conversions.quantity(of: member.value, member.key, positive: true, maximum: FieldReader.maxQuantity)
            guard table.updateValue(factor, forKey: unit) == nil else {
                throw conversions.fail(member.key, "names the unit \(unit) a second time (units are compared in upper case)")
            }
        }
        uomConversions = table
        status = try data.value("status", Status.self)
    }

    public var key: String { itemId }

    /// How many baseUom one `uom` is, or nil when the item cannot be counted in it.
    public func baseQuantity(per uom: String) -> Double? {
        uom == baseUom ? 1 : uomConversions[uom]
    }

    public var json: JSONValue {
        let conversions = JSONObject(uomConversions.sorted { $0.key < $1.key }.map { (key: $0.key, value: JSONValue.quantity($0.value)) })
        return [
            "itemId": .string(itemId), "description": .string(description), "baseUom": .string(baseUom),
            "uomConversions": .object(conversions), "status": .string(status.rawValue),
        ]
    }
}

/// A bill of materials revision (`mdm.bom.v1`, key `itemId:revision`).
public struct BillOfMaterials: EventPayload, Hashable {
    public enum Status: String, Sendable, CaseIterable {
        case released = "RELEASED"
        case obsolete = "OBSOLETE"
    }
    public struct Component: Sendable, Hashable {
        public var itemId: String
        /// Per one baseUom of the parent.
        public var qtyPer: Double
        public var uom: String

        public init(itemId: String, qtyPer: Double, uom: String) {
            self.itemId = itemId
            self.qtyPer = qtyPer
            self.uom = uom
        }
    }
    public static let schema = "mdm.bom"

    public var itemId: String
    public var revision: String
    public var status: Status
    public var components: [Component]

    public init(itemId: String, revision: String, status: Status, components: [Component]) {
        self.itemId = itemId
        self.revision = revision
        self.status = status
        self.components = components
    }

    public init(data: FieldReader, version: Int) throws(DecodingFailure) {
        itemId = try data.string("itemId")
        revision = try data.string("revision")
        status = try data.value("status", Status.self)
        var components: [Component] = []
        for c in try data.objects("components") {
            components.append(
                Component(
                    itemId: try c.string("itemId"), qtyPer: try c.quantity("qtyPer", positive: true, maximum: FieldReader.maxQuantity), uom: try c.code("uom")))
        }
        self.components = components
    }

    public var key: String { Self.key(itemId: itemId, revision: revision) }
    public static func key(itemId: String, revision: String) -> String { "\(itemId):\(revision)" }

    public var json: JSONValue {
        [
            "itemId": .string(itemId), "revision": .string(revision), "status": .string(status.rawValue),
            "components": .array(components.map { ["itemId": .string($0.itemId), "qtyPer": .quantity($0.qtyPer), "uom": .string($0.uom)] }),
        ]
    }
}

/// The operations to make an item in a plant (`mdm.routing.v1`, key `itemId:plant`).
public struct Routing: EventPayload, Hashable {
    public struct Operation: Sendable, Hashable {
        public var operationSeq: Int
        public var workCenter: String
        public var description: String

        public init(operationSeq: Int, workCenter: String, description: String) {
            self.operationSeq = operationSeq
            self.workCenter = workCenter
            self.description = description
        }
    }
    public static let schema = "mdm.routing"

    public var itemId: String
    public var plant: String
    /// Ascending `operationSeq`; the last is the final operation.
    public var operations: [Operation]

    public init(itemId: String, plant: String, operations: [Operation]) {
        self.itemId = itemId
        self.plant = plant
        self.operations = operations
    }

    public init(data: FieldReader, version: Int) throws(DecodingFailure) {
        itemId = try data.string("itemId")
        plant = try data.code("plant")
        var operations: [Operation] = []
        for (i, o) in try data.objects("operations", nonEmpty: true).enumerated() {
            let operation = Operation(
                operationSeq: try o.int("operationSeq", minimum: 1), workCenter: try o.string("workCenter"),
                description: try o.optionalString("description") ?? "")
            if let previous = operations.last, operation.operationSeq <= previous.operationSeq {
                throw data.fail("operations[\(i)].operationSeq", "must be ascending (\(operation.operationSeq) after \(previous.operationSeq))")
            }
            operations.append(operation)
        }
        self.operations = operations
    }

    public var key: String { Self.key(itemId: itemId, plant: plant) }
    public static func key(itemId: String, plant: String) -> String { "\(itemId):\(plant)" }

    public var finalOperation: Operation? { operations.last }

    public var json: JSONValue {
        [
            "itemId": .string(itemId), "plant": .string(plant),
            "operations": .array(
                operations.map { operation in
                    var object = JSONObject([
                        ("operationSeq", .number(Double(operation.operationSeq), isInteger: true)), ("workCenter", .string(operation.workCenter)),
                    ])
                    // The description is optional: an empty one is left out, so the routing reads back.
                    if !operation.description.isEmpty { object.set("description", .string(operation.description)) }
                    return .object(object)
                }),
        ]
    }
}
