import DirSyncCore
import DirSyncTestDoubles
import DirSyncTestSupport
import Foundation
import PostgresStore
import Testing

/// The read side through the built binary: after a first sync and after every seeded round of
/// changes (addresses renamed, aliases moved, contacts added, groups nested, moved, deleted and
/// restored, a nesting cycle closed), `directory.resolve` answers for every address in graph-sim's
/// truth exactly what a breadth-first walk over that truth says, and `member_of` and
/// `transitive_members` agree with it.
@Suite("read side end to end: resolve, member_of, transitive_members against the truth", .enabled(if: TestEnvironment.databaseTestsEnabled))
struct ReadSideEndToEndTests {
    static let simulator = ["--users", "400", "--groups", "64", "--members-per-group", "12", "--nesting", "deep", "--seed", "140", "--page-size", "60"]

    /// Every address of the truth, and a sample of objects and groups, compared with the database's answers.
    static func expectReadModelMatchesTruth(_ h: SyncHarness, tenant: UUID, _ context: String,
                                            sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let truth = try await h.sim.truth(tenant: tenant)
        let oracle = ReadModelOracle(truth)
        var problems: [String] = []
        for (address, expected) in oracle.owners.sorted(by: { $0.key < $1.key }) {
            let rows = try await h.connection.query("""
                SELECT object_id, object_type, display_name, account_enabled, user_type, internal, group_ids::text[] AS groups
                FROM directory.resolve(\(address), \(tenant))
                """)
            let actual = Set(try rows.map { row in
                ReadModelOracle.Owner(objectID: try row.uuid("object_id").uuidString.lowercased(), objectType: try row.string("object_type"),
                                      displayName: try row.optionalString("display_name"), accountEnabled: try row.optionalBool("account_enabled"),
                                      userType: try row.optionalString("user_type"), isInternal: try row.bool("internal"),
                                      groupIDs: try row.stringArray("groups"))
            })
            if actual != expected { problems.append("\(address): resolved \(actual.sorted { $0.objectID < $1.objectID }), expected \(expected.sorted { $0.objectID < $1.objectID })") }
        }
        let stored = Set(try await h.connection.query("SELECT DISTINCT address FROM directory.addresses WHERE tenant_id = \(tenant)").map { try $0.string("address") })
        for extra in stored.subtracting(oracle.owners.keys).sorted().prefix(5) { problems.append("\(extra) is stored but owned by nobody live") }

        let liveGroups = truth.groups.filter { $0.deleted == nil }.map(\.id)
        let sampleObjects = truth.users.prefix(40).map(\.id) + liveGroups + truth.contacts.prefix(10).map(\.id)
        for object in sampleObjects {
            var actual: [String: Int] = [:]
            for row in try await h.connection.query("SELECT group_id, depth FROM directory.member_of(\(tenant), \(UUID(uuidString: object)!))") {
                actual[try row.uuid("group_id").uuidString.lowercased()] = try row.int("depth")
            }
            if actual != oracle.memberOf(object) { problems.append("member_of \(object): \(actual.count) groups, expected \(oracle.memberOf(object).count)") }
        }
        for group in liveGroups {
            var actual: [String: Int] = [:]
            for row in try await h.connection.query("SELECT member_id, depth FROM directory.transitive_members(\(tenant), \(UUID(uuidString: group)!))") {
                actual[try row.uuid("member_id").uuidString.lowercased()] = try row.int("depth")
            }
            let expected = oracle.transitiveMembers(group)
            if actual != expected {
                let missing = Set(expected.keys).subtracting(actual.keys).count, extra = Set(actual.keys).subtracting(expected.keys).count
                problems.append("transitive_members \(group): \(actual.count) members, expected \(expected.count) (\(missing) missing, \(extra) extra)")
            }
        }
        #expect(problems.isEmpty, "\(context): \(problems.count) differences:\n\(problems.prefix(8).joined(separator: "\n"))", sourceLocation: sourceLocation)
        #expect(oracle.owners.count > 300, "\(context): the tenant should have hundreds of addresses, not \(oracle.owners.count)", sourceLocation: sourceLocation)
    }

    /// Nesting operations that random mutations rarely produce: a group moved under another, a nesting cycle, a group deleted and restored.
    static func nestingChanges(_ h: SyncHarness, tenant: UUID, seed: Int) async throws -> [[String: Any]] {
        let truth = try await h.sim.truth(tenant: tenant)
        var random = SplitMix64(seed: UInt64(seed))
        let liveGroups = truth.groups.filter { $0.deleted == nil }.map(\.id)
        let live = Set(liveGroups)
        let nested = truth.memberships.filter { $0.memberType == "group" && live.contains($0.groupId) && live.contains($0.memberId) }
        guard nested.count > 3 else { return [] }
        let moved = nested[random.int(nested.count)]
        let newParent = liveGroups.first { $0 != moved.memberId && $0 != moved.groupId } ?? moved.groupId
        // A cycle: the child of an edge takes the parent of that edge as its member.
        let cycle = nested[random.int(nested.count)]
        let doomed = nested[random.int(nested.count)].groupId
        return [
            ["op": "removeMember", "groupId": moved.groupId, "memberId": moved.memberId],
            ["op": "addMember", "groupId": newParent, "memberId": moved.memberId],
            ["op": "addMember", "groupId": cycle.memberId, "memberId": cycle.groupId],
            ["op": "softDeleteGroup", "id": doomed],
            ["op": "createContact", "contact": ["displayName": "New Vendor \(seed)", "mail": "Sales\(seed)@Vendor.example",
                                                "proxyAddresses": ["SMTP:Sales\(seed)@Vendor.example", "smtp:info\(seed)@vendor.example"]]],
        ]
    }

    @Test("after a first sync and five seeded rounds of changes, every address resolves to exactly its owners, flags and nested groups")
    func resolveMatchesTruthAcrossChanges() async throws {
        try await SyncHarness.with(Self.simulator) { h in
            let tenant = try await h.sim.tenants()[0].id
            try await h.onboard([("tenant1-verified.example", tenant)])
            try await h.run()
            try await Self.expectReadModelMatchesTruth(h, tenant: tenant, "after the first sync")
            for round in 0..<5 {
                let seed = 7_000 + round
                let operations = try await Self.nestingChanges(h, tenant: tenant, seed: seed)
                // Restore a group deleted earlier, so restores are covered too.
                let softDeleted = try await h.sim.truth(tenant: tenant).groups.filter { $0.deleted == "changed" }.map(\.id)
                let restore: [[String: Any]] = softDeleted.first.map { [["op": "restoreGroup", "id": $0]] } ?? []
                try await h.sim.mutate(tenant: tenant, operations: restore + operations)
                try await h.sim.mutate(tenant: tenant, seed: seed, count: 60)
                try await h.run()
                try await Self.expectReadModelMatchesTruth(h, tenant: tenant, "after round \(round + 1)")
            }
        }
    }

    @Test("a forced full resync and a 410 resync leave the read model equal to the truth")
    func resyncsKeepReadModel() async throws {
        try await SyncHarness.with(Self.simulator) { h in
            let tenant = try await h.sim.tenants()[0].id
            try await h.onboard([("tenant1-verified.example", tenant)])
            try await h.run()
            try await h.sim.mutate(tenant: tenant, operations: try await Self.nestingChanges(h, tenant: tenant, seed: 99))
            try await h.sim.mutate(tenant: tenant, seed: 98, count: 80)
            try await h.run(["--full", "--allow-deletes"])
            try await Self.expectReadModelMatchesTruth(h, tenant: tenant, "after --full")
            try await h.sim.mutate(tenant: tenant, seed: 97, count: 80)
            try await h.sim.addFault(["kind": "deltaLinkGone", "count": 3])
            try await h.run(["--allow-deletes"])
            try await Self.expectReadModelMatchesTruth(h, tenant: tenant, "after a 410 resync")
        }
    }

    @Test("after SIGKILL at seeded points of a first sync and of incremental rounds, and a rerun, the read model equals the truth")
    func killedRunsKeepReadModel() async throws {
        try await SyncHarness.with(Self.simulator) { h in
            let tenant = try await h.sim.tenants()[0].id
            try await h.onboard([("tenant1-verified.example", tenant)])
            var random = SplitMix64(seed: 141)
            // The first sync dies twice mid-round: once in the users round, then in the groups round (or users again).
            _ = try await h.runKilled(["--first-load", "delta"], after: 1 + random.int(4), pathPrefix: "/v1.0/users/delta")
            // The groups round may have finished while the users request was held; then the second kill hits users again.
            let groupsDone = try await h.scalar("""
                SELECT count(*)::int AS n FROM directory.sync_cursors WHERE tenant_id = \(tenant) AND resource = 'groups' AND delta_link IS NOT NULL
                """) == 1
            _ = try await h.runKilled(["--first-load", "delta"], after: 0, pathPrefix: groupsDone ? "/v1.0/users/delta" : "/v1.0/groups/delta")
            try await h.run()
            try await Self.expectReadModelMatchesTruth(h, tenant: tenant, "after a first sync killed twice and a rerun")
            for round in 0..<3 {
                let seed = 8_000 + round
                try await h.sim.mutate(tenant: tenant, operations: try await Self.nestingChanges(h, tenant: tenant, seed: seed))
                try await h.sim.mutate(tenant: tenant, seed: seed, count: 60)
                // Killed while a round is under way: the other resource's round may have committed already.
                let path = round % 2 == 0 ? "/v1.0/groups/delta" : "/v1.0/users/delta"
                _ = try await h.runKilled([], after: 0, pathPrefix: path)
                try await h.run()
                try await Self.expectReadModelMatchesTruth(h, tenant: tenant, "after an incremental run killed in \(path) and a rerun (round \(round + 1))")
            }
        }
    }
}
