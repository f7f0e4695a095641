import Foundation

/// The process's resident memory, CPU time, open files and start time, read from `/proc/self`
/// (Linux), in Prometheus' standard `process_*` names.
struct ProcessMetrics: Sendable {
    var residentBytes: Int64?
    var virtualBytes: Int64?
    var cpuSeconds: Double?
    var openFiles: Int?
    var startTime: Double

    static func read(started: Date) -> ProcessMetrics {
        var metrics = ProcessMetrics(startTime: started.timeIntervalSince1970)
        let page = Int64(sysconf(Int32(_SC_PAGESIZE)))
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        if let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) {
            let fields = statm.split(separator: " ").compactMap { Int64($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            if fields.count >= 2 {
                metrics.virtualBytes = fields[0] * page
                metrics.residentBytes = fields[1] * page
            }
        }
        // Fields after the command name (which may hold spaces, so after its closing parenthesis):
        // utime and stime are the 14th and 15th of the line, the 12th and 13th after ')'.
        if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") {
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]), ticks > 0 {
                metrics.cpuSeconds = (user + system) / ticks
            }
        }
        metrics.openFiles = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd"))?.count
        return metrics
    }

    var exposition: String {
        var text = ""
        func add(_ name: String, _ type: String, _ help: String, _ value: String?) {
            guard let value else { return }
            text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(value)\n"
        }
        add("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", residentBytes.map(String.init))
        add("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", virtualBytes.map(String.init))
        add("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", cpuSeconds.map { String($0) })
        add("process_open_fds", "gauge", "Number of open file descriptors.", openFiles.map(String.init))
        add("process_start_time_seconds", "gauge", "Start time of the process since the epoch, in seconds.", String(startTime))
        return text
    }
}
