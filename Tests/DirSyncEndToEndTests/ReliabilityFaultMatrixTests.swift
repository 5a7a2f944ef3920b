import DirSyncTestSupport
import Foundation
import PostgresStore
import Testing

/// The built `dirsync` against graph-sim faults and PostgreSQL outages.
///
/// Each faulted run either completes or fails cleanly (exit 1, the failure recorded on its run row
/// with a class and a message); the next clean run brings the tables to the simulator's truth; and no
/// page is applied twice: a run's recorded page count never exceeds the well-formed delta pages
/// graph-sim served it (exactly equal when it succeeded), and rows the mutation did not touch are not
/// rewritten.
@Suite("fault matrix: every faulted run completes or fails cleanly, and the next clean run is exact",
       .enabled(if: TestEnvironment.databaseTestsEnabled))
struct ReliabilityFaultMatrixTests {
    struct FaultCase: Sendable, CustomTestStringConvertible {
        var name: String
        var rules: [[String: any Sendable]]
        /// Whether the faulted run must succeed (retries absorb the fault) rather than merely end cleanly.
        var mustSucceed: Bool
        var testDescription: String { name }
    }

    static let graphPath = "/v1.0/"
    static let cases: [FaultCase] = [
        FaultCase(name: "429 storm with Retry-After", rules: [["kind": "throttle", "retryAfter": "0.2", "count": 10, "pathPrefix": graphPath]], mustSucceed: true),
        FaultCase(name: "429 on every request", rules: [["kind": "throttle", "retryAfter": "0.1", "probability": 1, "pathPrefix": graphPath]], mustSucceed: false),
        FaultCase(name: "5xx burst", rules: [["kind": "serverError", "status": 503, "count": 5, "pathPrefix": graphPath],
                                             ["kind": "serverError", "status": 502, "count": 2, "pathPrefix": graphPath]], mustSucceed: true),
        FaultCase(name: "latency spikes", rules: [["kind": "latency", "latencyMs": 400, "probability": 0.3, "pathPrefix": graphPath]], mustSucceed: true),
        FaultCase(name: "connection resets", rules: [["kind": "connectionReset", "count": 4, "pathPrefix": "/v1.0/users/delta"]], mustSucceed: false),
        FaultCase(name: "truncated pages", rules: [["kind": "truncatedBody", "count": 3, "pathPrefix": "/v1.0/users/delta"]], mustSucceed: true),
        FaultCase(name: "malformed pages", rules: [["kind": "malformedBody", "count": 3, "pathPrefix": "/v1.0/groups/delta"]], mustSucceed: true),
        FaultCase(name: "malformed page on every request", rules: [["kind": "malformedBody", "probability": 1, "pathPrefix": "/v1.0/users/delta"]], mustSucceed: false),
        FaultCase(name: "410 on the stored deltaLink", rules: [["kind": "deltaLinkGone", "count": 2]], mustSucceed: true),
        FaultCase(name: "token expiry and 401 mid-round", rules: [["kind": "tokenExpiry", "count": 1, "pathPrefix": "/v1.0/users/delta"]], mustSucceed: true),
        FaultCase(name: "tokens expiring again right after renewal", rules: [["kind": "tokenExpiry", "count": 3, "pathPrefix": graphPath]], mustSucceed: false),
    ]

    static let corruptingKinds: Set<String> = ["truncatedBody", "malformedBody", "connectionReset"]

    @Test("a faulted incremental run completes or fails cleanly; the next clean run is exact; no page is applied twice", arguments: cases)
    func faultedRun(_ fault: FaultCase) async throws {
        try await SyncHarness.with(["--users", "400", "--groups", "30", "--seed", "81", "--page-size", "25", "--members-per-page", "40"]) { h in
            let tenant = try await h.sim.tenants()[0].id
            try await h.onboard([("tenant1-verified.example", tenant)])
            try await h.run()
            let truthBefore = try await h.sim.truth(tenant: tenant)
            let versionsBefore = try await h.userVersions(tenant)
            try await h.sim.mutate(tenant: tenant, seed: 8100, count: 120)
            let truthAfter = try await h.sim.truth(tenant: tenant)

            try await h.sim.resetStats()
            for rule in fault.rules { try await h.sim.addFault(rule) }
            let faulted = try await h.dirsync(["run"])
            #expect(faulted.exitCode == 0 || faulted.exitCode == 1, "\(fault.name): exit \(faulted.exitCode)\n\(faulted.stderr.suffix(1500))")
            if fault.mustSucceed { #expect(faulted.exitCode == 0, "\(fault.name): retries should absorb this fault: \(faulted.stderr.suffix(1500))") }
            try await h.expectRunRecordedCleanly(tenant, exitCode: faulted.exitCode, outcome: faulted, context: fault.name)
            try await h.expectPagesAppliedOnce(tenant, succeeded: faulted.exitCode == 0, context: fault.name)

            try await h.sim.request("DELETE", "/_graphsim/faults")
            try await h.sim.resetStats()
            let clean = try await h.run()
            #expect(clean.exitCode == 0)
            try await h.expectPagesAppliedOnce(tenant, succeeded: true, context: "\(fault.name), clean run")
            try await h.expectTablesEqualTruth([tenant], "after \(fault.name) and a clean run")
            #expect(try await h.scalar("SELECT count(*)::int AS n FROM directory.sync_runs WHERE state = 'running'") == 0)

            // Users the mutation did not change keep their row version: no retry, resume or full resync rewrote them.
            let unchanged = Set(truthBefore.users.filter { user in truthAfter.users.contains(user) }.map { $0.id.lowercased() })
            let versionsAfter = try await h.userVersions(tenant)
            let rewritten = unchanged.filter { versionsBefore[$0] != versionsAfter[$0] }
            #expect(rewritten.isEmpty, "\(fault.name): \(rewritten.count) unchanged users were rewritten, e.g. \(rewritten.prefix(3))")
        }
    }

    @Test("a tenant answering 403 fails alone with permission_missing while the other tenant syncs; it recovers once the permission is granted")
    func forbiddenTenantFailsAlone() async throws {
        try await SyncHarness.with(["--tenants", "2", "--users", "150", "--groups", "12", "--seed", "82", "--page-size", "40"]) { h in
            let tenants = try await h.sim.tenants().map(\.id)
            try await h.onboard([("tenant1-verified.example", tenants[0]), ("tenant2-verified.example", tenants[1])])
            // Some permission left, so the 403 is a missing permission rather than consent revoked altogether.
            try await h.sim.configure(tenant: tenants[1], ["permissions": ["Domain.Read.All"]])
            let outcome = try await h.run(expect: 1)
            #expect(outcome.stdout.contains("permission"), "\(outcome.stdout)")
            try await h.expectTablesEqualTruth([tenants[0]], "the permitted tenant")
            #expect(try await h.scalar("SELECT count(*)::int AS n FROM directory.users WHERE tenant_id = \(tenants[1])") == 0)
            #expect(try await h.scalar("SELECT count(*)::int AS n FROM directory.sync_runs WHERE tenant_id = \(tenants[1]) AND state = 'failed' AND error_class = 'permission_missing' AND error_message <> ''") == 1)
            #expect(try await h.scalar("SELECT count(*)::int AS n FROM directory.sync_runs WHERE tenant_id = \(tenants[0]) AND state = 'succeeded'") == 1)

            try await h.sim.configure(tenant: tenants[1], ["permissions": ["User.Read.All", "GroupMember.Read.All", "Group.Read.All", "Domain.Read.All", "Directory.Read.All"]])
            try await h.run()
            try await h.expectTablesEqualTruth(tenants, "after the permission was granted")
        }
    }

    @Test("PostgreSQL unreachable at start: one clear line and exit 1, nothing recorded; restarted mid-run: the run fails cleanly, the next run resumes, marks it interrupted and is exact")
    func postgresOutages() async throws {
        let cluster = try await PrivateCluster.start()
        do {
            let database = try await cluster.migratedDatabase()
            let sim = try await GraphSimProcess.start(["--users", "2500", "--groups", "40", "--seed", "83", "--page-size", "25", "--members-per-page", "40"])
            defer { sim.stop() }
            let connection = try await database.connect()
            let h = SyncHarness(database: database, sim: sim, connection: connection)
            let tenant = try await sim.tenants()[0].id
            try await h.onboard([("tenant1-verified.example", tenant)])
            await connection.close()

            // Unreachable at start.
            try await cluster.stopServer()
            let down = try await h.dirsync(["run"])
            #expect(down.exitCode == 1, "\(down.stderr)")
            #expect(down.stderrLines.count == 1 && down.stderr.hasPrefix("dirsync: error: ") && down.stderr.contains("127.0.0.1"), "\(down.stderr)")
            try await cluster.startServer()

            // Restarted mid-run: the restart happens while graph-sim holds the run's sixth users page, and
            // the run goes on to write the pages after it once the pause ends.
            try await sim.pause(after: 5, pathPrefix: "/v1.0/users/delta")
            let run = try h.start(["run"])
            try await sim.waitUntilPaused(run)
            try await cluster.restart()
            try await sim.endPause()
            let restarted = try await run.finish()
            #expect(restarted.exitCode == 1, "the restart should land mid-run: \(restarted.stdout) \(restarted.stderr.suffix(1500))")
            let errors = restarted.stderrLines.filter { $0.hasPrefix("dirsync: error: ") }
            #expect(errors.count == 1, "one clear line: \(restarted.stderr.suffix(1500))")
            #expect(!restarted.stderr.contains("Fatal error") && !restarted.stderr.contains("Stack dump"), "\(restarted.stderr.suffix(1500))")

            let check = try await database.connect()
            let after = SyncHarness(database: database, sim: sim, connection: check)
            let runningBefore = try await after.scalar("SELECT count(*)::int AS n FROM directory.sync_runs WHERE state = 'running'")
            try await after.run()
            try await after.expectTablesEqualTruth([tenant], "after the restart and a clean run")
            #expect(try await after.scalar("SELECT count(*)::int AS n FROM directory.sync_runs WHERE state = 'running'") == 0)
            // The run whose session died could not record its end; the next run marked it interrupted.
            #expect(try await after.scalar("SELECT count(*)::int AS n FROM directory.sync_runs WHERE state IN ('interrupted', 'failed')") >= 1)
            #expect(runningBefore <= 1)
            #expect(try await after.scalar("SELECT count(*)::int AS n FROM directory.sync_runs WHERE state = 'succeeded'") == 1)
            await check.close()
        } catch {
            await cluster.destroy()
            throw error
        }
        await cluster.destroy()
    }
}

extension SyncHarness {
    /// `id → xmin` of the tenant's users.
    func userVersions(_ tenant: UUID) async throws -> [String: String] {
        var versions: [String: String] = [:]
        for row in try await connection.query("SELECT id, xmin::text AS v FROM directory.users WHERE tenant_id = \(tenant)") {
            versions[try row.uuid("id").uuidString.lowercased()] = try row.string("v")
        }
        return versions
    }

    /// The latest run of `tenant` ended in a final state that matches the exit code, with its failure recorded.
    func expectRunRecordedCleanly(_ tenant: UUID, exitCode: Int32, outcome: ProductRunner.Outcome, context: String,
                                  sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let row = try await connection.query("""
            SELECT state, coalesce(error_class, '') AS class, coalesce(error_message, '') AS message
            FROM directory.sync_runs WHERE tenant_id = \(tenant) ORDER BY run_id DESC LIMIT 1
            """).first
        let state = try row?.string("state") ?? "none"
        if exitCode == 0 {
            #expect(state == "succeeded", "\(context): latest run is \(state)", sourceLocation: sourceLocation)
        } else {
            #expect(state == "failed", "\(context): latest run is \(state)", sourceLocation: sourceLocation)
            #expect(try row?.string("class").isEmpty == false && row?.string("message").isEmpty == false,
                    "\(context): a failed run records its class and message", sourceLocation: sourceLocation)
            #expect(outcome.stderrLines.filter { $0.hasPrefix("dirsync: error: ") }.count == 1, "\(context): one error line: \(outcome.stderr.suffix(1000))",
                    sourceLocation: sourceLocation)
        }
        #expect(!outcome.stderr.contains("Fatal error"), "\(context): crashed: \(outcome.stderr.suffix(1000))", sourceLocation: sourceLocation)
    }

    /// The pages the latest run recorded never exceed the well-formed delta pages graph-sim served since
    /// the last stats reset (equal when the run succeeded): a page applied twice would be counted twice.
    func expectPagesAppliedOnce(_ tenant: UUID, succeeded: Bool, context: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let stats = try await sim.stats()
        let served = stats["deltaPages"] as? Int ?? -1
        let injected = stats["faultsInjected"] as? [String: Int] ?? [:]
        let corrupted = injected.filter { ReliabilityFaultMatrixTests.corruptingKinds.contains($0.key) }.values.reduce(0, +)
        let recorded = try await scalar("SELECT pages AS n FROM directory.sync_runs WHERE tenant_id = \(tenant) ORDER BY run_id DESC LIMIT 1")
        if succeeded {
            #expect(recorded == served - corrupted, "\(context): run recorded \(recorded) pages, graph-sim served \(served) (\(corrupted) corrupted)",
                    sourceLocation: sourceLocation)
        } else {
            #expect(recorded <= served - corrupted, "\(context): run recorded \(recorded) pages, graph-sim served \(served) (\(corrupted) corrupted)",
                    sourceLocation: sourceLocation)
        }
    }
}
