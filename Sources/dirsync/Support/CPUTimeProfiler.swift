import DirSyncCore
import Foundation
import Synchronization

/// Counts thread CPU time per phase for benchmarks (`DIRSYNC_PROFILE=1`): libcurl transfers, page
/// decoding, planning, and COPY encoding plus libpq calls. `run` prints one line to stderr at its end:
/// `dirsync-profile fetch_cpu_ms=… decode_cpu_ms=… plan_cpu_ms=… write_cpu_ms=… pages=…`, which
/// `scripts/bench` reads.
final class CPUTimeProfiler: Profiler {
    private let fetch = Atomic<Int>(0)
    private let decode = Atomic<Int>(0)
    private let plan = Atomic<Int>(0)
    private let write = Atomic<Int>(0)
    private let pages = Atomic<Int>(0)

    func pageRead() {
        pages.add(1, ordering: .relaxed)
    }

    func measure<T, E: Error>(_ phase: ProfilePhase, _ body: () throws(E) -> T) throws(E) -> T {
        let start = Self.threadCPUNanos()
        defer {
            let spent = Self.threadCPUNanos() - start
            switch phase {
            case .fetch: fetch.add(spent, ordering: .relaxed)
            case .decode: decode.add(spent, ordering: .relaxed)
            case .plan: plan.add(spent, ordering: .relaxed)
            case .write: write.add(spent, ordering: .relaxed)
            }
        }
        return try body()
    }

    /// The report line.
    var report: String {
        func ms(_ counter: borrowing Atomic<Int>) -> String { String(format: "%.1f", Double(counter.load(ordering: .relaxed)) / 1e6) }
        return "dirsync-profile fetch_cpu_ms=\(ms(fetch)) decode_cpu_ms=\(ms(decode)) plan_cpu_ms=\(ms(plan)) write_cpu_ms=\(ms(write)) pages=\(pages.load(ordering: .relaxed))"
    }

    private static func threadCPUNanos() -> Int {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return time.tv_sec * 1_000_000_000 + time.tv_nsec
    }
}
