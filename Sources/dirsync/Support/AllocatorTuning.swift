import CAllocator

/// glibc's allocator, set for a process whose few busy threads hand page-sized buffers to each other.
///
/// By default glibc gives each thread that allocates an arena of its own (up to eight per core) and
/// raises its mmap threshold whenever a large buffer is freed, so later buffers of a Graph page's size
/// come from the arenas' heaps and their peaks add up: the longer a sync, the higher its resident
/// size (measured: +18–20 % from a 10k-user to a 200k-user first sync). One arena and a fixed 1 MiB
/// threshold keep each response body and its decoded page in mappings of their own, returned when
/// freed, so the peak stays what one page in flight needs (+3–4 % over the same range, at no measured
/// cost in time). An operator's own `MALLOC_ARENA_MAX` or `MALLOC_MMAP_THRESHOLD_` wins.
enum AllocatorTuning {
    static let arenaMax: Int32 = 1
    static let mmapThreshold: Int32 = 1024 * 1024

    /// Applies the settings the environment does not set itself; call before any thread starts.
    static func apply(_ environment: ProcessEnvironment) {
        let arenas = environment.raw("MALLOC_ARENA_MAX") == nil ? arenaMax : 0
        let threshold = environment.raw("MALLOC_MMAP_THRESHOLD_") == nil ? mmapThreshold : 0
        _ = callocator_tune(arenas, threshold)
    }
}
