// The C library allocator's tunables, for the dirsync executable only.
//
// mallopt(3) lives in <malloc.h>, which Swift's Glibc module does not import. Other C libraries
// (macOS, musl) have no such settings; there the call does nothing and says so.
#ifndef DIRSYNC_CALLOCATOR_SHIM_H
#define DIRSYNC_CALLOCATOR_SHIM_H

#include <stdlib.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

/// Caps glibc's arenas at `arena_max` and fixes its mmap threshold at `mmap_threshold` bytes (a value of
/// 0 leaves that setting alone). Returns 1 when every requested setting took effect, 0 otherwise.
static inline int callocator_tune(int arena_max, int mmap_threshold) {
#if defined(__GLIBC__)
    int ok = 1;
    if (arena_max > 0 && mallopt(M_ARENA_MAX, arena_max) != 1) ok = 0;
    if (mmap_threshold > 0 && mallopt(M_MMAP_THRESHOLD, mmap_threshold) != 1) ok = 0;
    return ok;
#else
    (void)arena_max; (void)mmap_threshold;
    return 0;
#endif
}

#endif
