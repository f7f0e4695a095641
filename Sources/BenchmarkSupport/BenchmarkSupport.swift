import Foundation

/// What every benchmark of the package measures the same way.
public enum BenchmarkSupport {
    /// Peak resident memory (VmHWM) of a process in MB, or nil when /proc does not tell.
    /// - Parameter pid: the process; `nil` for this one.
    public static func peakRSSMegabytes(pid: Int32? = nil) -> Int? {
        let path = pid.map { "/proc/\($0)/status" } ?? "/proc/self/status"
        guard let status = try? String(contentsOfFile: path, encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "")
        else { return nil }
        return kilobytes / 1024
    }
}

/// A benchmark that could not measure what it set out to.
public struct BenchmarkError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension Duration {
    /// The duration in seconds, as a Double (for rates).
    public var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
}
