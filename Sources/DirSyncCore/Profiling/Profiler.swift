/// A synchronous phase of handling a page, as CPU profiling counts it.
public enum ProfilePhase: Sendable, CaseIterable {
    /// An HTTP transfer on a transport thread.
    case fetch
    /// Reading a page's JSON (validation and objects).
    case decode
    /// Planning pages into a write.
    case plan
    /// Encoding rows for COPY, and every libpq call on a database thread.
    case write
}

/// Where the engine reports the CPU it spends per phase: a port, so the core stays free of clocks and
/// output. The command line injects a counting implementation when asked for a profile
/// (`DIRSYNC_PROFILE=1`, read by `scripts/bench`); everything else uses ``NoProfiler``.
public protocol Profiler: Sendable {
    /// Runs `body`, accounting its thread CPU time to `phase`.
    func measure<T, E: Error>(_ phase: ProfilePhase, _ body: () throws(E) -> T) throws(E) -> T
    /// Counts one delta page read.
    func pageRead()
}

/// The default profiler: runs the body and counts nothing.
public struct NoProfiler: Profiler {
    public init() {}

    @inline(__always)
    public func measure<T, E: Error>(_ phase: ProfilePhase, _ body: () throws(E) -> T) throws(E) -> T { try body() }

    @inline(__always)
    public func pageRead() {}
}
