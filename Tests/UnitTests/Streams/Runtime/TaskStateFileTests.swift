import Foundation
import Testing

@testable import Streams

@Suite("Task state files")
struct TaskStateFileTests {
    static func directory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("taskstate-\(UUID().uuidString.prefix(8))").path
    }

    @Test(
        "committed batches are staged and written together at the interval, last value per key; the file always holds exactly the state as of its changelog offset"
    )
    func stagedUntilInterval() throws {
        let directory = Self.directory()
        let file = try TaskStateFile(directory: directory, processor: "p", partition: 3, interval: .seconds(3600))
        try file.apply(changes: [("s", "a", [1]), ("s", "b", [2])], streamTime: 10, positions: ["in": 5], changelogOffset: 7)
        try file.apply(changes: [("s", "a", [3]), ("s", "b", nil), ("t", "c", [4])], streamTime: 20, positions: ["other": 2], changelogOffset: 12)
        // Another reader of the same file (a restart) sees nothing yet: the interval has not passed.
        let before = try TaskStateFile(directory: directory, processor: "p", partition: 3).load()
        #expect(before.entries.isEmpty)
        #expect(before.changelogOffset == 0, "an unwritten file restores everything from the changelog")

        try file.flush()
        let after = try TaskStateFile(directory: directory, processor: "p", partition: 3).load()
        let entries = Dictionary(uniqueKeysWithValues: after.entries.map { ("\($0.store)/\($0.key)", $0.value) })
        #expect(entries == ["s/a": [3], "t/c": [4]], "last value per key; the deleted key is gone")
        #expect(after.changelogOffset == 12)
        #expect(after.streamTime == 20)
        #expect(after.positions == ["in": 5, "other": 2])

        try file.flush()  // nothing staged: nothing changes
        #expect(try TaskStateFile(directory: directory, processor: "p", partition: 3).load().changelogOffset == 12)
    }

    @Test("with a zero interval every committed batch is written at once")
    func zeroIntervalWritesEachBatch() throws {
        let directory = Self.directory()
        let file = try TaskStateFile(directory: directory, processor: "p", partition: 0, interval: .zero)
        try file.apply(changes: [("s", "a", [1])], streamTime: 1, positions: ["in": 1], changelogOffset: 2)
        let read = try TaskStateFile(directory: directory, processor: "p", partition: 0).load()
        #expect(read.entries.map(\.value) == [[1]])
        #expect(read.changelogOffset == 2)
    }
}
