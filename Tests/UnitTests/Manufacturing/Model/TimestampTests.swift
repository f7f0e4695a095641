import Manufacturing
import Testing

@Suite("RFC 3339 timestamps")
struct TimestampTests {
    @Test("parse and format round trip, to the millisecond, in UTC")
    func roundTrip() throws {
        for text in [
            "1970-01-01T00:00:00.000Z", "2026-11-27T08:15:00.318Z", "2024-02-29T23:59:59.999Z", "2000-03-01T00:00:00.000Z", "1969-12-31T23:59:59.999Z",
        ] {
            #expect(try Timestamp(rfc3339: text).rfc3339 == text)
        }
        #expect(try Timestamp(rfc3339: "1970-01-01T00:00:01Z").milliseconds == 1000)
        #expect(try Timestamp(rfc3339: "2026-11-27T08:15:00.123456789Z").rfc3339 == "2026-11-27T08:15:00.123Z", "fractions are truncated to ms")
        #expect(try Timestamp(rfc3339: "2026-11-27T08:15:00Z").milliseconds == 1_795_767_300_000)
    }

    @Test("what is not an RFC 3339 UTC timestamp is refused with the reason")
    func refusals() {
        #expect(throws: Timestamp.ParseError.notUTC) { try Timestamp(rfc3339: "2026-11-27T08:15:00+01:00") }
        #expect(throws: Timestamp.ParseError.notRFC3339) { try Timestamp(rfc3339: "2026-11-27T08:15:00") }
        #expect(throws: Timestamp.ParseError.notRFC3339) { try Timestamp(rfc3339: "27.11.2026 08:15") }
        #expect(throws: Timestamp.ParseError.notRFC3339) { try Timestamp(rfc3339: "2026-11-27T08:15:00.Z") }
        #expect(throws: Timestamp.ParseError.outOfRange("month 13")) { try Timestamp(rfc3339: "2026-13-01T00:00:00Z") }
        #expect(throws: Timestamp.ParseError.outOfRange("day 29")) { try Timestamp(rfc3339: "2026-02-29T00:00:00Z") }
        #expect(throws: Timestamp.ParseError.outOfRange("time of day")) { try Timestamp(rfc3339: "2026-02-28T24:00:00Z") }
    }
}
