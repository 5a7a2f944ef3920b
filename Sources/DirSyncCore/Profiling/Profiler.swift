import Foundation
import Synchronization

/// CPU-time counters for benchmarks: thread CPU time spent fetching (libcurl transfers), decoding
/// pages, planning them and writing them (COPY encoding and libpq calls).
///
/// Off unless the environment has `DIRSYNC_PROFILE=1`; then the process prints one line to stderr
/// when it exits: `dirsync-profile fetch_cpu_ms=… decode_cpu_ms=… plan_cpu_ms=… write_cpu_ms=… pages=…`.
/// `scripts/bench` reads it.
/// When off, ``measure(_:_:)`` costs one load of a `static let`.
public enum SyncProfile {
    /// A synchronous phase of handling a page.
    public enum Phase: Sendable {
        /// An HTTP transfer on a transport thread.
        case fetch
        /// Reading a page's JSON (validation and objects).
        case decode
        /// Planning pages into a write.
        case plan
        /// Encoding rows for COPY, and every libpq call on a database thread.
        case write
    }

    /// Whether counting is on (read once from the environment).
    public static let isEnabled: Bool = {
        guard ProcessInfo.processInfo.environment["DIRSYNC_PROFILE"] == "1" else { return false }
        atexit { SyncProfile.report() }
        return true
    }()

    /// `DIRSYNC_JSON_DECODER=foundation` selects the `JSONSerialization` reference decoder (for A/B benchmarks).
    public static let useFoundationDecoder: Bool = ProcessInfo.processInfo.environment["DIRSYNC_JSON_DECODER"] == "foundation"

    private static let fetchNanos = Atomic<Int>(0)
    private static let decodeNanos = Atomic<Int>(0)
    private static let planNanos = Atomic<Int>(0)
    private static let writeNanos = Atomic<Int>(0)
    private static let pages = Atomic<Int>(0)

    /// Counts a page read (when profiling).
    public static func pageRead() {
        guard isEnabled else { return }
        pages.add(1, ordering: .relaxed)
    }

    /// Runs `body` and, when profiling, adds its thread CPU time to `phase`.
    @inline(__always)
    public static func measure<T, E: Error>(_ phase: Phase, _ body: () throws(E) -> T) throws(E) -> T {
        guard isEnabled else { return try body() }
        let start = threadCPUNanos()
        defer {
            let spent = threadCPUNanos() - start
            switch phase {
            case .fetch: fetchNanos.add(spent, ordering: .relaxed)
            case .decode: decodeNanos.add(spent, ordering: .relaxed)
            case .plan: planNanos.add(spent, ordering: .relaxed)
            case .write: writeNanos.add(spent, ordering: .relaxed)
            }
        }
        return try body()
    }

    private static func threadCPUNanos() -> Int {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return time.tv_sec * 1_000_000_000 + time.tv_nsec
    }

    private static func report() {
        func ms(_ counter: borrowing Atomic<Int>) -> Double { Double(counter.load(ordering: .relaxed)) / 1e6 }
        let line = String(format: "dirsync-profile fetch_cpu_ms=%.1f decode_cpu_ms=%.1f plan_cpu_ms=%.1f write_cpu_ms=%.1f pages=%d\n",
                          ms(fetchNanos), ms(decodeNanos), ms(planNanos), ms(writeNanos), pages.load(ordering: .relaxed))
        // A plain write(2): at exit, Foundation's own handles may already be gone.
        var bytes = Array(line.utf8)
        _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
    }
}
