import Streams
import Testing

@Suite("Tumbling event-time windows with grace, and the timer schedule processors punctuate with")
struct WindowsTests {
    let minute: Int64 = 60_000

    @Test("a window is [start, start + size), aligned to the epoch; negative times round down; it closes at end + grace, inclusive")
    func tumbling() {
        let windows = TumblingWindows(size: 15 * minute, grace: 2 * minute)
        #expect(windows.start(of: 0) == 0)
        #expect(windows.start(of: 15 * minute - 1) == 0)
        #expect(windows.start(of: 15 * minute) == 15 * minute)
        #expect(windows.start(of: -1) == -15 * minute)
        #expect(windows.start(of: -15 * minute) == -15 * minute)
        #expect(windows.closesAt(windowStart: 15 * minute) == 32 * minute)
        #expect(!windows.isClosed(windowStart: 15 * minute, streamTime: 32 * minute - 1))
        #expect(windows.isClosed(windowStart: 15 * minute, streamTime: 32 * minute))
        #expect(TumblingWindows(size: minute, grace: 0).isClosed(windowStart: 0, streamTime: minute), "no grace: closed at its end")
    }

    @Test("keys come due in time order, inclusive or strictly before; what was taken is gone; the earliest time follows")
    func schedule() {
        var timers = TimerSchedule<String>()
        #expect(timers.next == .max && !timers.isDue(at: .max - 1))
        timers.schedule("b", at: 20)
        timers.schedule("a", at: 10)
        timers.schedule("c", at: 10)
        timers.schedule("d", at: 30)
        #expect(timers.next == 10 && timers.count == 4)
        #expect(!timers.isDue(at: 10, inclusive: false) && timers.isDue(at: 10))
        #expect(timers.takeDue(at: 10, inclusive: false).isEmpty)
        let due = timers.takeDue(at: 20)
        #expect(due.map(\.time) == [10, 20])
        #expect(due.first?.keys == ["a", "c"] && due.last?.keys == ["b"])
        #expect(timers.next == 30 && timers.count == 1)
        #expect(timers.takeDue(at: 20).isEmpty, "taken once")
    }

    @Test(
        "a keyed schedule holds one time per key: scheduling again moves the key, the old time never brings it; taken keys are gone and may be scheduled again")
    func keyedSchedule() {
        var timers = KeyedTimerSchedule<String>()
        timers.schedule("wo", at: 100)  // released: retires when idle
        timers.schedule("wo", at: 30)  // completed: retires earlier
        timers.schedule("other", at: 50)
        timers.schedule("other", at: 50)
        #expect(timers.count == 2 && timers.time(of: "wo") == 30)
        #expect(timers.takeDue(at: 40).map(\.keys) == [["wo"]])
        #expect(timers.count == 1 && timers.time(of: "wo") == nil)
        timers.schedule("wo", at: 60)  // looked at and moved later
        #expect(timers.takeDue(at: 99).flatMap(\.keys) == ["other", "wo"])
        #expect(timers.takeDue(at: 1_000).isEmpty, "the first time of wo (100) was cancelled when it moved")
        timers.schedule("gone", at: 5)
        timers.cancel("gone")
        #expect(timers.count == 0 && timers.takeDue(at: 1_000).isEmpty)
    }

    @Test(
        "a keyed schedule against a plain model over 20,000 random schedules, moves, cancels and takes: each key at its one time, due keys taken earliest first, next the earliest time"
    )
    func keyedScheduleAgainstModel() {
        var timers = KeyedTimerSchedule<Int>()
        var model: [Int: Int64] = [:]
        var random = SystemRandomNumberGenerator()
        var clock: Int64 = 0
        for _ in 0..<20_000 {
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<6:
                let time = clock + Int64.random(in: 0..<50, using: &random)
                let key = Int.random(in: 0..<200, using: &random)
                timers.schedule(key, at: time)
                model[key] = time
            case 6..<8:
                let key = model.keys.randomElement(using: &random) ?? -1  // -1: cancelling what is not scheduled
                timers.cancel(key)
                model[key] = nil
            default:
                clock += Int64.random(in: 0..<10, using: &random)
                let inclusive = Bool.random(using: &random)
                let due = timers.takeDue(at: clock, inclusive: inclusive)
                let expected = Dictionary(grouping: model.filter { inclusive ? $0.value <= clock : $0.value < clock }, by: \.value)
                #expect(due.map(\.time) == expected.keys.sorted())
                #expect(due.map(\.keys) == expected.keys.sorted().map { Set(expected[$0]!.map(\.key)) })
                for (key, time) in model where inclusive ? time <= clock : time < clock { model[key] = nil }
            }
            #expect(timers.count == model.count)
            #expect(timers.next == (model.values.min() ?? .max))
            if let key = model.keys.first { #expect(timers.time(of: key) == model[key]) }
        }
    }

    @Test("a cancelled key does not come due; the same key may wait at several times")
    func cancel() {
        var timers = TimerSchedule<String>()
        timers.schedule("wo", at: 10)
        timers.schedule("wo", at: 20)
        timers.schedule("other", at: 20)
        timers.cancel("wo", at: 10)
        timers.cancel("missing", at: 10)
        #expect(timers.count == 2)
        let due = timers.takeDue(at: 25)
        #expect(due.map(\.time) == [20] && due.first?.keys == ["wo", "other"])
        #expect(timers.next == .max && timers.count == 0)
    }

    @Test(
        "against a plain model over 20,000 random schedules, cancels and takes (times reused after a cancel among them): the same keys come due at the same times, earliest first, and after a take next is the earliest time with keys"
    )
    func scheduleAgainstModel() {
        var timers = TimerSchedule<Int>()
        var model: [Int64: Set<Int>] = [:]
        var random = SystemRandomNumberGenerator()
        var clock: Int64 = 0
        for _ in 0..<20_000 {
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<6:
                let time = clock + Int64.random(in: 0..<50, using: &random)
                let key = Int.random(in: 0..<40, using: &random)
                timers.schedule(key, at: time)
                model[time, default: []].insert(key)
            case 6..<8:
                guard let time = model.keys.randomElement(using: &random), let key = model[time]?.randomElement(using: &random) else { continue }
                timers.cancel(key, at: time)
                model[time]?.remove(key)
                if model[time]?.isEmpty == true { model[time] = nil }
            default:
                clock += Int64.random(in: 0..<10, using: &random)
                let inclusive = Bool.random(using: &random)
                let looked = timers.isDue(at: clock, inclusive: inclusive)
                let due = timers.takeDue(at: clock, inclusive: inclusive)
                let expected = model.keys.filter { inclusive ? $0 <= clock : $0 < clock }.sorted()
                #expect(due.map(\.time) == expected)
                #expect(due.map(\.keys) == expected.map { model[$0] ?? [] })
                for time in expected { model[time] = nil }
                if looked { #expect(timers.next == (model.keys.min() ?? .max), "after a take, the earliest time with keys") }
            }
            #expect(timers.count == model.values.reduce(0) { $0 + $1.count })
            #expect(timers.next <= (model.keys.min() ?? .max), "next is never later than the earliest time with keys")
        }
    }
}
