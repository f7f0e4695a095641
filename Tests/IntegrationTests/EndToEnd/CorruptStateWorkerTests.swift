import Foundation
import Kafka
import Manufacturing
import Ops
import Streams
import TestSupport
import Testing

@Suite("A worker process whose task state files are damaged", .serialized)
struct CorruptStateWorkerTests {
    @Test(
        "task state files overwritten with garbage while the worker was stopped are moved aside with a warning and rebuilt from the changelog: the worker gets ready, posts nothing again, and writes new files"
    )
    func corruptTaskStateFilesRebuilt() async throws {
        let (e2e, _, events) = try await ReplayTests.loadedCluster()
        let first = try e2e.worker("w")
        defer { first.kill() }
        var before: [ProductionConfirmation] = []
        let posted = try await e2e.eventually(timeout: .seconds(120)) {
            before = try await ReplayTests().postings(e2e)
            return before.reduce(0) { $0 + $1.eventCount } == events
        }
        #expect(posted, "every event posted: \(before.reduce(0) { $0 + $1.eventCount }) of \(events)\n\(first.output.suffix(3000))")
        first.terminate()
        #expect(first.process.terminationStatus == 0)

        // A disk that lied: every confirmation task file is garbage now.
        let folder = "\(e2e.root)/w/confirmation"
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".sqlite") }
        #expect(!files.isEmpty, "the worker wrote its task state files")
        for file in files {
            for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: "\(folder)/\(file)\(suffix)") }
            try Data(String(repeating: "not a database, a disk that lied. ", count: 200).utf8).write(to: URL(fileURLWithPath: "\(folder)/\(file)"))
        }

        let second = try WorkerProcess(bootstrap: e2e.bootstrap, group: e2e.group, stateDirectory: "\(e2e.root)/w", name: "second")
        defer { second.kill() }
        #expect(try await e2e.eventually(timeout: .seconds(120)) { (try? await second.get("/readyz").status) == 200 }, "\(second.output.suffix(3000))")
        #expect(second.output.contains("local task state unreadable; moved aside and rebuilt from the changelog"), "\(second.output.suffix(3000))")
        let aside = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.contains(".sqlite.corrupt-") }
        #expect(aside.count >= files.count, "each damaged file kept for a look: \(aside)")
        try await Task.sleep(for: .seconds(5))  // the idle advance and a few commits
        let after = try await ReplayTests().postings(e2e)
        #expect(after.count == before.count && Set(after.map(\.postingId)).count == after.count, "restored from the changelog: nothing posted again")
        second.terminate()
        #expect(second.process.terminationStatus == 0)
        for file in files {
            let header = try Data(contentsOf: URL(fileURLWithPath: "\(folder)/\(file)")).prefix(16)
            #expect(header == Data("SQLite format 3\0".utf8), "\(file) is a database again")
        }
    }
}
