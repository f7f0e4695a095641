import Testing

@testable import Streams

@Suite("Changelog records as tools read them")
struct ChangelogRecordTests {
    @Test("positions, commit markers, abort notes and changes are told apart; anything else is nil")
    func kinds() {
        let positions = ChangelogFormat.encodePositions(streamTime: 5, positions: ["a": 7, "b": 0])
        #expect(ChangelogRecord(key: Array(ChangelogFormat.positionsKey.utf8), value: positions) == .positions(["a": 7, "b": 0]))
        #expect(ChangelogRecord(key: Array(ChangelogFormat.commitKey.utf8), value: Array("i:3".utf8)) == .commit(batch: "i:3"))
        #expect(ChangelogRecord(key: Array(ChangelogFormat.abortKey.utf8), value: Array("i:2".utf8)) == .abort(batch: "i:2"))
        #expect(ChangelogRecord(key: Array(ChangelogFormat.storeKey(store: "s", key: "k").utf8), value: nil) == .change)
        #expect(ChangelogRecord(key: Array("plain".utf8), value: []) == nil)
        #expect(ChangelogRecord(key: Array(ChangelogFormat.positionsKey.utf8), value: Array("not json".utf8)) == nil)
    }
}
