#if canImport(CMalloc)
import CMalloc
#endif
import Foundation

/// glibc gives each thread that allocates its own malloc arena, up to 8 per core, and each keeps
/// what it freed. A worker allocates on its loop threads, their committer threads and librdkafka's
/// threads, so memory freed on one is not reused by another. Two arenas measured ~10 MB less peak
/// RSS than glibc's default at the same throughput; with two loop threads one arena measured
/// 112–115 MB of peak RSS over StreamsBenchmark's whole run against 113–135 MB with two, for
/// ~12 % less throughput in seven pairs (Docs/performance.md, sixth session): a bounded footprint
/// first. `MALLOC_ARENA_MAX` in the environment still decides when it is set (2 for the speed).
/// Called by `Millwright.main` before anything else runs.
func limitMallocArenas(to count: Int32 = 1) {
    #if canImport(CMalloc)
    guard ProcessInfo.processInfo.environment["MALLOC_ARENA_MAX"] == nil else { return }
    _ = mallopt(M_ARENA_MAX, count)
    #endif
}
