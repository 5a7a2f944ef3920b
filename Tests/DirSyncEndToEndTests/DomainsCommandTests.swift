import DirSyncTestSupport
import Foundation
import PostgresStore
import Testing

@Suite("dirsync domains (built binary)", .enabled(if: TestEnvironment.databaseTestsEnabled))
struct DomainsCommandTests {
    @Test("add discovers the tenant and lower-cases; a duplicate or malformed domain is refused with exit 2 and one line")
    func addValidatesAndDiscovers() async throws {
        try await SyncHarness.with(["--tenants", "2", "--users", "10", "--groups", "2", "--seed", "31"]) { h in
            let tenants = try await h.sim.tenants()
            let added = try await h.dirsync(["domains", "add", "Tenant1-Verified.EXAMPLE."])
            #expect(added.exitCode == 0, "\(added.stderr)")
            #expect(added.stdout.contains("tenant1-verified.example"))
            #expect(added.stdout.contains(tenants[0].id.uuidString.lowercased()))

            let duplicate = try await h.dirsync(["domains", "add", "tenant1-verified.example"])
            #expect(duplicate.exitCode == 2)
            #expect(duplicate.stderrLines.count == 1 && duplicate.stderr.contains("already onboarded"))

            let unknown = try await h.dirsync(["domains", "add", "nobody-owns-this.example"])
            #expect(unknown.exitCode == 1)
            #expect(unknown.stderr.contains("--tenant-id"), "the fix for an undiscoverable tenant: \(unknown.stderr)")

            for bad in ["bad domain", "trail-.example", "single", "x@contoso.com", "https://contoso.com"] {
                let outcome = try await h.dirsync(["domains", "add", bad])
                #expect(outcome.exitCode == 2, "\(bad): \(outcome.stderr)")
                #expect(outcome.stderr.contains("not a valid domain name"), "\(bad): \(outcome.stderr)")
            }
            let badTenant = try await h.dirsync(["domains", "add", "contoso.example", "--tenant-id", "not-a-guid"])
            #expect(badTenant.exitCode == 2)
            #expect(badTenant.stderr.contains("--tenant-id"))
        }
    }

    @Test("list prints a table and stable JSON; remove disables; --purge deletes the tenant's rows only when no other domain uses it")
    func listRemovePurge() async throws {
        try await SyncHarness.with(["--tenants", "2", "--users", "40", "--groups", "4", "--seed", "32"]) { h in
            let tenants = try await h.sim.tenants()
            try await h.onboard([("tenant1-verified.example", tenants[0].id), ("tenant1.onmicrosoft.com", tenants[0].id), ("tenant2-verified.example", tenants[1].id)])
            try await h.run()

            let json = try await h.dirsync(["domains", "list", "--format", "json"])
            let list = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
            #expect(list.map { $0["domain"] as? String } == ["tenant1-verified.example", "tenant1.onmicrosoft.com", "tenant2-verified.example"])
            for entry in list {
                for field in ["domain", "tenant_id", "enabled", "onboarded_at", "client_id", "verified_at", "problem"] {
                    #expect(entry.keys.contains(field), "domains list JSON lacks \(field)")
                }
                #expect(entry["verified_at"] is String)
            }
            #expect(try await h.dirsync(["domains", "list"]).stdout.contains("tenant2-verified.example"))

            // The tenant still serves another domain: --purge refuses, plain remove disables.
            let refused = try await h.dirsync(["domains", "remove", "tenant1-verified.example", "--purge"])
            #expect(refused.exitCode == 2)
            #expect(refused.stderr.contains("tenant1.onmicrosoft.com"))
            #expect(try await h.dirsync(["domains", "remove", "tenant1-verified.example"]).exitCode == 0)
            #expect(try await h.scalar("SELECT count(*)::int AS n FROM directory.domains WHERE NOT enabled") == 1)
            #expect(try await h.scalar("SELECT count(*)::int AS n FROM directory.users WHERE tenant_id = \(tenants[0].id)") == 40)

            // The only domain of tenant 2: --purge removes it and every row of its tenant, and nothing else.
            let purged = try await h.dirsync(["domains", "remove", "tenant2-verified.example", "--purge"])
            #expect(purged.exitCode == 0, "\(purged.stderr)")
            for table in ["users", "groups", "group_members", "sync_cursors"] {
                #expect(try await h.scalar(SQL(unsafeSQL: "SELECT count(*)::int AS n FROM directory.\(table) WHERE tenant_id = $1", binds: [tenants[1].id.uuidString.lowercased()])) == 0, "\(table) kept rows")
            }
            #expect(try await h.scalar("SELECT count(*)::int AS n FROM directory.users WHERE tenant_id = \(tenants[0].id)") == 40)
            #expect(try await h.scalar("SELECT count(*)::int AS n FROM directory.domains WHERE domain = 'tenant2-verified.example'") == 0)

            let missing = try await h.dirsync(["domains", "remove", "never-added.example"])
            #expect(missing.exitCode == 2 && missing.stderr.contains("not onboarded"))

            // Re-adding a removed domain enables it again.
            #expect(try await h.dirsync(["domains", "add", "tenant1-verified.example", "--tenant-id", tenants[0].id.uuidString]).exitCode == 0)
            #expect(try await h.scalar("SELECT count(*)::int AS n FROM directory.domains WHERE enabled") == 2)
        }
    }
}
