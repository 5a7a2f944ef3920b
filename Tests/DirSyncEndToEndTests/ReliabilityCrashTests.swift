import DirSyncTestDoubles
import DirSyncTestSupport
import Foundation
import PostgresStore
import Testing

/// Issue 8, part 2: `kill -9` at seeded random points of a 20,000-user sync.
///
/// Heavy (a 20k-user tenant synced 21 times); runs in the reliability pass (``ReliabilityPass``).
@Suite("crash consistency: SIGKILL at 20 seeded points of a 20k-user sync",
       .enabled(if: ReliabilityPass.enabled))
struct ReliabilityCrashTests {
    @Test("after 20 SIGKILLs at seeded points and a final run the tables equal the tenant, and every killed run that recorded itself is marked interrupted")
    func twentyKills() async throws {
        try await SyncHarness.with(["--users", "20000", "--groups", "150", "--seed", "91", "--page-size", "100", "--members-per-page", "300"]) { h in
            let tenant = try await h.sim.tenants()[0].id
            try await h.onboard([("tenant1-verified.example", tenant)])
            try await h.sim.addFault(["kind": "latency", "latencyMs": 40, "probability": 1])
            let seed: UInt64 = 2026
            var random = SplitMix64(seed: seed)
            var killedRecorded = 0, killed = 0
            for attempt in 0..<20 {
                if attempt % 5 == 4 { try await h.sim.mutate(tenant: tenant, seed: 9100 + attempt, count: 200) }
                let runsBefore = try await h.scalar("SELECT count(*)::int AS n FROM directory.sync_runs")
                let delay = Int.random(in: 300...2500, using: &random)
                // Every fourth run forces a new full round, so later kills land in full rounds too, not only in
                // the first one and its resumptions.
                let outcome = try await h.dirsync(attempt % 4 == 3 ? ["run", "--full"] : ["run"], killAfter: .milliseconds(delay))
                let runsAfter = try await h.scalar("SELECT count(*)::int AS n FROM directory.sync_runs")
                #expect(!outcome.stderr.contains("Fatal error"), "seed \(seed) attempt \(attempt): \(outcome.stderr.suffix(800))")
                if outcome.exitCode != 0 {
                    #expect(outcome.exitCode == 9, "seed \(seed) attempt \(attempt): only the kill may end a run here, exit \(outcome.exitCode): \(outcome.stderr.suffix(800))")
                    killed += 1
                    killedRecorded += runsAfter - runsBefore
                }
                // The next run always finds the tables consistent: at most one run per tenant is ever 'running'.
                #expect(try await h.scalar("SELECT count(*)::int AS n FROM directory.sync_runs WHERE state = 'running'") <= 1)
            }
            #expect(killed >= 12, "seed \(seed): the kills should mostly land mid-run (\(killed) of 20 did)")
            // The final run keeps the slow pages: an unthrottled 20k-user burst on 2 cores starves the other
            // suites' timing-sensitive tests that run alongside.
            try await h.run()
            try await h.expectTablesEqualTruth([tenant], "seed \(seed): after 20 kills and a final run")
            let interrupted = try await h.scalar("SELECT count(*)::int AS n FROM directory.sync_runs WHERE state = 'interrupted' AND error_message <> ''")
            #expect(interrupted == killedRecorded, "seed \(seed): \(killedRecorded) killed runs recorded themselves, \(interrupted) are marked interrupted")
            #expect(try await h.scalar("SELECT count(*)::int AS n FROM directory.sync_runs WHERE state NOT IN ('interrupted', 'succeeded')") == 0)
            #expect(try await h.scalar("SELECT count(*)::int AS n FROM directory.sync_runs WHERE state = 'running'") == 0)
        }
    }
}
