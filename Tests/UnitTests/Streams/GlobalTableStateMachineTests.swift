import Testing

@testable import Streams

@Suite("Global table state machine and catch-up (no I/O)")
struct GlobalTableStateMachineTests {
    typealias Machine = GlobalTableStateMachine<String>
    static let p0 = TopicPartition(topic: "t", partition: 0)
    static let p1 = TopicPartition(topic: "t", partition: 1)
    static let empty = TopicPartition(topic: "empty", partition: 0)

    @Test("a partition is caught up at its start watermark or at its end; one added later never holds back")
    func catchUpRules() {
        var catchUp = GlobalTableCatchUp(targets: [Self.p0: 10, Self.p1: 5, Self.empty: 0], positions: [Self.p1: 2])
        #expect(!catchUp.isCaughtUp)
        #expect(catchUp.lagDescription == "t[0] at start of 10, t[1] at 2 of 5", "an empty partition is caught up from the start")
        catchUp.advance(Self.p0, to: 9)
        #expect(catchUp.lagDescription == "t[0] at 9 of 10, t[1] at 2 of 5")
        catchUp.advance(Self.p0, to: 10)
        #expect(!catchUp.isCaughtUp)
        catchUp.advance(TopicPartition(topic: "later", partition: 0), to: 1)
        catchUp.reachedEnd(Self.p1)
        #expect(catchUp.isCaughtUp, "end of partition counts even below the watermark (transaction markers)")
        catchUp.advance(Self.p1, to: 3)
        #expect(catchUp.isCaughtUp, "once caught up, a partition stays caught up")
    }

    @Test("stored positions at or past the watermark are caught up from the start")
    func storedPositionsCount() {
        let catchUp = GlobalTableCatchUp(targets: [Self.p0: 10, Self.p1: 5], positions: [Self.p0: 10, Self.p1: 7])
        #expect(catchUp.isCaughtUp)
    }

    @Test("catch-up waiters resume once, when the last partition arrives; later waiters answer at once")
    func catchUpWaiters() throws {
        var machine = Machine()
        try machine.start()
        let early = machine.issueWaiterID()
        #expect(machine.wait(.catchUp, id: early, "early") == nil)
        #expect(machine.assigned(GlobalTableCatchUp(targets: [Self.p0: 3], positions: [:])) == nil)
        #expect(!machine.isCaughtUp)
        #expect(machine.applied(positions: [Self.p0: 2], ends: []) == nil)
        let transition = machine.applied(positions: [Self.p0: 3], ends: [])
        let resumed = try #require(transition)
        #expect(resumed.waiters == ["early"])
        #expect(machine.isCaughtUp)
        #expect(machine.applied(positions: [Self.p0: 4], ends: []) == nil, "no second resumption")
        let late = machine.issueWaiterID()
        #expect(try machine.wait(.catchUp, id: late, "late")?.get() != nil)
    }

    @Test("assigned with nothing behind (empty topics) is caught up at once")
    func emptyTopicsCaughtUpAtAssignment() throws {
        var machine = Machine()
        try machine.start()
        let id = machine.issueWaiterID()
        #expect(machine.wait(.catchUp, id: id, "w") == nil)
        let transition = machine.assigned(GlobalTableCatchUp(targets: [Self.empty: 0], positions: [:]))
        let resumed = try #require(transition)
        #expect(resumed.waiters == ["w"])
        #expect(machine.isCaughtUp)
    }

    @Test("a failure fails catch-up and finish waiters with the error and is kept; isCaughtUp turns false")
    func failureReachesWaiters() throws {
        var machine = Machine()
        try machine.start()
        _ = machine.assigned(GlobalTableCatchUp(targets: [Self.p0: 0], positions: [:]))
        #expect(machine.isCaughtUp)
        let finish = machine.issueWaiterID()
        #expect(machine.wait(.finish, id: finish, "finish") == nil)
        let error = GlobalTableError(code: .sink, reason: "disk full")
        let resumptions = machine.finished(error)
        #expect(resumptions.count == 1)
        #expect(resumptions.first?.waiters == ["finish"])
        #expect(throws: GlobalTableError.self) { try resumptions.first?.result.get() }
        #expect(machine.failure?.reason == "disk full")
        #expect(!machine.isCaughtUp)
        let after = machine.issueWaiterID()
        #expect(throws: GlobalTableError.self) { try machine.wait(.catchUp, id: after, "after")?.get() }
        #expect(machine.finished(nil).isEmpty, "finishing twice does nothing")
    }

    @Test("stop before start finishes at once; start after stop is refused")
    func stopBeforeStart() throws {
        var machine = Machine()
        let id = machine.issueWaiterID()
        #expect(machine.wait(.catchUp, id: id, "w") == nil)
        guard case .finishedBeforeStart(let resumptions) = machine.requestStop() else {
            Issue.record("expected finishedBeforeStart")
            return
        }
        #expect(resumptions.first?.waiters == ["w"])
        let error = #expect(throws: GlobalTableError.self) { try resumptions.first?.result.get() }
        #expect(error?.code == .stopped)
        let restart = #expect(throws: GlobalTableError.self) { try machine.start() }
        #expect(restart?.code == .invalidState)
        guard case .none = machine.requestStop() else {
            Issue.record("a second stop must do nothing")
            return
        }
    }

    @Test("a running loader is stopped through its thread; a clean finish resolves finish waiters")
    func stopWhileRunning() throws {
        var machine = Machine()
        try machine.start()
        let second = #expect(throws: GlobalTableError.self) { try machine.start() }
        #expect(second?.code == .invalidState)
        guard case .stopPollingThread = machine.requestStop() else {
            Issue.record("expected stopPollingThread")
            return
        }
        let finish = machine.issueWaiterID()
        #expect(machine.wait(.finish, id: finish, "f") == nil)
        let resumptions = machine.finished(nil)
        #expect(resumptions.first?.waiters == ["f"])
        #expect(throws: Never.self) { try resumptions.first?.result.get() }
    }

    @Test("a wait that expires before it is registered answers with the expiry; after it, expiry is ignored")
    func expiryRaces() throws {
        var machine = Machine()
        try machine.start()
        let id = machine.issueWaiterID()
        #expect(machine.expire(id, with: GlobalTableError(code: .timedOut, reason: "early")) == nil)
        let early = #expect(throws: GlobalTableError.self) { try machine.wait(.catchUp, id: id, "w")?.get() }
        #expect(early?.code == .timedOut)

        let registered = machine.issueWaiterID()
        #expect(machine.wait(.catchUp, id: registered, "r") == nil)
        #expect(machine.expire(registered, with: GlobalTableError(code: .cancelled, reason: "c")) == "r")
        #expect(machine.expire(registered, with: GlobalTableError(code: .cancelled, reason: "c")) == nil)
        _ = machine.assigned(GlobalTableCatchUp(targets: [:], positions: [:]))
        #expect(machine.lagDescription == "caught up")
    }
}
