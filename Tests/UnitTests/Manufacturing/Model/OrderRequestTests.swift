import Manufacturing
import TestSupport
import Testing

@Suite("Order requests: every broken rule at once, the normalised request, every failing master-data check")
struct OrderRequestTests {
    static let body = #"""
        {"orderId":" 4500099001 ","orderLine":10,"customerId":"C-10077","customerName":"Hofmann","itemId":"GB-200",
         "quantity":12,"uom":"box","plant":"p100","bomRevision":"B","dueDate":"2026-12-11T15:00:00.000Z","extra":1}
        """#

    @Test("A valid request is normalised (trimmed, codes upper-cased) and writes the JSON of the order line ERP approves")
    func normalised() throws {
        guard case .valid(let request) = OrderRequest.validate(body: Array(Self.body.utf8)) else {
            Issue.record("refused")
            return
        }
        #expect(request.orderId == "4500099001" && request.uom == "BOX" && request.plant == "P100" && request.priority == nil)
        #expect(request.json == request.approval.json)
        #expect(OrderRequestCheck.problems(request, against: try Examples.masterData()).isEmpty)
    }

    @Test("Every broken rule is reported with its field, not only the first")
    func everyProblem() {
        let body =
            #"{"orderId":"","orderLine":0,"customerId":7,"customerName":"x","itemId":"GB-200","quantity":0,"uom":"EA","plant":"P 1","bomRevision":"B","dueDate":"tomorrow","priority":"SOON"}"#
        guard case .invalid(let problems) = OrderRequest.validate(body: Array(body.utf8)) else {
            Issue.record("accepted")
            return
        }
        #expect(problems.map(\.field) == ["orderId", "orderLine", "customerId", "quantity", "plant", "dueDate", "priority"])
        #expect(problems.allSatisfy { $0.reason == .invalidField && !$0.rule.isEmpty })
        guard case .invalid(let notJSON) = OrderRequest.validate(body: Array("[]".utf8)) else { return }
        #expect(notJSON.map(\.reason) == [.malformedJSON])
    }

    @Test("Master data: every failing check in the contract's order, each with the request field it is about")
    func masterData() throws {
        guard case .valid(var request) = OrderRequest.validate(body: Array(Self.body.utf8)) else { return }
        request.plant = "P999"
        request.bomRevision = "Z"
        request.uom = "KG"
        let problems = OrderRequestCheck.problems(request, against: try Examples.masterData())
        #expect(problems.map(\.field) == ["plant", "bomRevision", "plant", "uom"])
        #expect(problems.map(\.failure.reason) == [.unknownPlant, .unknownBomRevision, .noRouting, .uomNotConvertible])
        request.itemId = "NOPE-1"
        #expect(OrderRequestCheck.problems(request, against: try Examples.masterData()).map(\.failure.reason).contains(.unknownItem))
    }
}
