/// The master-data checks of an order request (the order API's), reporting every check that
/// fails rather than the first: the release processor's checks (``ReleaseCheck``), each naming
/// the request field it is about.
public enum OrderRequestCheck {
    /// One failed check: the request field, the contract's reason code and the detail.
    public struct Problem: Sendable, Hashable {
        public var field: String
        public var failure: ReleaseCheck.Failure

        public init(field: String, failure: ReleaseCheck.Failure) {
            self.field = field
            self.failure = failure
        }
    }

    /// Every failing check in the contract's order: plant (`plant`), item (`itemId`), BOM revision
    /// (`bomRevision`), routing (`plant`), unit (`uom`, only when the item is known). Empty: ERP's
    /// approval of the request as it stands would be released.
    public static func problems(_ request: OrderRequest, against masterData: some MasterDataLookup) -> [Problem] {
        var problems: [Problem] = []
        if case .failure(let failure) = ReleaseCheck.plant(request.plant, masterData) { problems.append(Problem(field: "plant", failure: failure)) }
        if case .failure(let failure) = ReleaseCheck.item(request.itemId, masterData) { problems.append(Problem(field: "itemId", failure: failure)) }
        if case .failure(let failure) = ReleaseCheck.bom(itemId: request.itemId, revision: request.bomRevision, masterData) {
            problems.append(Problem(field: "bomRevision", failure: failure))
        }
        if case .failure(let failure) = ReleaseCheck.routing(itemId: request.itemId, plant: request.plant, masterData) {
            problems.append(Problem(field: "plant", failure: failure))
        }
        // An inactive item still says which units it counts in; an unknown one cannot.
        if let item = masterData.item(request.itemId), case .failure(let failure) = ReleaseCheck.baseQuantity(of: item, per: request.uom) {
            problems.append(Problem(field: "uom", failure: failure))
        }
        return problems
    }
}
