import DirSyncCore
import DirSyncMigrations
import DirSyncTestDoubles
import DirSyncTestSupport
import Foundation
@testable import PostgresStore
import Testing

/// The read side's derived tables and functions, written through plain SQL as any writer would: the
/// triggers keep `directory.addresses` and `directory.group_ancestors` in step, and `resolve`,
/// `member_of` and `transitive_members` answer from them.
@Suite("Read model: addresses, nesting closure, resolve, member_of, transitive_members", .enabled(if: TestEnvironment.databaseTestsEnabled))
struct ReadModelTests {
    let tenant = UUID()

    private func id(_ n: Int) -> UUID { UUID(uuidString: String(format: "00000000-0000-4000-8000-%012d", n))! }

    private func addresses(_ connection: PostgresConnection, _ object: UUID) async throws -> [String] {
        try await connection.query("""
            SELECT address || '=' || source AS a FROM directory.addresses WHERE tenant_id = \(tenant) AND object_id = \(object) ORDER BY address
            """).map { try $0.string("a") }
    }

    private func memberOf(_ connection: PostgresConnection, _ object: UUID) async throws -> [UUID: Int] {
        var result: [UUID: Int] = [:]
        for row in try await connection.query("SELECT group_id, depth FROM directory.member_of(\(tenant), \(object))") {
            result[try row.uuid("group_id")] = try row.int("depth")
        }
        return result
    }

    private func members(_ connection: PostgresConnection, _ group: UUID) async throws -> [UUID: Int] {
        var result: [UUID: Int] = [:]
        for row in try await connection.query("SELECT member_id, depth FROM directory.transitive_members(\(tenant), \(group))") {
            result[try row.uuid("member_id")] = try row.int("depth")
        }
        return result
    }

    private func group(_ connection: PostgresConnection, _ n: Int, mail: String? = nil) async throws {
        try await connection.execute("INSERT INTO directory.groups (tenant_id, id, display_name, mail) VALUES (\(tenant), \(id(n)), \("g\(n)"), \(mail))")
    }

    private func nest(_ connection: PostgresConnection, _ child: Int, in parent: Int, type: String = "group") async throws {
        try await connection.execute("""
            INSERT INTO directory.group_members (tenant_id, group_id, member_id, member_type) VALUES (\(tenant), \(id(parent)), \(id(child)), \(type))
            """)
    }

    @Test("a user's addresses: mail, UPN and SMTP proxies, lower-cased, each once with its strongest source; SIP, X500 and spo are not email")
    func userAddresses() async throws {
        try await TestDatabase.with { database in
            let connection = try await database.connect()
            let alice = id(1)
            try await connection.execute("""
                INSERT INTO directory.users (tenant_id, id, user_principal_name, mail, proxy_addresses) VALUES (\(tenant), \(alice),
                'Alice@Contoso.example', 'Alice.Smith@Contoso.example',
                ARRAY['SMTP:Alice.Smith@Contoso.example', 'smtp:alias@contoso.example', 'SIP:alice@contoso.example', 'X500:/o=Ex/cn=alice', 'spo:x', 'smtp:ALICE@contoso.EXAMPLE'])
                """)
            #expect(try await addresses(connection, alice) == [
                "alias@contoso.example=proxy_alias", "alice.smith@contoso.example=proxy_primary", "alice@contoso.example=upn",
            ])
            // An alias moves; mail is cleared: the addresses follow in the same statement.
            try await connection.execute("""
                UPDATE directory.users SET mail = NULL, proxy_addresses = ARRAY['SMTP:Alice.Smith@Contoso.example', 'smtp:new@contoso.example']
                WHERE tenant_id = \(tenant) AND id = \(alice)
                """)
            #expect(try await addresses(connection, alice) == [
                "alice.smith@contoso.example=proxy_primary", "alice@contoso.example=upn", "new@contoso.example=proxy_alias",
            ])
            try await connection.execute("UPDATE directory.users SET deleted_at = now(), deleted_reason = 'soft_deleted' WHERE id = \(alice)")
            #expect(try await addresses(connection, alice).isEmpty)
            try await connection.execute("UPDATE directory.users SET deleted_at = NULL, deleted_reason = NULL WHERE id = \(alice)")
            #expect(try await addresses(connection, alice).count == 3)
            try await connection.execute("DELETE FROM directory.users WHERE id = \(alice)")
            #expect(try await addresses(connection, alice).isEmpty)
        }
    }

    @Test("resolve: trimmed, one pair of <> and an smtp: prefix of any case removed, case-insensitive; internal by the tenant's verified domains")
    func resolveNormalizesAndJudgesInternal() async throws {
        try await TestDatabase.with { database in
            let connection = try await database.connect()
            let other = UUID()
            try await connection.execute("""
                INSERT INTO directory.users (tenant_id, id, display_name, mail, account_enabled, user_type)
                VALUES (\(tenant), \(id(1)), 'Alice', 'alice@contoso.example', true, 'Member'),
                       (\(other), \(id(2)), 'Alice (guest)', 'alice@contoso.example', false, 'Guest')
                """)
            try await connection.execute("INSERT INTO directory.contacts (tenant_id, id, display_name, mail) VALUES (\(tenant), \(id(3)), 'Vendor', 'sales@vendor.example')")
            try await connection.execute("""
                INSERT INTO directory.tenant_domains (tenant_id, domain, is_verified, is_default, supported_services)
                VALUES (\(tenant), 'contoso.example', true, true, '{Email}'), (\(other), 'contoso.example', false, false, '{}')
                """)
            for input in ["alice@contoso.example", "  <SMTP:Alice@Contoso.EXAMPLE>  ", "smtp:ALICE@contoso.example", "<alice@contoso.example>"] {
                let rows = try await connection.query("SELECT tenant_id, object_type, account_enabled, user_type, internal FROM directory.resolve(\(input))")
                #expect(rows.count == 2, "\(input)")
                let byTenant = Dictionary(uniqueKeysWithValues: try rows.map { (try $0.uuid("tenant_id"), $0) })
                #expect(try byTenant[tenant]?.bool("internal") == true && byTenant[tenant]?.string("user_type") == "Member")
                #expect(try byTenant[other]?.bool("internal") == false && byTenant[other]?.optionalBool("account_enabled") == false)
            }
            let scoped = try await connection.query("SELECT object_id FROM directory.resolve('alice@contoso.example', \(other))").map { try $0.uuid("object_id") }
            #expect(scoped == [id(2)])
            let contact = try await connection.query("SELECT object_type, display_name, internal FROM directory.resolve('SALES@vendor.example')")
            #expect(try contact.first?.string("object_type") == "contact" && contact.first?.bool("internal") == false)
            #expect(try await connection.query("SELECT * FROM directory.resolve('nobody@contoso.example')").isEmpty)
        }
    }

    @Test("nesting: shortest depths through a diamond, nested groups listed among members, deleted members left out")
    func nestingDepths() async throws {
        try await TestDatabase.with { database in
            let connection = try await database.connect()
            // 1 ⊃ 2 ⊃ 4, 1 ⊃ 3 ⊃ 4 (diamond), 4 ⊃ 5 ⊃ user 100; 6 ⊃ 5 too.
            for n in 1...6 { try await group(connection, n) }
            try await nest(connection, 2, in: 1); try await nest(connection, 3, in: 1); try await nest(connection, 4, in: 2); try await nest(connection, 4, in: 3)
            try await nest(connection, 5, in: 4); try await nest(connection, 5, in: 6); try await nest(connection, 100, in: 5, type: "user")
            try await nest(connection, 101, in: 1, type: "device")
            #expect(try await memberOf(connection, id(100)) == [id(5): 1, id(4): 2, id(6): 2, id(2): 3, id(3): 3, id(1): 4])
            #expect(try await memberOf(connection, id(5)) == [id(4): 1, id(6): 1, id(2): 2, id(3): 2, id(1): 3])
            #expect(try await members(connection, id(1)) == [id(2): 1, id(3): 1, id(101): 1, id(4): 2, id(5): 3, id(100): 4])
            // A deleted user is left out of a group's members; a deleted group has none.
            try await connection.execute("INSERT INTO directory.users (tenant_id, id, deleted_at) VALUES (\(tenant), \(id(100)), now())")
            #expect(try await members(connection, id(4))[id(100)] == nil)
            try await connection.execute("UPDATE directory.groups SET deleted_at = now() WHERE id = \(id(6))")
            #expect(try await members(connection, id(6)).isEmpty)
        }
    }

    @Test("a nesting cycle A in B in C in A neither loops nor makes a group its own ancestor")
    func cycles() async throws {
        try await TestDatabase.with { database in
            let connection = try await database.connect()
            for n in 1...3 { try await group(connection, n) }
            try await nest(connection, 1, in: 2); try await nest(connection, 2, in: 3)
            try await nest(connection, 3, in: 1)  // closes the cycle
            try await nest(connection, 100, in: 1, type: "user")
            #expect(try await memberOf(connection, id(1)) == [id(2): 1, id(3): 2])
            #expect(try await memberOf(connection, id(100)) == [id(1): 1, id(2): 2, id(3): 3])
            #expect(try await members(connection, id(2)) == [id(1): 1, id(3): 2, id(100): 2])
            let selfAncestors = try await connection.query("SELECT count(*)::int AS n FROM directory.group_ancestors WHERE group_id = ancestor_id").first?.int("n")
            #expect(selfAncestors == 0)
        }
    }

    @Test("moving, deleting and restoring groups re-derives every group below them, whatever order the rows arrive in")
    func closureFollowsChanges() async throws {
        try await TestDatabase.with { database in
            let connection = try await database.connect()
            // Edges first, groups later (as a page may list a member before its own row arrives).
            try await nest(connection, 2, in: 1); try await nest(connection, 3, in: 2); try await nest(connection, 100, in: 3, type: "user")
            for n in [3, 2, 1, 4] { try await group(connection, n) }
            #expect(try await memberOf(connection, id(100)) == [id(3): 1, id(2): 2, id(1): 3])
            // Move 2 from 1 to 4.
            try await connection.execute("DELETE FROM directory.group_members WHERE group_id = \(id(1)) AND member_id = \(id(2))")
            try await nest(connection, 2, in: 4)
            #expect(try await memberOf(connection, id(100)) == [id(3): 1, id(2): 2, id(4): 3])
            // Delete 2: everything below it loses the path through it; restore brings it back.
            try await connection.execute("UPDATE directory.groups SET deleted_at = now() WHERE id = \(id(2))")
            #expect(try await memberOf(connection, id(100)) == [id(3): 1])
            try await connection.execute("UPDATE directory.groups SET deleted_at = NULL WHERE id = \(id(2))")
            #expect(try await memberOf(connection, id(100)) == [id(3): 1, id(2): 2, id(4): 3])
        }
    }

    private func closure(_ connection: PostgresConnection) async throws -> Set<String> {
        Set(try await connection.query("""
            SELECT group_id::text || '>' || ancestor_id::text || '@' || depth AS pair FROM directory.group_ancestors WHERE tenant_id = \(tenant)
            """).map { try $0.string("pair") })
    }

    @Test("the closure kept edge by edge (adds, removals, deletes, restores, batches that chain) always equals one built from scratch")
    func incrementalClosureEqualsRebuild() async throws {
        try await TestDatabase.with { database in
            let connection = try await database.connect()
            var random = SplitMix64(seed: 77)
            let groups = 40
            for n in 1...groups { try await group(connection, n) }
            var edges = Set<[Int]>()
            for step in 0..<120 {
                switch random.int(10) {
                case 0..<5:
                    // A batch of new edges, chaining into each other as often as not.
                    var batch: [[Int]] = []
                    for _ in 0..<(1 + random.int(5)) {
                        let child = 1 + random.int(groups), parent = random.chance(50) ? (batch.last?[1] ?? 1 + random.int(groups)) : 1 + random.int(groups)
                        if child != parent, !edges.contains([child, parent]), !batch.contains([child, parent]) { batch.append([child, parent]) }
                    }
                    guard !batch.isEmpty else { continue }
                    let values = batch.map { "('\(tenant)', '\(id($0[1]))', '\(id($0[0]))', 'group')" }.joined(separator: ", ")
                    try await connection.execute(SQL(unsafeSQL: "INSERT INTO directory.group_members (tenant_id, group_id, member_id, member_type) VALUES \(values)"))
                    edges.formUnion(batch)
                case 5, 6:
                    guard let edge = edges.randomElement(using: &random) else { continue }
                    try await connection.execute("DELETE FROM directory.group_members WHERE tenant_id = \(tenant) AND group_id = \(id(edge[1])) AND member_id = \(id(edge[0]))")
                    edges.remove(edge)
                case 7:
                    try await connection.execute("UPDATE directory.groups SET deleted_at = now() WHERE tenant_id = \(tenant) AND id = \(id(1 + random.int(groups)))")
                default:
                    try await connection.execute("UPDATE directory.groups SET deleted_at = NULL WHERE tenant_id = \(tenant) AND id = \(id(1 + random.int(groups))) AND deleted_at IS NOT NULL")
                }
                let kept = try await closure(connection)
                try await connection.execute("BEGIN")
                try await connection.execute("SELECT directory.rebuild_group_ancestors(\(tenant))")
                let rebuilt = try await closure(connection)
                try await connection.execute("ROLLBACK")
                #expect(kept == rebuilt, "step \(step): \(kept.subtracting(rebuilt).sorted().prefix(3)) kept only, \(rebuilt.subtracting(kept).sorted().prefix(3)) rebuilt only")
                if kept != rebuilt { break }
            }
            #expect(try await closure(connection).count > 100, "the graph should have grown a deep closure")
        }
    }

    @Test("while a first round loads, memberships leave the closure alone; the round's last transaction builds it whole")
    func firstRoundBuildsClosureAtTheEnd() async throws {
        try await TestDatabase.with { database in
            let connection = try await database.connect()
            try await connection.execute("BEGIN")
            try await connection.execute("SELECT set_config('dirsync.feed', 'snapshot', true)")
            for n in 1...4 { try await group(connection, n) }
            try await nest(connection, 2, in: 1); try await nest(connection, 3, in: 2); try await nest(connection, 4, in: 3); try await nest(connection, 1, in: 4)
            #expect(try await closure(connection).isEmpty)
            try await RoundSession(tenantID: tenant, resource: .groups, runID: nil).completeFirstRound(on: connection)
            try await connection.execute("COMMIT")
            #expect(try await memberOf(connection, id(4)) == [id(3): 1, id(2): 2, id(1): 3])
            #expect(try await closure(connection).count == 12, "a 4-cycle: each group has the other three as ancestors")
        }
    }

    @Test("the closure a first round builds in the engine equals directory.rebuild_group_ancestors, on random graphs with cycles, deleted groups and user members")
    func firstRoundClosureEqualsSQLRebuild() async throws {
        try await TestDatabase.with { database in
            let connection = try await database.connect()
            var random = SplitMix64(seed: 4242)
            let groups = 300
            try await connection.execute("BEGIN")
            try await connection.execute("SELECT set_config('dirsync.feed', 'snapshot', true)")
            for n in 1...groups { try await group(connection, n) }
            var edges = Set<[Int]>()
            while edges.count < 600 {
                // Mostly upward, like departments in divisions, with some edges back down that make cycles.
                let child = 1 + random.int(groups), parent = random.chance(85) ? 1 + random.int(child) : 1 + random.int(groups)
                edges.insert([child, parent])
            }
            let values = edges.map { "('\(tenant)', '\(id($0[1]))', '\(id($0[0]))', 'group')" }.joined(separator: ", ")
            try await connection.execute(SQL(unsafeSQL: "INSERT INTO directory.group_members (tenant_id, group_id, member_id, member_type) VALUES \(values)"))
            try await connection.execute("UPDATE directory.groups SET deleted_at = now() WHERE tenant_id = \(tenant) AND id IN (\(id(7)), \(id(150)))")
            try await connection.execute("""
                INSERT INTO directory.group_members (tenant_id, group_id, member_id, member_type) VALUES (\(tenant), \(id(3)), \(id(9999)), 'user')
                """)
            try await RoundSession(tenantID: tenant, resource: .groups, runID: nil).completeFirstRound(on: connection)
            let built = try await closure(connection)
            try await connection.execute("SELECT directory.rebuild_group_ancestors(\(tenant))")
            let rebuilt = try await closure(connection)
            try await connection.execute("ROLLBACK")
            #expect(built == rebuilt, "\(built.subtracting(rebuilt).sorted().prefix(3)) built only, \(rebuilt.subtracting(built).sorted().prefix(3)) rebuilt only")
            #expect(rebuilt.count > 5_000, "the graph should have a deep closure, not \(rebuilt.count) pairs")
            #expect(!built.contains { $0.hasPrefix(id(7).uuidString.lowercased()) }, "a deleted group has no ancestors")
        }
    }

    private func allAddresses(_ connection: PostgresConnection) async throws -> [String] {
        try await connection.query("""
            SELECT object_type || ' ' || object_id::text || ' ' || address || '=' || source AS a FROM directory.addresses
            WHERE tenant_id = \(tenant) ORDER BY 1
            """).map { try $0.string("a") }
    }

    /// Users and contacts of every address shape, a deleted one, and an update that changes addresses.
    private func addressRows(_ connection: PostgresConnection) async throws {
        try await connection.execute("""
            INSERT INTO directory.users (tenant_id, id, user_principal_name, mail, proxy_addresses, other_mails, deleted_at) VALUES
              (\(tenant), \(id(1)), 'Ann@Contoso.example', 'ann.lee@contoso.example', ARRAY['SMTP:ann.lee@contoso.example', 'smtp:ann@fabrikam.example', 'SIP:ann@contoso.example'], ARRAY['ann@gmail.example'], NULL),
              (\(tenant), \(id(2)), 'bo@contoso.example', NULL, NULL, NULL, NULL),
              (\(tenant), \(id(3)), 'gone@contoso.example', 'gone@contoso.example', NULL, NULL, now())
            """)
        try await connection.execute("UPDATE directory.users SET mail = 'bo.chen@contoso.example' WHERE tenant_id = \(tenant) AND id = \(id(2))")
        try await connection.execute("""
            INSERT INTO directory.contacts (tenant_id, id, mail, proxy_addresses) VALUES
              (\(tenant), \(id(10)), 'Partner@Vendor.example', ARRAY['SMTP:partner@vendor.example', 'smtp:p@vendor.example'])
            """)
    }

    @Test("a first round of users and contacts leaves the addresses alone page by page; completing it builds exactly what the triggers keep")
    func firstRoundBuildsAddressesAtTheEnd() async throws {
        try await TestDatabase.with { database in
            let connection = try await database.connect()
            try await connection.execute("BEGIN")
            try await addressRows(connection)
            let kept = try await allAddresses(connection)
            try await connection.execute("ROLLBACK")
            #expect(kept.count == 8, "\(kept)")

            try await connection.execute("BEGIN")
            try await connection.execute("SELECT set_config('dirsync.feed', 'snapshot', true)")
            try await addressRows(connection)
            #expect(try await allAddresses(connection).isEmpty, "a first round's pages write no addresses")
            try await RoundSession(tenantID: tenant, resource: .users, runID: nil).completeFirstRound(on: connection)
            try await RoundSession(tenantID: tenant, resource: .contacts, runID: nil).completeFirstRound(on: connection)
            let built = try await allAddresses(connection)
            try await connection.execute("COMMIT")
            #expect(built == kept)
            // Once complete, later rounds keep them row by row again.
            try await connection.execute("UPDATE directory.users SET deleted_at = now() WHERE tenant_id = \(tenant) AND id = \(id(1))")
            #expect(try await allAddresses(connection).count == kept.count - 4)
        }
    }

    @Test("directory_reader runs every function and reads the contract, and is refused on writes and on the bookkeeping tables")
    func readerRole() async throws {
        try await TestDatabase.with { database in
            let connection = try await database.connect()
            try await group(connection, 1, mail: "team@contoso.example")
            let login = "reader_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)
            try await connection.execute(SQL(unsafeSQL: "CREATE ROLE \(login) LOGIN IN ROLE directory_reader"))
            do {
                var configuration = database.configuration
                configuration.overrides.append((keyword: "user", value: String(login)))
                let reader = try await PostgresConnection.connect(configuration, logger: TestEnvironment.quietLogger)
                #expect(try await reader.query("SELECT * FROM directory.resolve('team@contoso.example')").count == 1)
                _ = try await reader.query("SELECT * FROM directory.member_of(\(tenant), \(id(1)))")
                _ = try await reader.query("SELECT * FROM directory.transitive_members(\(tenant), \(id(1)))")
                // The schema check every command makes: versions and checksums, not the bookkeeping table.
                #expect(try await reader.query("SELECT * FROM directory.applied_migrations()").count == (try EmbeddedMigrations.all()).count)
                for table in ["domains", "users", "groups", "contacts", "group_members", "addresses", "group_ancestors", "tenant_domains"] {
                    _ = try await reader.query(SQL(unsafeSQL: "SELECT count(*) FROM directory.\(table)"))
                }
                for refused in ["SELECT * FROM directory.sync_runs", "SELECT * FROM directory.sync_cursors", "SELECT * FROM directory.schema_migrations",
                                "INSERT INTO directory.users (tenant_id, id) VALUES (gen_random_uuid(), gen_random_uuid())",
                                "UPDATE directory.groups SET display_name = 'x'", "DELETE FROM directory.addresses",
                                "SELECT directory.refresh_group_ancestors(gen_random_uuid(), '{}')",
                                "SELECT directory.rebuild_addresses(gen_random_uuid(), 'user')"] {
                    do {
                        _ = try await reader.query(SQL(unsafeSQL: refused))
                        Issue.record("directory_reader was allowed: \(refused)")
                    } catch let error as PostgresError {
                        #expect(error.sqlState == "42501", "\(refused): \(error)")
                    }
                }
                await reader.close()
            } catch {
                _ = try? await connection.execute(SQL(unsafeSQL: "DROP ROLE IF EXISTS \(login)"))
                throw error
            }
            try await connection.execute(SQL(unsafeSQL: "DROP ROLE IF EXISTS \(login)"))
        }
    }
}
