import Dispatch
import Foundation
import Synchronization

/// Waits for SIGINT or SIGTERM.
enum Signals {
    /// Set once a signal came.
    final class Flag: Sendable {
        private let value = Atomic<Bool>(false)
        func set() { value.store(true, ordering: .releasing) }
        var isSet: Bool { value.load(ordering: .acquiring) }
    }

    static func waitForTermination() async -> Int32 {
        await withCheckedContinuation { continuation in
            let queue = DispatchQueue(label: "millwright.signals")
            let fired = SignalBox(continuation)
            for number in [SIGINT, SIGTERM] {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
                source.setEventHandler { fired.fire(number) }
                source.resume()
                fired.keep(source)
            }
        }
    }
}

/// Resumes once, whichever signal comes first; keeps the signal sources alive.
private final class SignalBox: @unchecked Sendable {
    // @unchecked: only touched on the signal queue after setup, which happens before any signal.
    private var continuation: CheckedContinuation<Int32, Never>?
    private var sources: [any DispatchSourceSignal] = []

    init(_ continuation: CheckedContinuation<Int32, Never>) { self.continuation = continuation }

    func keep(_ source: any DispatchSourceSignal) { sources.append(source) }

    func fire(_ number: Int32) {
        continuation?.resume(returning: number)
        continuation = nil
    }
}
