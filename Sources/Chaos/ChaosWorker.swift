import Foundation
import Synchronization

/// A `millwright run` child process of the chaos run: started, killed with SIGKILL, stopped with
/// SIGTERM, started again on the same state directory.
final class ChaosWorker: Sendable {
    let name: String
    let executable: URL
    let arguments: [String]
    let environment: [String: String]
    let directory: URL
    private let state = Mutex<(process: Process?, starts: Int)>((nil, 0))
    var process: Process? { state.withLock { $0.process } }
    var starts: Int { state.withLock { $0.starts } }

    init(name: String, executable: URL, bootstrap: String, group: String, root: URL, environment: [String: String], logLevel: String = "info") {
        self.name = name
        self.executable = executable
        directory = root.appendingPathComponent(name)
        arguments = ["run", "--bootstrap-servers", bootstrap, "--group", group, "--state-dir", directory.path, "--http-port", "0", "--log-level", logLevel]
        self.environment = environment
    }

    var isRunning: Bool { process?.isRunning ?? false }

    /// Starts the process; its output goes to `<name>-<n>.log` in its state directory.
    func start() throws {
        guard !isRunning else { return }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let start = state.withLock {
            $0.starts += 1
            return $0.starts
        }
        let log = directory.appendingPathComponent("\(name)-\(start).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = directory
        // Only the run's own MILLWRIGHT_* settings: the worker refuses unknown ones.
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MILLWRIGHT_") }
        environment.merge(self.environment) { $1 }
        process.environment = environment
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        state.withLock { $0.process = process }
    }

    /// Resident memory of the running process, MB (from /proc), or nil.
    var residentMB: Int? {
        guard let process, process.isRunning,
            let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return nil }
        return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }.map { $0 / 1024 }
    }

    /// SIGKILL: the process ends at once, whatever it was doing.
    func kill() {
        guard let process, process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM, and the exit status once it ended (nil if it did not within `timeout`: killed).
    @discardableResult
    func stop(timeout: Duration = .seconds(60)) async -> Int32? {
        guard let process, process.isRunning else { return process?.terminationStatus }
        process.terminate()
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(100)) }
        if process.isRunning {
            kill()
            return nil
        }
        return process.terminationStatus
    }

    /// Every log of this worker (one per start): file name and text.
    func logs() -> [(name: String, text: String)] {
        (1...max(starts, 1)).compactMap { start in
            let name = "\(self.name)-\(start).log"
            return (try? String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)).map { (name, $0) }
        }
    }

    /// The last lines of every log of this worker.
    func logTail(_ characters: Int = 2_000) -> String {
        (1...max(starts, 1)).compactMap { try? String(contentsOf: directory.appendingPathComponent("\(name)-\($0).log"), encoding: .utf8) }
            .joined(separator: "\n--- restart ---\n").suffix(characters).description
    }
}
