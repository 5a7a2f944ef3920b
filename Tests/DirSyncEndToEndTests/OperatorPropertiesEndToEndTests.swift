import DirSyncCore
import DirSyncTestSupport
import Foundation
import PostgresStore
import Testing

/// The contract's new properties and the operator's chosen ones, through the built binary, graph-sim
/// and a real PostgreSQL: equal to graph-sim's truth after every round; a changed choice costs one
/// full round of that resource and no deletions; a property Graph does not know fails only the
/// tenant that does not know it.
@Suite("more properties end to end: new columns, chosen properties, planned resync", .enabled(if: TestEnvironment.databaseTestsEnabled))
struct OperatorPropertiesEndToEndTests {
    /// graph-sim's app registers this directory extension in every generated tenant.
    static let costCenter = "extension_\(GraphSimProcess.clientID.replacingOccurrences(of: "-", with: ""))_costCenter"
    static let chosen = ["preferredLanguage", "onPremisesExtensionAttributes", "businessPhones", "mobilePhone", costCenter]

    static func schema(users: [String], groups: [String] = []) -> DirectorySchema {
        DirectorySchema(users: FieldTable.users.selecting(attributes: users), groups: FieldTable.groups.selecting(attributes: groups))
    }

    static func expectEqualTruth(_ h: SyncHarness, _ tenant: UUID, schema: DirectorySchema, _ context: String,
                                 sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let json = try await h.sim.request("GET", "/_graphsim/tenants/\(tenant.uuidString.lowercased())/truth")
        let truth = try DirectoryTruth(json: try JSONSerialization.data(withJSONObject: json), schema: schema)
        let differences = try await truth.differences(from: h.connection, tenant: tenant, schema: schema)
        #expect(differences.isEmpty, "\(context): \(differences.prefix(8).joined(separator: "\n"))", sourceLocation: sourceLocation)
    }

    static func usersDeltaRequests(_ h: SyncHarness) async throws -> Int {
        let stats = try await h.sim.stats()
        let endpoints = stats["requestsByEndpoint"] as? [String: Int] ?? [:]
        return endpoints.filter { $0.key.contains("/users/delta") }.reduce(0) { $0 + $1.value }
    }

    @Test("new columns and chosen properties (extension attributes, a directory extension, phones) equal the truth after a first sync and seeded rounds with managers set, changed and removed")
    func columnsAndAttributesFollowTheTenant() async throws {
        try await SyncHarness.with(["--users", "180", "--groups", "20", "--seed", "181", "--page-size", "40"]) { h in
            let tenant = try await h.sim.tenants()[0].id
            try await h.onboard([("tenant1-verified.example", tenant)])
            let properties = ["DIRSYNC_USER_PROPERTIES": Self.chosen.joined(separator: ","), "DIRSYNC_GROUP_PROPERTIES": "classification"]
            let schema = Self.schema(users: Self.chosen, groups: ["classification"])
            let first = try await h.dirsync(["run"], extraEnvironment: properties)
            #expect(first.exitCode == 0, "\(first.stderr.suffix(1500))")
            try await Self.expectEqualTruth(h, tenant, schema: schema, "after the first sync")
            let managers = try await h.scalar("SELECT count(*)::int AS n FROM directory.users WHERE manager_id IS NOT NULL")
            let extensions = try await h.scalar("SELECT count(*)::int AS n FROM directory.users WHERE attributes ? \(Self.costCenter)")
            #expect(managers > 10 && extensions > 10, "the tenant should have managers (\(managers)) and cost centers (\(extensions))")

            for round in 0..<4 {
                // Live objects of this round (the seeded mutations delete some).
                let truth = try await h.sim.truth(tenant: tenant)
                let users = truth.users.filter { $0.deleted == nil }.map(\.id), groups = truth.groups.filter { $0.deleted == nil }.map(\.id)
                try await h.sim.mutate(tenant: tenant, operations: [
                    ["op": "setManager", "id": users[round], "managerId": users[round + 10]],
                    ["op": "removeManager", "id": users[round + 20]],
                    ["op": "updateUser", "id": users[round + 30], "set": ["preferredLanguage": NSNull(), "employeeId": NSNull(), Self.costCenter: "CC-\(round)"]],
                    ["op": "updateUser", "id": users[round + 40], "set": ["onPremisesExtensionAttributes": ["extensionAttribute3": "round \(round)"],
                                                                          "businessPhones": ["+1 555 01\(round)0"], "otherMails": ["alt\(round)@other.example"]]],
                    ["op": "updateGroup", "id": groups[round], "set": ["classification": round % 2 == 0 ? "Confidential" as Any : NSNull()]],
                ])
                try await h.sim.mutate(tenant: tenant, seed: 1810 + round, count: 60)
                let outcome = try await h.dirsync(["run"], extraEnvironment: properties)
                #expect(outcome.exitCode == 0, "\(outcome.stderr.suffix(1500))")
                try await Self.expectEqualTruth(h, tenant, schema: schema, "after round \(round + 1)")
            }
            // otherMails reach the read side.
            let resolved = try await h.scalar("SELECT count(*)::int AS n FROM directory.resolve('alt3@other.example')")
            #expect(resolved == 1)
        }
    }

    @Test("adding preferredLanguage between runs: one full users round with the reason in status while it runs, no deletions, then incremental again; dry run says it is due")
    func changedSelectionResyncsOnce() async throws {
        try await SyncHarness.with(["--users", "240", "--groups", "20", "--seed", "182", "--page-size", "20"]) { h in
            let tenant = try await h.sim.tenants()[0].id
            try await h.onboard([("tenant1-verified.example", tenant)])
            try await h.sim.resetStats()
            try await h.run()
            let fullRoundRequests = try await Self.usersDeltaRequests(h)
            #expect(fullRoundRequests > 10)
            let deletedBefore = try await h.scalar("SELECT count(*)::int AS n FROM directory.users WHERE deleted_at IS NOT NULL")
            let properties = ["DIRSYNC_USER_PROPERTIES": "preferredLanguage"]

            let dry = try await h.dirsync(["run", "--dry-run"], extraEnvironment: properties)
            #expect(dry.exitCode == 0 && dry.stderr.contains("resync: selected properties changed (+preferredLanguage)"), "\(dry.stderr.suffix(1500))")
            #expect(dry.stdout.contains("due: users: resync"), "\(dry.stdout)")

            // Status is read while graph-sim holds the resync's fourth users page.
            try await h.sim.resetStats()
            try await h.sim.pause(after: 3, pathPrefix: "/v1.0/users/delta")
            let running = try h.start(["run"], extraEnvironment: properties)
            try await h.sim.waitUntilPaused(running)
            let status = try await h.dirsync(["status", "--format", "json"])
            try await h.sim.endPause()
            let ended = try await running.finish()
            #expect(ended.exitCode == 0, "\(ended.stderr.suffix(1500))")
            let entries = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [[String: Any]] ?? []
            #expect(entries.first?["state"] as? String == "running")
            #expect((entries.first?["progress"] as? [String: Any])?["note"] as? String == "users: resync: selected properties changed (+preferredLanguage)",
                    "status while running: \(status.stdout)")
            #expect(entries.first?["message"] as? String == "users: resync: selected properties changed (+preferredLanguage)")

            #expect(try await Self.usersDeltaRequests(h) == fullRoundRequests, "exactly one full users round")
            let record = try await h.connection.query("SELECT mode, reason, objects_deleted FROM directory.sync_runs ORDER BY run_id DESC LIMIT 1").first!
            #expect(try record.string("mode") == "resync")
            #expect(try record.optionalString("reason") == "users: resync: selected properties changed (+preferredLanguage)")
            #expect(try record.int("objects_deleted") == 0)
            #expect(try await h.scalar("SELECT count(*)::int AS n FROM directory.users WHERE deleted_at IS NOT NULL") == deletedBefore)
            try await Self.expectEqualTruth(h, tenant, schema: Self.schema(users: ["preferredLanguage"]), "after the resync")

            // The next run is incremental again: one users/delta request.
            try await h.sim.resetStats()
            let next = try await h.dirsync(["run"], extraEnvironment: properties)
            #expect(next.exitCode == 0)
            #expect(try await Self.usersDeltaRequests(h) == 1)
            #expect(try await h.connection.query("SELECT mode FROM directory.sync_runs ORDER BY run_id DESC LIMIT 1").first!.string("mode") == "incremental")

            // Dropping the property again resyncs once more and clears its key everywhere.
            let dropped = try await h.dirsync(["run", "--user-properties", ""])
            #expect(dropped.exitCode == 0)
            #expect(try await h.scalar("SELECT count(*)::int AS n FROM directory.users WHERE attributes ? 'preferredLanguage'") == 0)
        }
    }

    @Test("a property one tenant does not know fails that tenant alone, naming it and the fix, and changes nothing there; after fixing the setting both sync")
    func unknownPropertyFailsOnlyItsTenant() async throws {
        try await SyncHarness.with(["--tenants", "2", "--users", "80", "--groups", "8", "--seed", "183"]) { h in
            let tenants = try await h.sim.tenants()
            try await h.onboard([("tenant1-verified.example", tenants[0].id), ("tenant2-verified.example", tenants[1].id)])
            try await h.run()
            // Only tenant 1's application registers the badge extension.
            try await h.sim.configure(tenant: tenants[0].id, ["directoryExtensions": [["name": "badge", "dataType": "String"]]])
            let badge = "extension_\(GraphSimProcess.clientID.replacingOccurrences(of: "-", with: ""))_badge"
            let before = try await h.rowVersions()
            let properties = ["DIRSYNC_USER_PROPERTIES": "\(Self.costCenter),\(badge)"]
            let failed = try await h.dirsync(["run"], extraEnvironment: properties)
            #expect(failed.exitCode == 1)
            #expect(failed.stderr.contains("Graph does not know the property '\(badge)' of users"), "\(failed.stderr.suffix(1500))")
            #expect(failed.stderr.contains("correct or remove '\(badge)' in DIRSYNC_USER_PROPERTIES"), "\(failed.stderr.suffix(1500))")
            let states = try await h.connection.query("""
                SELECT DISTINCT ON (tenant_id) tenant_id, state, error_class FROM directory.sync_runs ORDER BY tenant_id, run_id DESC
                """)
            for row in states {
                let isSecond = try row.uuid("tenant_id") == tenants[1].id
                #expect(try row.string("state") == (isSecond ? "failed" : "succeeded"))
                if isSecond { #expect(try row.optionalString("error_class") == "configuration") }
            }
            let second = try await h.scalar("""
                SELECT count(*)::int AS n FROM directory.users WHERE tenant_id = \(tenants[1].id) AND attributes <> '{}'::jsonb
                """)
            #expect(second == 0)
            #expect(before != (try await h.rowVersions()), "tenant 1 synced its cost centers")
            #expect(try await h.scalar("SELECT count(*)::int AS n FROM directory.users WHERE tenant_id = \(tenants[0].id) AND attributes ? \(Self.costCenter)") > 0)

            // The operator removes the property: both tenants sync (tenant 1 resyncs once without it).
            try await h.run()
            try await Self.expectEqualTruth(h, tenants[1].id, schema: .standard, "tenant 2 after the fix")
        }
    }

    @Test("bad property settings stop every command that syncs before anything runs, with exit 2 and the fix")
    func badSettingsExitTwo() async throws {
        try await SyncHarness.with(["--users", "20", "--groups", "2", "--seed", "184"]) { h in
            for (variable, value, message) in [
                ("DIRSYNC_USER_PROPERTIES", "employee id", "is not a Graph property name"),
                ("DIRSYNC_USER_PROPERTIES", "mail", "is already stored in directory.users.mail"),
                ("DIRSYNC_GROUP_PROPERTIES", "visibility,Visibility", "is already stored in directory.groups.visibility"),
                ("DIRSYNC_USER_PROPERTIES", "preferredLanguage,,x", "has an empty name"),
            ] {
                let outcome = try await h.dirsync(["run"], extraEnvironment: [variable: value])
                #expect(outcome.exitCode == 2, "\(variable)=\(value): \(outcome.stderr)")
                #expect(outcome.stderr.contains(variable) && outcome.stderr.contains(message), "\(outcome.stderr)")
            }
            let flag = try await h.dirsync(["run", "--user-properties", "a,a"])
            #expect(flag.exitCode == 2 && flag.stderr.contains("--user-properties names 'a' twice"), "\(flag.stderr)")
            #expect(try await h.scalar("SELECT count(*)::int AS n FROM directory.sync_runs") == 0)
        }
    }
}
