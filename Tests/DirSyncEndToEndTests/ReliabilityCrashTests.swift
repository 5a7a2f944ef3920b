import DirSyncTestDoubles
import DirSyncTestSupport
import Foundation
import PostgresStore
import Testing

/// `kill -9` at seeded points of a 20,000-user sync: each run is killed while graph-sim holds one of
/// its users pages, chosen by the seed.
@Suite("crash consistency: SIGKILL at 20 seeded points of a 20k-user sync", .enabled(if: TestEnvironment.databaseTestsEnabled))
struct ReliabilityCrashTests {
    @Test("after 20 SIGKILLs at seeded points and a final run the tables equal the tenant, and every killed run that recorded itself is marked interrupted")
    func twentyKills() async throws {
        try await SyncHarness.with(["--users", "20000", "--groups", "150", "--seed", "91", "--page-size", "100", "--members-per-page", "300"]) { h in
            let tenant = try await h.sim.tenants()[0].id
            try await h.onboard([("tenant1-verified.example", tenant)])
            let seed: UInt64 = 2026
            var random = SplitMix64(seed: seed)
            var killedRecorded = 0
            for attempt in 0..<20 {
                if attempt % 5 == 4 { try await h.sim.mutate(tenant: tenant, seed: 9100 + attempt, count: 200) }
                let runsBefore = try await h.scalar("SELECT count(*)::int AS n FROM directory.sync_runs")
                // Killed while graph-sim holds users page number 2 to 41 of this run. Every fourth run forces a new
                // full round, so no round gets more than four runs: at most 160 of its 200 users pages are
                // answered, and every kill lands mid-round, in the first full round, its resumptions, and later ones.
                let after = Int.random(in: 1...40, using: &random)
                // The sequential delta rounds are under test here (the parallel first load has its own).
                let outcome = try await h.runKilled((attempt % 4 == 3 ? ["--full"] : []) + ["--first-load", "delta"], after: after)
                let runsAfter = try await h.scalar("SELECT count(*)::int AS n FROM directory.sync_runs")
                #expect(!outcome.stderr.contains("Fatal error"), "seed \(seed) attempt \(attempt): \(outcome.stderr.suffix(800))")
                #expect(outcome.signalled && outcome.exitCode == SIGKILL,
                        "seed \(seed) attempt \(attempt): only the kill may end a run here, exit \(outcome.exitCode): \(outcome.stderr.suffix(800))")
                killedRecorded += runsAfter - runsBefore
                // The next run always finds the tables consistent: at most one run per tenant is ever 'running'.
                #expect(try await h.scalar("SELECT count(*)::int AS n FROM directory.sync_runs WHERE state = 'running'") <= 1)
            }
            try await h.run()
            try await h.expectTablesEqualTruth([tenant], "seed \(seed): after 20 kills and a final run")
            let interrupted = try await h.scalar("SELECT count(*)::int AS n FROM directory.sync_runs WHERE state = 'interrupted' AND error_message <> ''")
            #expect(interrupted == killedRecorded, "seed \(seed): \(killedRecorded) killed runs recorded themselves, \(interrupted) are marked interrupted")
            #expect(try await h.scalar("SELECT count(*)::int AS n FROM directory.sync_runs WHERE state NOT IN ('interrupted', 'succeeded')") == 0)
            #expect(try await h.scalar("SELECT count(*)::int AS n FROM directory.sync_runs WHERE state = 'running'") == 0)
        }
    }
}
