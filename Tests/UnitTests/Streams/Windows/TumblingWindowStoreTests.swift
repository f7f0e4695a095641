import Streams
import Testing

@Suite("The tumbling window store: events into open windows or late, windows closed by stream time")
struct TumblingWindowStoreTests {
    let minute: Int64 = 60_000

    func store() -> TumblingWindowStore<String, Int> { TumblingWindowStore(TumblingWindows(size: 15 * minute, grace: 5 * minute)) }

    @Test("an event goes into the window of its event time while stream time is before that window's end plus grace, and is late from then on")
    func placement() {
        let windows = store()
        #expect(windows.placement(of: 14 * minute, streamTime: 19 * minute) == .open(windowStart: 0))
        #expect(windows.placement(of: 14 * minute, streamTime: 20 * minute - 1) == .open(windowStart: 0))
        #expect(windows.placement(of: 14 * minute, streamTime: 20 * minute) == .late(windowStart: 0))
        #expect(windows.placement(of: 15 * minute, streamTime: 20 * minute) == .open(windowStart: 15 * minute))
    }

    @Test("updates aggregate in place; a window opens once; closing takes exactly the windows stream time closed, per key in start order, and removes them")
    func aggregateAndClose() {
        var windows = store()
        windows.update("a", windowStart: 15 * minute, empty: 0) { $0 += 2 }
        windows.update("a", windowStart: 0, empty: 0) { $0 += 1 }
        windows.update("a", windowStart: 0, empty: 0) { $0 += 10 }
        windows.update("b", windowStart: 0, empty: 100) { $0 += 1 }
        #expect(windows.count == 3)
        #expect(windows.windows(of: "a") == [0: 11, 15 * minute: 2])
        #expect(!windows.isDue(at: 20 * minute - 1))
        #expect(windows.takeClosed(at: 20 * minute - 1).isEmpty)
        #expect(windows.isDue(at: 20 * minute))
        let closed = windows.takeClosed(at: 35 * minute).sorted { $0.key < $1.key }
        #expect(closed.map(\.key) == ["a", "b"])
        #expect(closed[0].windows.map(\.start) == [0, 15 * minute] && closed[0].windows.map(\.aggregate) == [11, 2])
        #expect(closed[1].windows.map(\.aggregate) == [101], "opened with the given empty aggregate")
        #expect(windows.count == 0 && !windows.hasOpenWindows("a") && windows.windows(of: "b").isEmpty)
        #expect(windows.takeClosed(at: 60 * minute).isEmpty, "nothing closes twice")
    }

    @Test("a window not closed yet stays open when another window of the same key closes")
    func partialClose() {
        var windows = store()
        windows.update("a", windowStart: 0, empty: 0) { $0 += 1 }
        windows.update("a", windowStart: 15 * minute, empty: 0) { $0 += 2 }
        let closed = windows.takeClosed(at: 20 * minute)
        #expect(closed.count == 1 && closed[0].windows.map(\.start) == [0])
        #expect(windows.windows(of: "a") == [15 * minute: 2] && windows.count == 1)
        #expect(windows.takeClosed(at: 35 * minute).first?.windows.map(\.aggregate) == [2])
    }

    @Test("restored windows (read back from a store) close as if they had never left; a restore replaces what the key had open")
    func restore() {
        var windows = store()
        windows.update("a", windowStart: 0, empty: 0) { $0 += 1 }
        windows.restore("a", windows: [15 * minute: 7])
        #expect(windows.count == 1)
        #expect(windows.takeClosed(at: 20 * minute).isEmpty, "the replaced window's close was cancelled")
        #expect(windows.takeClosed(at: 35 * minute).first?.windows.map(\.aggregate) == [7])
        windows.restore("b", windows: [:])
        #expect(!windows.hasOpenWindows("b") && windows.count == 0)
    }
}
