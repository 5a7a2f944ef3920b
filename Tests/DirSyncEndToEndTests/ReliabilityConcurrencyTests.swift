import DirSyncTestSupport
import Foundation
import PostgresStore
import Testing

/// Overlapping processes.
@Suite("concurrency: overlapping runs and a migrate", .enabled(if: TestEnvironment.databaseTestsEnabled))
struct ReliabilityConcurrencyTests {
    @Test("three overlapping runs plus a migrate all exit 0 without deadlock; each tenant is synced once and every served page is applied exactly once")
    func threeRunsAndAMigrate() async throws {
        try await SyncHarness.with(["--tenants", "3", "--users", "500", "--groups", "25", "--seed", "93", "--page-size", "25", "--duplicate-rate", "0"]) { h in
            let tenants = try await h.sim.tenants().map(\.id)
            try await h.onboard([("tenant1-verified.example", tenants[0]), ("tenant2-verified.example", tenants[1]), ("tenant3-verified.example", tenants[2])])
            try await h.sim.addFault(["kind": "latency", "latencyMs": 8, "probability": 1])
            try await h.sim.resetStats()
            // A deadlock would leave a process running until its guard fails the test.
            async let a = h.dirsync(["run", "--concurrency", "1"])
            async let b = h.dirsync(["run", "--concurrency", "2"])
            async let c = h.dirsync(["run"])
            async let m = h.dirsync(["migrate"])
            let outcomes = try await [a, b, c, m]
            for (index, outcome) in outcomes.enumerated() {
                #expect(outcome.exitCode == 0, "process \(index) exited \(outcome.exitCode): \(outcome.stdout) \(outcome.stderr.suffix(800))")
            }
            try await h.expectTablesEqualTruth(tenants, "after three overlapping runs and a migrate")
            for tenant in tenants {
                #expect(try await h.scalar("SELECT count(*)::int AS n FROM directory.sync_runs WHERE tenant_id = \(tenant) AND mode = 'full'") == 1)
            }
            #expect(try await h.scalar("SELECT count(*)::int AS n FROM directory.sync_runs WHERE state <> 'succeeded'") == 0)
            // Every delta page graph-sim served was applied by exactly one run.
            let served = try await h.sim.stats()["deltaPages"] as? Int ?? -1
            let recorded = try await h.scalar("SELECT coalesce(sum(pages), 0)::int AS n FROM directory.sync_runs")
            #expect(recorded == served, "runs recorded \(recorded) pages; graph-sim served \(served)")
            let summaries = outcomes.prefix(3).map(\.stdout).joined()
            #expect(summaries.contains("skipped") || summaries.contains("incremental"), "\(summaries)")
        }
    }
}
