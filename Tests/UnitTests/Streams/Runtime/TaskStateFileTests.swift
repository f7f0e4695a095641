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

    @Test(
        "a task state file SQLite cannot read is moved aside and a new, empty one is made that takes batches again; a healthy file is kept"
    )
    func unreadableFileMovedAside() throws {
        let directory = Self.directory()
        let folder = URL(fileURLWithPath: directory).appendingPathComponent("p")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appendingPathComponent("task-2.sqlite").path
        try Data(String(repeating: "not a database, a disk that lied. ", count: 200).utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: (any Error).self, "opened as it was, it fails") { _ = try TaskStateFile(directory: directory, processor: "p", partition: 2).meta() }

        let (file, movedTo) = try TaskStateFile.openMovingAsideIfUnreadable(directory: directory, processor: "p", partition: 2, changelogTopic: "c")
        let aside = try #require(movedTo)
        #expect(aside.hasPrefix(path + ".corrupt-"))
        #expect(FileManager.default.fileExists(atPath: aside), "kept for a look")
        #expect(try file.load().changelogOffset == 0 && file.isEmpty(), "empty: the changelog fills it again")
        try file.apply(changes: [("s", "k", [1])], streamTime: 5, positions: ["in": 1], changelogOffset: 3)
        try file.flush()

        let (again, none) = try TaskStateFile.openMovingAsideIfUnreadable(directory: directory, processor: "p", partition: 2, changelogTopic: "c")
        #expect(none == nil, "a healthy file is kept")
        #expect(try again.load().changelogOffset == 3 && again.load().entries.map(\.key) == ["k"])
        let asideFiles = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.contains(".corrupt-") }
        #expect(asideFiles.count == 1, "moved once: \(asideFiles)")
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

@Suite("Restore plan: where a task's restore starts")
struct RestorePlanTests {
    @Test(
        "the local file's offset when the log has it; from 0 without one; a file ahead of the log is dropped; a log that starts past the needed offset is a gap, read from its start"
    )
    func plans() {
        #expect(RestorePlan(localOffset: 0, low: 0, high: 0) == RestorePlan(discardLocal: false, start: 0, gap: nil))
        #expect(RestorePlan(localOffset: 0, low: 0, high: 500) == RestorePlan(discardLocal: false, start: 0, gap: nil))
        #expect(RestorePlan(localOffset: 120, low: 0, high: 500) == RestorePlan(discardLocal: false, start: 120, gap: nil))
        #expect(RestorePlan(localOffset: 500, low: 300, high: 500) == RestorePlan(discardLocal: false, start: 500, gap: nil), "current to the end")
        #expect(RestorePlan(localOffset: 300, low: 300, high: 500) == RestorePlan(discardLocal: false, start: 300, gap: nil), "exactly at the start")
        #expect(RestorePlan(localOffset: 900, low: 0, high: 500) == RestorePlan(discardLocal: true, start: 0, gap: nil), "a new cluster")
        // History deleted by retention.
        #expect(
            RestorePlan(localOffset: 0, low: 5_210, high: 9_000)
                == RestorePlan(discardLocal: false, start: 5_210, gap: StateGap(needed: 0, logStart: 5_210)))
        #expect(
            RestorePlan(localOffset: 1_200, low: 5_210, high: 9_000)
                == RestorePlan(discardLocal: false, start: 5_210, gap: StateGap(needed: 1_200, logStart: 5_210)))
        #expect(StateGap(needed: 1_200, logStart: 5_210).missing == 4_010)
        // Everything deleted: the log is empty but starts past the file.
        #expect(RestorePlan(localOffset: 10, low: 40, high: 40).gap == StateGap(needed: 10, logStart: 40))
        // A dropped file ahead of a log that also lost its start: a gap from 0.
        #expect(
            RestorePlan(localOffset: 900, low: 200, high: 500) == RestorePlan(discardLocal: true, start: 200, gap: StateGap(needed: 0, logStart: 200)))
    }
}

@Suite("Task state files: the changelog topic and streaming")
struct TaskStateFileTopicTests {
    @Test("a file records the changelog topic it is current to, and streams its entries without loading them all; a file without a topic has none")
    func topicAndEntries() throws {
        let directory = TaskStateFileTests.directory()
        let file = try TaskStateFile(directory: directory, processor: "p", partition: 1, interval: .zero, changelogTopic: "millwright.g.p.changelog.v1")
        try file.apply(changes: (0..<50).map { ("s", "k\($0)", [UInt8($0)]) }, streamTime: 3, positions: ["in": 9], changelogOffset: 51)
        let meta = try TaskStateFile(directory: directory, processor: "p", partition: 1).meta()
        #expect(meta.changelogTopic == "millwright.g.p.changelog.v1" && meta.changelogOffset == 51 && meta.entries.isEmpty)
        var seen: [String: [UInt8]] = [:]
        try file.forEachEntry { _, key, value in seen[key] = value }
        #expect(seen.count == 50 && seen["k7"] == [7])
        #expect(try !file.isEmpty())

        let old = try TaskStateFile(directory: TaskStateFileTests.directory(), processor: "p", partition: 1, interval: .zero)
        try old.apply(changes: [("s", "a", [1])], streamTime: 1, positions: [:], changelogOffset: 2)
        #expect(try old.meta().changelogTopic == nil, "as a file of an earlier version: no topic")
    }
}
