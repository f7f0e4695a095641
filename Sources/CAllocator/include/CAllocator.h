#ifndef MILLWRIGHT_CALLOCATOR_H
#define MILLWRIGHT_CALLOCATOR_H

/// jemalloc's version, e.g. "5.3.0-0-g54eaed1d8b56b1aa528be3bdd1877e59c56fa90c", or NULL if it
/// did not answer (the build always links it; this is for the start-up log).
const char *millwright_allocator_version(void);

/// The options jemalloc was started with (this binary's defaults, then MALLOC_CONF).
const char *millwright_allocator_defaults(void);

/// 1 if `malloc`, as every library in the process resolves it, is jemalloc's.
int millwright_allocator_serves_malloc(void);

/// Bytes this thread has allocated less those it has freed, since it started (jemalloc's
/// thread.allocated and thread.deallocated, size classes included): what a structure built on
/// one thread costs, whatever other threads do meanwhile. 0 when jemalloc does not answer.
long long millwright_allocator_thread_net(void);

#endif
