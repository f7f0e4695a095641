import Foundation

/// Starts a thread named as `top -H` and `ps -L` show it. Foundation's `Thread.name` does not
/// reach the kernel on Linux; the thread writes its name to `/proc/thread-self/comm` (the kernel
/// keeps 15 bytes of it: longer names are cut to 15 here).
package func startNamedThread(_ name: String, _ body: @escaping @Sendable () -> Void) {
    let short = String(decoding: name.utf8.prefix(15), as: UTF8.self)
    let thread = Thread {
        try? short.write(toFile: "/proc/thread-self/comm", atomically: false, encoding: .utf8)
        body()
    }
    thread.name = short
    thread.start()
}
