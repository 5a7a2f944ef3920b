import DirSyncTestSupport
import Foundation
import Testing

/// Benchmarks are not timed tests; this only keeps `scripts/bench` working, on tiny tenants and the
/// debug binaries of this build.
@Suite("scripts/bench --smoke", .enabled(if: TestEnvironment.databaseTestsEnabled))
struct BenchmarkSmokeTests {
    @Test("the benchmark runs end to end on tiny tenants and prints every section with a verdict per target")
    func smoke() async throws {
        let databaseURL = try #require(TestEnvironment.databaseURL, "DATABASE_URL is not set: run the suite through scripts/test")
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var environment = ProcessInfo.processInfo.environment
        environment["DIRSYNC_BENCH_BIN"] = ProductRunner.productsDirectory.path
        environment["DATABASE_URL"] = databaseURL
        let bench = try ChildProcess(root.appendingPathComponent("scripts/bench").path, ["--smoke"], environment: environment, currentDirectory: root)
        let termination = try await bench.exit()
        let text = bench.standardOutput + bench.standardError

        #expect(termination.status == 0 && !termination.signalled, "scripts/bench --smoke exited \(termination):\n\(text.suffix(3000))")
        for section in ["== full sync", "raw COPY", "full re-sync", "== CPU time per 1,000 objects", "== peak RSS", "== wall time with added latency",
                        "== incremental run with no changes", "== change feed", "== read API", "== first load", "== summary"] {
            #expect(text.contains(section), "missing section \(section):\n\(text.suffix(3000))")
        }
        for target in ["full-sync throughput", "peak RSS", "RSS at", "wall time at 50 ms", "no-change incremental",
                       "first full sync with the feed", "incremental round with the feed", "dirsync changes reads", "dirsync changes memory",
                       "full re-sync takes", "first full sync with the read model", "resolve p99", "member_of p99",
                       "parallel first load is", "parallel first load met", "parallel first load peak RSS", "concurrent first loads"] {
            #expect(text.contains("PASS \(target)") || text.contains("FAIL \(target)"), "no verdict for \(target):\n\(text.suffix(3000))")
        }
    }
}
