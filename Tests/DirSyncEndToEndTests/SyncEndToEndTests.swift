import DirSyncCore
import DirSyncTestDoubles
import DirSyncTestSupport
import Foundation
import PostgresStore
import Testing

@Suite("dirsync run end to end (built binaries, graph-sim, PostgreSQL)", .enabled(if: TestEnvironment.databaseTestsEnabled))
struct SyncEndToEndTests {
    @Test("two tenants and three domains sync exactly, and stay exact through seeded rounds of mutations")
    func initialSyncThenMutationRounds() async throws {
        try await SyncHarness.with(["--tenants", "2", "--users", "300", "--groups", "40", "--seed", "11", "--page-size", "50", "--members-per-page", "60"]) { h in
            let tenants = try await h.sim.tenants()
            let (t1, t2) = (tenants[0].id, tenants[1].id)
            try await h.onboard([("tenant1-verified.example", t1), ("tenant1.onmicrosoft.com", t1), ("tenant2-verified.example", t2)])
            let first = try await h.run()
            #expect(first.stdout.contains("full"))
            try await h.expectTablesEqualTruth([t1, t2], "after the initial sync")
            // Domains sharing a tenant are synced once.
            #expect(try await h.scalar("SELECT count(*)::int AS n FROM directory.sync_runs WHERE tenant_id = \(t1)") == 1)
            #expect(try await h.scalar("SELECT count(*)::int AS n FROM directory.domains WHERE verified_at IS NOT NULL") == 3)

            for round in 1...12 {
                try await h.sim.mutate(tenant: t1, seed: 1000 + round, count: 30)
                if round % 3 == 0 { try await h.sim.mutate(tenant: t2, seed: 2000 + round, count: 15) }
                let outcome = try await h.run()
                #expect(outcome.stdout.contains("incremental"))
                try await h.expectTablesEqualTruth([t1, t2], "after mutation round \(round)")
            }
        }
    }

    @Test("a 3,000-member group spread over many pages is stored whole and follows large membership changes")
    func largeGroup() async throws {
        try await SyncHarness.with(["--users", "3200", "--groups", "5", "--seed", "5", "--members-per-page", "400"]) { h in
            let tenant = try await h.sim.tenants()[0].id
            let users = try await h.sim.truth(tenant: tenant).users.map(\.id)
            let created = try await h.sim.request("POST", "/_graphsim/tenants/\(tenant.uuidString.lowercased())/mutations", json: [
                "operations": [["op": "createGroup", "group": ["displayName": "Everyone", "securityEnabled": true, "mailEnabled": false, "groupTypes": []]]],
            ]) as? [String: Any]
            let group = try #require((created?["createdGroups"] as? [String])?.first)
            try await h.sim.mutate(tenant: tenant, operations: users.prefix(3000).map { ["op": "addMember", "groupId": group, "memberId": $0, "memberType": "user"] })
            try await h.onboard([("tenant1-verified.example", tenant)])
            try await h.run()
            try await h.expectTablesEqualTruth([tenant], "after the initial sync")
            #expect(try await h.scalar("SELECT count(*)::int AS n FROM directory.group_members WHERE group_id = \(UUID(uuidString: group)!)") == 3000)

            var changes: [[String: Any]] = users.prefix(700).map { ["op": "removeMember", "groupId": group, "memberId": $0] }
            changes += users.dropFirst(3000).prefix(150).map { ["op": "addMember", "groupId": group, "memberId": $0, "memberType": "user"] }
            try await h.sim.mutate(tenant: tenant, operations: changes)
            try await h.run()
            try await h.expectTablesEqualTruth([tenant], "after 700 removals and 150 additions")
            #expect(try await h.scalar("SELECT count(*)::int AS n FROM directory.group_members WHERE group_id = \(UUID(uuidString: group)!)") == 2450)
        }
    }

    @Test("a member removed before its group was soft-deleted and restored is gone after the next run")
    func removalBeforeRestoreIsReported() async throws {
        try await SyncHarness.with(["--users", "60", "--groups", "4", "--members-per-group", "10", "--seed", "41"]) { h in
            let tenant = try await h.sim.tenants()[0].id
            try await h.onboard([("tenant1-verified.example", tenant)])
            try await h.run()
            let truth = try await h.sim.truth(tenant: tenant)
            let membership = try #require(truth.memberships.first { $0.memberType == "user" })
            try await h.sim.mutate(tenant: tenant, operations: [
                ["op": "removeMember", "groupId": membership.groupId, "memberId": membership.memberId],
                ["op": "softDeleteGroup", "id": membership.groupId],
                ["op": "restoreGroup", "id": membership.groupId],
            ])
            try await h.run()
            try await h.expectTablesEqualTruth([tenant], "after remove, soft delete and restore")
            let stale = try await h.scalar("""
                SELECT count(*)::int AS n FROM directory.group_members
                WHERE group_id = \(UUID(uuidString: membership.groupId)!) AND member_id = \(UUID(uuidString: membership.memberId)!)
                """)
            #expect(stale == 0)
        }
    }

    @Test("a 410 resync starts a full round whose sweep catches deletions made while no delta state existed")
    func resyncSweepsGapDeletions() async throws {
        try await SyncHarness.with(["--users", "200", "--groups", "20", "--seed", "9", "--page-size", "40"]) { h in
            let tenant = try await h.sim.tenants()[0].id
            try await h.onboard([("tenant1-verified.example", tenant)])
            try await h.run()
            let truth = try await h.sim.truth(tenant: tenant)
            let doomed = truth.users.prefix(5).map(\.id)
            try await h.sim.mutate(tenant: tenant, operations: doomed.map { ["op": "hardDeleteUser", "id": $0] } + [["op": "hardDeleteGroup", "id": truth.groups[0].id]])
            try await h.sim.addFault(["kind": "deltaLinkGone", "count": 2])
            try await h.run()
            try await h.expectTablesEqualTruth([tenant], "after the resync")
            #expect(try await h.scalar("SELECT count(*)::int AS n FROM directory.sync_runs WHERE mode = 'resync' AND state = 'succeeded'") == 1)
            let swept = try await h.scalar("SELECT count(*)::int AS n FROM directory.users WHERE deleted_at IS NOT NULL AND id = ANY(\(UUIDArray(doomed.compactMap(UUID.init(uuidString:))))::uuid[])")
            #expect(swept == 5)
        }
    }

    @Test("runs killed with SIGKILL at seeded points of a round resume from the last committed page and converge on the tenant")
    func killNineResumes() async throws {
        try await SyncHarness.with(["--users", "1500", "--groups", "60", "--seed", "21", "--page-size", "25", "--members-per-page", "40"]) { h in
            let tenant = try await h.sim.tenants()[0].id
            try await h.onboard([("tenant1-verified.example", tenant)])
            // Each run is killed while graph-sim holds its users page number 2 to 9 (seeded). Six runs answer
            // at most 48 of the round's 60 users pages, so every kill lands mid-round.
            var generator = SplitMix64(seed: 42)
            for attempt in 0..<6 {
                if attempt == 3 { try await h.sim.mutate(tenant: tenant, seed: 77, count: 40) }
                let after = Int.random(in: 1...8, using: &generator)
                let outcome = try await h.runKilled(after: after)
                #expect(outcome.signalled && outcome.exitCode == SIGKILL, "attempt \(attempt): \(outcome.exitCode) \(outcome.stderr.suffix(800))")
            }
            try await h.run()
            try await h.expectTablesEqualTruth([tenant], "after the final run")
            // Every killed run that got as far as recording itself shows as interrupted; none is left running.
            let interrupted = try await h.scalar("SELECT count(*)::int AS n FROM directory.sync_runs WHERE state = 'interrupted'")
            let recorded = try await h.scalar("SELECT count(*)::int AS n FROM directory.sync_runs")
            let succeeded = try await h.scalar("SELECT count(*)::int AS n FROM directory.sync_runs WHERE state = 'succeeded'")
            #expect(try await h.scalar("SELECT count(*)::int AS n FROM directory.sync_runs WHERE state = 'running'") == 0)
            #expect(interrupted >= 1)
            #expect(interrupted + succeeded == recorded)
        }
    }

    @Test("two runs started at once both exit 0; the tenant is synced once and nothing is applied twice")
    func concurrentRuns() async throws {
        try await SyncHarness.with(["--tenants", "2", "--users", "600", "--groups", "30", "--seed", "3", "--page-size", "30"]) { h in
            let tenants = try await h.sim.tenants()
            try await h.onboard([("tenant1-verified.example", tenants[0].id), ("tenant2-verified.example", tenants[1].id)])
            try await h.sim.addFault(["kind": "latency", "latencyMs": 10, "probability": 1])
            async let a = h.dirsync(["run"])
            async let b = h.dirsync(["run"])
            let (first, second) = try await (a, b)
            #expect(first.exitCode == 0 && second.exitCode == 0, "\(first.stderr.suffix(500)) \(second.stderr.suffix(500))")
            try await h.expectTablesEqualTruth(tenants.map(\.id), "after two overlapping runs")
            for tenant in tenants.map(\.id) {
                // One full round per tenant: the other run either skipped it or found nothing left to do.
                #expect(try await h.scalar("SELECT count(*)::int AS n FROM directory.sync_runs WHERE tenant_id = \(tenant) AND mode = 'full'") == 1)
            }
            #expect((first.stdout + second.stdout).contains("skipped") || (first.stdout + second.stdout).contains("incremental"))
        }
    }

    @Test("the deletion guard halts a mass deletion with nothing deleted; --dry-run writes nothing; --allow-deletes completes it")
    func deletionGuardAndDryRun() async throws {
        try await SyncHarness.with(["--users", "200", "--groups", "10", "--seed", "4"]) { h in
            let tenant = try await h.sim.tenants()[0].id
            try await h.onboard([("tenant1-verified.example", tenant)])
            try await h.run()
            let users = try await h.sim.truth(tenant: tenant).users.filter { $0.deleted == nil }.map(\.id)
            try await h.sim.mutate(tenant: tenant, operations: users.prefix(60).map { ["op": "hardDeleteUser", "id": $0] })

            let before = try await h.rowVersions()
            let dry = try await h.run(["--dry-run"], expect: 3)
            #expect(dry.stdout.contains("dry run"))
            #expect(try await h.rowVersions() == before, "a dry run must write nothing")

            let halted = try await h.run(expect: 3)
            #expect(halted.stderr.contains("deletion guard"))
            #expect(try await h.scalar("SELECT count(*)::int AS n FROM directory.users WHERE deleted_at IS NOT NULL") == 0)
            #expect(try await h.scalar("SELECT count(*)::int AS n FROM directory.sync_runs WHERE state = 'halted' AND deletions_pending = 60 AND deletion_limit = 42") == 1)
            try await h.run(expect: 3)

            try await h.run(["--allow-deletes"])
            try await h.expectTablesEqualTruth([tenant], "after --allow-deletes")
            #expect(try await h.scalar("SELECT count(*)::int AS n FROM directory.users WHERE deleted_at IS NOT NULL") == 60)
        }
    }

    @Test("an incremental run with no changes costs one Graph request per resource per tenant, plus its domain list, and changes no row")
    func noChangeRunIsCheap() async throws {
        try await SyncHarness.with(["--tenants", "2", "--users", "150", "--groups", "15", "--seed", "8", "--duplicate-rate", "0"]) { h in
            let tenants = try await h.sim.tenants()
            try await h.onboard([("tenant1-verified.example", tenants[0].id), ("tenant2-verified.example", tenants[1].id)])
            try await h.run()
            try await h.run()
            try await h.sim.resetStats()
            let directory = try await h.connection.query("""
                SELECT (SELECT coalesce(string_agg(xmin::text, ',' ORDER BY id), '') FROM directory.users) || (SELECT coalesce(string_agg(xmin::text, ',' ORDER BY id), '') FROM directory.groups)
                    || (SELECT coalesce(string_agg(xmin::text, ',' ORDER BY id), '') FROM directory.contacts)
                    || (SELECT coalesce(string_agg(xmin::text, ',' ORDER BY group_id, member_id), '') FROM directory.group_members)
                    || (SELECT coalesce(string_agg(xmin::text, ',' ORDER BY object_id, address), '') FROM directory.addresses)
                    || (SELECT coalesce(string_agg(xmin::text, ',' ORDER BY group_id, ancestor_id), '') FROM directory.group_ancestors) AS v
                """).first?.string("v")
            try await h.run()
            let stats = try await h.sim.stats()
            let endpoints = stats["requestsByEndpoint"] as? [String: Int] ?? [:]
            for resource in DirectoryResource.allCases {
                #expect(endpoints["GET /v1.0/\(resource.rawValue)/delta"] == 2, "\(resource)")
            }
            // Besides, each tenant's domain list is read once per run (it is what status and resolve know of the tenant's domains).
            #expect(endpoints["GET /v1.0/domains"] == 2)
            #expect(endpoints.keys.filter { $0.contains("/v1.0/") }.count == DirectoryResource.allCases.count + 1, "only delta requests and the domain list: \(endpoints)")
            let after = try await h.connection.query("""
                SELECT (SELECT coalesce(string_agg(xmin::text, ',' ORDER BY id), '') FROM directory.users) || (SELECT coalesce(string_agg(xmin::text, ',' ORDER BY id), '') FROM directory.groups)
                    || (SELECT coalesce(string_agg(xmin::text, ',' ORDER BY id), '') FROM directory.contacts)
                    || (SELECT coalesce(string_agg(xmin::text, ',' ORDER BY group_id, member_id), '') FROM directory.group_members)
                    || (SELECT coalesce(string_agg(xmin::text, ',' ORDER BY object_id, address), '') FROM directory.addresses)
                    || (SELECT coalesce(string_agg(xmin::text, ',' ORDER BY group_id, ancestor_id), '') FROM directory.group_ancestors) AS v
                """).first?.string("v")
            #expect(after == directory, "no directory row may change")
        }
    }

    @Test("a domain that is not verified in its tenant is marked failed and its tenant's data is not written for it")
    func unverifiedDomain() async throws {
        try await SyncHarness.with(["--tenants", "2", "--users", "50", "--groups", "5", "--seed", "6"]) { h in
            let tenants = try await h.sim.tenants()
            try await h.onboard([("tenant2-unverified.example", tenants[1].id)])
            let outcome = try await h.run(expect: 1)
            #expect(outcome.stdout.contains("not a verified domain") || outcome.stdout.contains("no domain of this tenant is verified"))
            #expect(try await h.scalar("SELECT count(*)::int AS n FROM directory.users") == 0)
            let problem = try await h.connection.query("SELECT problem FROM directory.domains WHERE domain = 'tenant2-unverified.example'").first?.optionalString("problem")
            #expect(problem?.contains("not a verified domain") == true)
        }
    }
}
