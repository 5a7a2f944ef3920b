import DirSyncTestDoubles
import DirSyncTestSupport
import Foundation
import PostgresStore
import Testing

/// The parallel first load through the built binary, graph-sim and a real PostgreSQL: exact after
/// its catch-up whatever happens meanwhile, resumable after kill -9, indifferent to expiring page
/// tokens, throttling and server errors, and falling back to the delta rounds when Graph refuses it.
@Suite("parallel first load end to end", .enabled(if: TestEnvironment.databaseTestsEnabled))
struct FirstLoadEndToEndTests {
    static let simulator = ["--users", "1500", "--groups", "90", "--members-per-group", "25", "--nesting", "deep", "--seed", "171",
                            "--page-size", "60", "--members-per-page", "40"]
    static let parallel = ["--first-load", "parallel", "--first-load-wait", "0s"]

    /// The run's first-load record (`sync_runs.first_load`) of the newest run.
    static func firstLoad(_ h: SyncHarness) async throws -> [String: Any] {
        let text = try await h.connection.query("SELECT first_load::text AS f FROM directory.sync_runs ORDER BY run_id DESC LIMIT 1").first?.optionalString("f")
        return (text.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }) ?? [:]
    }

    /// Requests graph-sim answered on endpoints whose key contains `part` (or is exactly `exactly`).
    static func requests(_ h: SyncHarness, _ part: String = "", exactly: String? = nil) async throws -> Int {
        let endpoints = try await h.sim.stats()["requestsByEndpoint"] as? [String: Int] ?? [:]
        if let exactly { return endpoints[exactly] ?? 0 }
        return endpoints.filter { $0.key.contains(part) }.reduce(0) { $0 + $1.value }
    }

    /// Changes of every kind a load must survive, on live objects of the tenant's truth now.
    static func changes(_ h: SyncHarness, tenant: UUID, seed: Int) async throws -> [[String: Any]] {
        let truth = try await h.sim.truth(tenant: tenant)
        var random = SplitMix64(seed: UInt64(seed))
        let users = truth.users.filter { $0.deleted == nil }.map(\.id)
        let groups = truth.groups.filter { $0.deleted == nil }.map(\.id)
        let softDeleted = truth.users.filter { $0.deleted == "changed" }.map(\.id)
        var operations: [[String: Any]] = [
            // A rename that moves a user to another partition.
            ["op": "updateUser", "id": users[random.int(users.count)], "set": ["userPrincipalName": "zz.moved.\(seed)@tenant1-verified.example"]],
            ["op": "updateUser", "id": users[random.int(users.count)], "set": ["jobTitle": "Changed \(seed)", "department": NSNull()]],
            ["op": "softDeleteUser", "id": users[random.int(users.count)]],
            ["op": "createUser", "user": ["displayName": "New \(seed)", "userPrincipalName": "new.\(seed)@tenant1-verified.example"]],
            ["op": "addMember", "groupId": groups[random.int(groups.count)], "memberId": users[random.int(users.count)]],
            ["op": "updateGroup", "id": groups[random.int(groups.count)], "set": ["displayName": "Renamed \(seed)"]],
        ]
        if let restored = softDeleted.first { operations.append(["op": "restoreUser", "id": restored]) }
        return operations
    }

    @Test("a parallel load while the tenant changes under it (renames across partitions, deletes, restores, membership churn, replication lag) and its catch-up leave the tables equal to the truth")
    func exactWhileTheTenantChanges() async throws {
        try await SyncHarness.with(Self.simulator) { h in
            let tenant = try await h.sim.tenants()[0].id
            try await h.onboard([("tenant1-verified.example", tenant)])
            // A change just before the load, seen late by the lists; the safety wait covers it.
            try await h.sim.configure(tenant: tenant, ["listLagMillis": 300])
            try await h.sim.mutate(tenant: tenant, operations: try await Self.changes(h, tenant: tenant, seed: 1))
            // Twice the tenant changes while graph-sim holds the load mid-way: first every Graph request
            // after the load's eighth (its streams are all still to come), then a groups delta page. Holding
            // everything the first time keeps the groups streams from finishing while the test mutates,
            // so the second hold always has its twelve requests to let through.
            try await h.sim.pause(after: 8)
            let run = try h.start(["run", "--first-load", "parallel", "--first-load-wait", "1s"])
            try await h.sim.waitUntilPaused(run)
            try await h.sim.mutate(tenant: tenant, operations: try await Self.changes(h, tenant: tenant, seed: 2))
            try await h.sim.mutate(tenant: tenant, seed: 1712, count: 40)
            try await h.sim.pause(after: 12, pathPrefix: "/v1.0/groups/delta")
            try await h.sim.waitUntilPaused(run)
            try await h.sim.mutate(tenant: tenant, operations: try await Self.changes(h, tenant: tenant, seed: 3))
            try await h.sim.mutate(tenant: tenant, seed: 1713, count: 40)
            try await h.sim.endPause()
            let outcome = try await run.finish()
            #expect(outcome.exitCode == 0, "\(outcome.stderr.suffix(1500))")
            let record = try await Self.firstLoad(h)
            #expect(record["outcome"] as? String == "loaded", "\(record)")
            #expect((record["peak_in_flight"] as? Int ?? 0) > 4, "many requests in flight: \(record)")
            try await h.expectTablesEqualTruth([tenant], "after the parallel load and its catch-up")
            // The read side and the feed are complete too: one snapshot per entity, the nesting closure built.
            #expect(try await h.scalar("SELECT count(*)::int AS n FROM directory.changes WHERE op = 'snapshot'") == 4)
            #expect(try await h.scalar("SELECT count(*)::int AS n FROM directory.group_ancestors") > 0)
            #expect(try await h.scalar("SELECT count(*)::int AS n FROM directory.first_load_streams") == 0)
            // The next run is an ordinary incremental one.
            try await h.sim.resetStats()
            try await h.run(Self.parallel)
            let deltaRequests = try await Self.requests(h, "/users/delta"), listRequests = try await Self.requests(h, exactly: "GET /v1.0/users")
            #expect(deltaRequests == 1 && listRequests == 0)
        }
    }

    @Test("a load killed at seeded points resumes with fewer requests than starting over and ends exact")
    func killedLoadResumes() async throws {
        try await SyncHarness.with(Self.simulator) { h in
            let tenant = try await h.sim.tenants()[0].id
            try await h.onboard([("tenant1-verified.example", tenant)])
            var random = SplitMix64(seed: 1717)
            for _ in 0..<3 {
                let killed = try await h.runKilled(Self.parallel, after: 4 + random.int(12), pathPrefix: "/v1.0/users")
                #expect(killed.signalled, "\(killed.stderr.suffix(800))")
            }
            #expect(try await h.scalar("SELECT count(*)::int AS n FROM directory.first_loads WHERE phase = 'listing'") == 1)
            let written = try await h.scalar("SELECT (pages)::int AS n FROM (SELECT sum(pages) AS pages FROM directory.first_load_streams) s")
            #expect(written > 0, "the killed runs committed pages")
            try await h.sim.resetStats()
            try await h.run(Self.parallel)
            let resumedListRequests = try await Self.requests(h, exactly: "GET /v1.0/users")
            try await h.expectTablesEqualTruth([tenant], "after kills and a resumed load")

            // The same load from scratch, for comparison.
            try await h.connection.execute("DELETE FROM directory.first_loads")
            try await h.connection.execute("DELETE FROM directory.sync_cursors")
            try await h.sim.resetStats()
            try await h.run(Self.parallel)
            let freshListRequests = try await Self.requests(h, exactly: "GET /v1.0/users")
            #expect(resumedListRequests < freshListRequests, "resumed \(resumedListRequests) list requests, from scratch \(freshListRequests)")
        }
    }

    @Test("expiring page tokens, a 429 storm and 5xx bursts during the load: every stream starts over or retries, nothing is skipped, the result is exact")
    func faultsDuringTheLoad() async throws {
        try await SyncHarness.with(Self.simulator) { h in
            let tenant = try await h.sim.tenants()[0].id
            try await h.onboard([("tenant1-verified.example", tenant)])
            // The faults start once the load lists (graph-sim holds a users page meanwhile), so they land on
            // its many streams rather than on the run's first requests.
            try await h.sim.pause(after: 5, pathPrefix: "/v1.0/users")
            let run = try h.start(["run"] + Self.parallel)
            try await h.sim.waitUntilPaused(run)
            try await h.sim.addFault(["kind": "expiredPageToken", "afterPages": 1, "count": 2])
            try await h.sim.addFault(["kind": "throttle", "retryAfter": "0.2", "count": 15, "pathPrefix": "/v1.0/"])
            try await h.sim.addFault(["kind": "serverError", "status": 503, "count": 8, "pathPrefix": "/v1.0/groups/delta"])
            try await h.sim.endPause()
            let outcome = try await run.finish()
            #expect(outcome.exitCode == 0, "\(outcome.stderr.suffix(1500))")
            let record = try await Self.firstLoad(h)
            #expect(record["outcome"] as? String == "loaded", "\(record)")
            #expect((record["restarts"] as? Int ?? 0) >= 1 && (record["throttled"] as? Int ?? 0) >= 1, "\(record)")
            try await h.expectTablesEqualTruth([tenant], "after a faulted load")
        }
    }

    @Test("a tenant whose lists refuse filters falls back to the sequential first rounds, says so, and is exact")
    func refusedFiltersFallBack() async throws {
        try await SyncHarness.with(Self.simulator) { h in
            let tenant = try await h.sim.tenants()[0].id
            try await h.onboard([("tenant1-verified.example", tenant)])
            try await h.sim.configure(tenant: tenant, ["listFilters": false])
            let outcome = try await h.run(Self.parallel)
            #expect(outcome.stderr.contains("refused the partition filter") && outcome.stderr.contains("sequential first rounds"), "\(outcome.stderr.suffix(1500))")
            let record = try await Self.firstLoad(h)
            #expect(record["outcome"] as? String == "fell_back", "\(record)")
            try await h.expectTablesEqualTruth([tenant], "after the fallback")
            #expect(try await Self.requests(h, "/users/delta") > 1, "the users were read by their delta chain")
        }
    }
}
