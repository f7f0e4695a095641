// The worker's memory allocator: jemalloc (Debian's libjemalloc2), linked into the millwright
// executable so that every allocation in the process -- Swift's, librdkafka's, SQLite's -- goes
// to it instead of glibc's malloc. Why, and the measurements behind these options:
// Docs/performance.md (seventh session) and Docs/configuration.md ("Memory allocator").

#include <jemalloc/jemalloc.h>
#include <stdint.h>
#include <stdlib.h>
#include "CAllocator.h"

// Read by jemalloc when it initializes (before main); MALLOC_CONF in the environment is applied
// after these and wins.
//   narenas:1          one arena: the threads' caches take the contention glibc's single
//                      arena had, and memory freed on one thread is reused by the others;
//   tcache_max:1024    threads cache freed blocks of up to 1 KiB only (the small records and
//   tcache_nslots_*    strings the loop churns through), and few of each: a worker has ~50
//                      threads (librdkafka's among them), and full default caches cost ~8 MB;
//   dirty_decay_ms     freed pages go back to the system within a second;
//   muzzy_decay_ms:0   and are not kept lazily either.
const char *malloc_conf =
    "narenas:1,tcache_max:1024,tcache_nslots_small_max:16,tcache_nslots_large:4,"
    "dirty_decay_ms:1000,muzzy_decay_ms:0";

const char *millwright_allocator_defaults(void) { return malloc_conf; }

const char *millwright_allocator_version(void) {
    const char *version = NULL;
    size_t size = sizeof(version);
    if (mallctl("version", &version, &size, NULL, 0) != 0) return NULL;
    return version;
}

// jemalloc's count of the bytes this thread allocated. Read through mallctl, not through the
// "thread.allocatedp" pointer: the compiler may assume malloc changes no memory the caller can
// see, and an optimized build then compared the pointer's value with itself.
static uint64_t thread_allocated(void) {
    uint64_t allocated = 0;
    size_t size = sizeof(allocated);
    if (mallctl("thread.allocated", &allocated, &size, NULL, 0) != 0) return 0;
    return allocated;
}

int millwright_allocator_serves_malloc(void) {
    // If malloc is glibc's (a link order that put libc first), jemalloc's count does not move.
    uint64_t before = thread_allocated();
    void *volatile block = malloc(4096);
    uint64_t after = thread_allocated();
    free(block);
    return after - before >= 4096;
}

long long millwright_allocator_thread_net(void) {
    uint64_t deallocated = 0;
    size_t size = sizeof(deallocated);
    if (mallctl("thread.deallocated", &deallocated, &size, NULL, 0) != 0) return 0;
    return (long long)(thread_allocated() - deallocated);
}
