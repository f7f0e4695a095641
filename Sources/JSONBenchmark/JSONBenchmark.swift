import ArgumentParser
import BenchmarkSupport
import Foundation
import JSON
import Manufacturing

/// Times the JSON parser on one object of many members, and an item's unit conversions read
/// with the model's reader, against a baseline measured in the same run: an array of the same
/// number of values (no member names, so no duplicate check). Linear parsing keeps the time per
/// member flat as the object grows and near the array's; a quadratic duplicate check or lookup
/// makes it grow with the size. Asserts nothing: the figures are for people.
@main
struct JSONBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "JSONBenchmark", abstract: "Wide JSON objects: parser and FieldReader time per member at growing sizes.")

    @Option(help: "Object sizes (members), comma-separated.") var members: String = "10000,100000,1000000"
    @Option(help: "Runs per size; the fastest counts.") var runs: Int = 3

    func run() throws {
        let sizes = members.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        print("  members  array ns/value  object ns/member  item ns/unit  item total")
        for size in sizes {
            let array = Array(("[" + (0..<size).map { _ in "1.5" }.joined(separator: ",") + "]").utf8)
            let object = Array(("{" + (0..<size).map { "\"U\($0)\":1.5" }.joined(separator: ",") + "}").utf8)
            let item = Array(Self.item(units: size).utf8)
            let arrayTime = try fastest { _ = try JSONParser.parse(array) }
            let objectTime = try fastest { _ = try JSONParser.parse(object) }
            let itemTime = try fastest {
                guard case .success(let envelope) = EventDecoder.decode(item, as: Item.self), envelope.data.uomConversions.count == size else {
                    throw BenchmarkError("the item with \(size) units did not decode")
                }
            }
            print(
                String(
                    format: "%9d  %13.0f  %16.0f  %12.0f  %8.2f s", size, perMember(arrayTime, size), perMember(objectTime, size),
                    perMember(itemTime, size), itemTime.seconds))
        }
        print("peak RSS \(BenchmarkSupport.peakRSSMegabytes().map { "\($0) MB" } ?? "n/a")")
    }

    /// An mdm.item envelope whose uomConversions has `units` members.
    static func item(units: Int) -> String {
        let conversions = (0..<units).map { "\"U\($0)\":\($0 % 9 + 1)" }.joined(separator: ",")
        return """
            {"schema":"mdm.item","schemaVersion":1,"eventId":"e","correlationId":"c","occurredAt":"2026-12-01T00:00:00Z",\
            "source":{"system":"ERP"},"data":{"itemId":"WIDE","description":"many units","baseUom":"EA",\
            "uomConversions":{\(conversions)},"status":"ACTIVE"}}
            """
    }

    func fastest(_ body: () throws -> Void) throws -> Duration {
        var best = Duration.seconds(1_000_000)
        for _ in 0..<max(1, runs) {
            let start = ContinuousClock.now
            try body()
            best = min(best, ContinuousClock.now - start)
        }
        return best
    }

    func perMember(_ duration: Duration, _ count: Int) -> Double { duration.seconds * 1e9 / Double(count) }
}
