import CAllocator

/// The memory allocator this executable runs on: jemalloc, linked in with the options in
/// `Sources/CAllocator/allocator.c` (MALLOC_CONF in the environment applies after them).
/// glibc's malloc cost a worker ~30 % more CPU per event, mostly in contention on its arena
/// lock; with one glibc arena per thread instead, the peak RSS went over 120 MB
/// (Docs/performance.md, seventh session).
enum Allocator {
    /// "jemalloc 5.3.0-… (narenas:1,…)", for the start-up log.
    static var description: String {
        guard let version = millwright_allocator_version() else { return "unknown (jemalloc did not answer)" }
        guard millwright_allocator_serves_malloc() != 0 else { return "glibc (jemalloc is linked but does not serve malloc)" }
        return "jemalloc \(String(cString: version)) (\(String(cString: millwright_allocator_defaults())))"
    }
}
