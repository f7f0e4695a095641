#if canImport(CMalloc)
import CMalloc
#endif
import Foundation

/// glibc gives each thread that allocates its own malloc arena, up to 8 per core, and each keeps
/// what it freed. A worker allocates on its loop thread, its committer thread and librdkafka's
/// threads, so memory freed on one is not reused by another; two arenas measured ~10 MB less peak
/// RSS in StreamsBenchmark at the same throughput (Docs/performance.md). `MALLOC_ARENA_MAX` in
/// the environment still decides when it is set.
func limitMallocArenas(to count: Int32 = 2) {
    #if canImport(CMalloc)
    guard ProcessInfo.processInfo.environment["MALLOC_ARENA_MAX"] == nil else { return }
    _ = mallopt(M_ARENA_MAX, count)
    #endif
}
