import DirSyncCore
import DirSyncTestDoubles
import DirSyncTestSupport
import Foundation
@testable import PostgresStore
import Testing

@Suite("Round store (merge, staged deletions, sweep, guard)", .enabled(if: TestEnvironment.databaseTestsEnabled))
struct PostgresRoundStoreTests {
    let tenant = UUID()

    private func user(_ id: UUID, _ configure: (inout ObjectChange) -> Void) -> ObjectChange {
        var change = ObjectChange.user( id)
        configure(&change)
        return change
    }

    private func fullUser(_ id: UUID, name: String) -> ObjectChange {
        user(id) {
            $0.user.userPrincipalName = .value("\(name)@contoso.example"); $0.user.displayName = .value(.text(name)); $0.user.givenName = .value(.text(name))
            $0.user.surname = .null; $0.user.mail = .value("\(name)@contoso.example"); $0.user.jobTitle = .value("Engineer"); $0.user.department = .value("R&D")
            $0.user.accountEnabled = .value(true); $0.user.userType = .value("Member"); $0.user.proxyAddresses = .value(["SMTP:\(name)@contoso.example", "smtp:\(name)@alias.example"])
        }
    }

    private func row(_ connection: PostgresConnection, _ id: UUID) async throws -> PostgresRow? {
        try await connection.query("""
            SELECT user_principal_name, display_name, surname, mail, job_title, account_enabled, proxy_addresses, deleted_at, deleted_reason, updated_at
            FROM directory.users WHERE tenant_id = \(tenant) AND id = \(id)
            """).first
    }

    private func completeFull(_ store: PostgresRoundStore, _ plans: [PagePlan], roundID: Int64, guard deletionGuard: DeletionGuard = DeletionGuard()) async throws -> RoundCompletion {
        try await store.startRound(mode: .full, roundID: roundID, selection: FieldTable.users.selectedProperties)
        for (index, plan) in plans.dropLast().enumerated() {
            _ = try await store.applyPages(plan, count: 1, nextLink: "https://graph.example/next/\(index)", mode: .full, roundID: roundID)
        }
        return try await store.completeRound(lastPages: plans.last!, count: 1, deltaLink: "https://graph.example/delta/\(roundID)", mode: .full, roundID: roundID, guard: deletionGuard).1
    }

    private func completeIncremental(_ store: PostgresRoundStore, _ plan: PagePlan, link: String = "https://graph.example/delta/inc", guard deletionGuard: DeletionGuard = DeletionGuard()) async throws -> (PageWriteResult, RoundCompletion) {
        try await store.startRound(mode: .incremental, roundID: nil, selection: FieldTable.users.selectedProperties)
        return try await store.completeRound(lastPages: plan, count: 1, deltaLink: link, mode: .incremental, roundID: nil, guard: deletionGuard)
    }

    @Test("an absent property leaves its column untouched; an explicit null clears it; only changed rows get a new updated_at")
    func mergeSemantics() async throws {
        try await TestDatabase.with { database in
            let connection = try await database.connect()
            let store = PostgresRoundStore(connection: connection, tenantID: tenant, table: .users, runID: nil)
            let alice = UUID(), bob = UUID()
            _ = try await completeFull(store, [DeltaPlanner.plan(.users, objects: [fullUser(alice, name: "alice"), fullUser(bob, name: "bob")])], roundID: 1)
            let before = try #require(try await row(connection, bob)).date("updated_at")

            let (result, _) = try await completeIncremental(store, DeltaPlanner.plan(.users, objects: [user(alice) { $0.user.displayName = .value("Alice Liddell"); $0.user.jobTitle = .null }]))
            #expect(result.objectsUpserted == 1)
            let a = try #require(try await row(connection, alice))
            #expect(try a.string("display_name") == "Alice Liddell")
            #expect(try a.optionalString("job_title") == nil)
            #expect(try a.string("mail") == "alice@contoso.example")
            #expect(try a.string("user_principal_name") == "alice@contoso.example")
            #expect(try a.bool("account_enabled") == true)
            #expect(try a.stringArray("proxy_addresses") == ["SMTP:alice@contoso.example", "smtp:alice@alias.example"])
            #expect(try #require(try await row(connection, bob)).date("updated_at") == before)
            await connection.close()
        }
    }

    @Test("a tenant's first full round COPYs rows straight in; repeats are merged and the rows are what the merge alone would give")
    func firstFullRoundCopiesNewRows() async throws {
        try await TestDatabase.with { database in
            let connection = try await database.connect()
            let store = PostgresRoundStore(connection: connection, tenantID: tenant, table: .users, runID: nil)
            let alice = UUID(), bob = UUID(), carol = UUID(), erin = UUID()
            var page = 0
            var total = PageWriteResult()
            func apply(_ users: [ObjectChange]) async throws -> PageWriteResult {
                page += 1
                let result = try await store.applyPages(DeltaPlanner.plan(.users, objects: users), count: 1, nextLink: "https://graph.example/n\(page)", mode: .full, roundID: 7)
                total += result
                return result
            }
            try await store.startRound(mode: .full, roundID: 7, selection: FieldTable.users.selectedProperties)
            #expect(try await apply([fullUser(alice, name: "alice"), user(bob) { $0.user.displayName = .value("Bob") }]).objectsUpserted == 2)
            #expect(total.rowsCopied == 2)
            // Alice again, right after her page (as a group continues on the next page): she is merged, Carol is COPYed.
            #expect(try await apply([fullUser(carol, name: "carol"), user(alice) { $0.user.jobTitle = .null }]).objectsUpserted == 2)
            #expect(total.rowsCopied == 3)
            #expect(total.objectMerges == 1)
            // Carol again with nothing new: no statement at all.
            _ = try await apply([user(carol) { $0.user.displayName = .value("carol") }])
            #expect(total.objectMerges == 1)
            // Bob again, later in the round: the COPY meets his row, rolls back, and the merge writes the whole batch.
            #expect(try await apply([fullUser(erin, name: "erin"), user(bob) { $0.user.mail = .value("bob@contoso.example") }]).objectsUpserted == 2)
            #expect(total.rowsCopied == 3)
            // Two more misses in a row (three in all) and the round stops trying.
            _ = try await apply([fullUser(UUID(), name: "f"), user(alice) { $0.user.department = .value("R&D") }])
            _ = try await apply([fullUser(UUID(), name: "g"), user(carol) { $0.user.department = .value("R&D") }])
            #expect(total.rowsCopied == 3)
            total += try await store.completeRound(lastPages: DeltaPlanner.plan(.users, objects: [fullUser(UUID(), name: "dave")]), count: 1,
                                                   deltaLink: "https://graph.example/d", mode: .full, roundID: 7, guard: DeletionGuard()).0
            #expect(total.rowsCopied == 3)

            let a = try #require(try await row(connection, alice))
            #expect(try a.string("display_name") == "alice" && a.optionalString("job_title") == nil && a.string("mail") == "alice@contoso.example")
            let b = try #require(try await row(connection, bob))
            #expect(try b.string("display_name") == "Bob" && b.string("mail") == "bob@contoso.example" && b.optionalDate("deleted_at") == nil)
            #expect(try await row(connection, carol) != nil)
            #expect(try await row(connection, erin) != nil)
            let stamps = try await connection.query("SELECT DISTINCT sync_round FROM directory.users WHERE tenant_id = \(tenant)").map { try $0.int("sync_round") }
            #expect(stamps == [7])

            // A later full round over existing rows never tries the COPY.
            try await store.startRound(mode: .full, roundID: 8, selection: FieldTable.users.selectedProperties)
            let later = try await store.completeRound(lastPages: DeltaPlanner.plan(.users, objects: [fullUser(UUID(), name: "new")]), count: 1,
                                                      deltaLink: "https://graph.example/d2", mode: .full, roundID: 8, guard: DeletionGuard(allowDeletes: true))
            #expect(later.0.rowsCopied == 0)
            await connection.close()
        }
    }

    @Test("a write transaction that rolls back leaves the store nothing to assume: the same pages written again land whole")
    func rolledBackTransactionForgetsWhatItWrote() async throws {
        try await TestDatabase.with { database in
            let connection = try await database.connect()
            let blocker = try await database.connect()
            let store = PostgresRoundStore(connection: connection, tenantID: tenant, table: .users, runID: nil)
            let alice = UUID(), bob = UUID()
            let plan = DeltaPlanner.plan(.users, objects: [fullUser(alice, name: "alice"), fullUser(bob, name: "bob")])
            try await store.startRound(mode: .full, roundID: 4, selection: FieldTable.users.selectedProperties)
            // Another session holds the cursor row, so the transaction fails after its rows were COPYed.
            try await blocker.execute("BEGIN")
            try await blocker.execute("SELECT 1 FROM directory.sync_cursors WHERE tenant_id = \(tenant) FOR UPDATE")
            try await connection.execute("SET lock_timeout = '300ms'")
            await #expect(throws: PostgresError.self) {
                try await store.applyPages(plan, count: 1, nextLink: "https://graph.example/n1", mode: .full, roundID: 4)
            }
            try await blocker.execute("ROLLBACK")
            #expect(try await row(connection, alice) == nil)

            _ = try await store.applyPages(plan, count: 1, nextLink: "https://graph.example/n1", mode: .full, roundID: 4)
            #expect(try await row(connection, alice) != nil)
            #expect(try await row(connection, bob) != nil)
            await blocker.close()
            await connection.close()
        }
    }

    @Test("a deletion staged in the round sends later objects through the merge, so a restore un-stages it")
    func stagedDeletionStopsNewRowCopies() async throws {
        try await TestDatabase.with { database in
            let connection = try await database.connect()
            let store = PostgresRoundStore(connection: connection, tenantID: tenant, table: .users, runID: nil)
            let alice = UUID()
            try await store.startRound(mode: .full, roundID: 9, selection: FieldTable.users.selectedProperties)
            var total = try await store.applyPages(DeltaPlanner.plan(.users, objects: [user(alice) { $0.removed = .changed }]), count: 1,
                                                   nextLink: "https://graph.example/n1", mode: .full, roundID: 9)
            total += try await store.applyPages(DeltaPlanner.plan(.users, objects: [fullUser(UUID(), name: "x")]), count: 1,
                                                nextLink: "https://graph.example/n2", mode: .full, roundID: 9)
            total += try await store.completeRound(lastPages: DeltaPlanner.plan(.users, objects: [fullUser(alice, name: "alice")]), count: 1,
                                                   deltaLink: "https://graph.example/d", mode: .full, roundID: 9, guard: DeletionGuard()).0
            #expect(total.rowsCopied == 0)
            #expect(try #require(try await row(connection, alice)).optionalDate("deleted_at") == nil)
            await connection.close()
        }
    }

    @Test("memberships of a tenant's first full round are COPYed straight in; a repeated one falls back without losing the batch")
    func firstFullRoundCopiesNewMemberships() async throws {
        try await TestDatabase.with { database in
            let connection = try await database.connect()
            let store = PostgresRoundStore(connection: connection, tenantID: tenant, table: .groups, runID: nil)
            let team = UUID(), other = UUID(), members = (0..<6).map { _ in UUID() }
            func group(_ id: UUID, _ slice: ArraySlice<UUID>) -> ObjectChange {
                var group = ObjectChange.group( id)
                group.group.displayName = .value("g")
                group.memberChanges = slice.map { MemberChange(memberID: $0, memberType: .user, removed: false) }
                return group
            }
            try await store.startRound(mode: .full, roundID: 3, selection: FieldTable.users.selectedProperties)
            let first = try await store.applyPages(DeltaPlanner.plan(.groups, objects: [group(team, members[0..<3])]), count: 1,
                                                   nextLink: "https://graph.example/n1", mode: .full, roundID: 3)
            #expect(first.membershipsAdded == 3)
            #expect(first.rowsCopied == 4)
            // team continues on the next page with one member repeated.
            let second = try await store.applyPages(DeltaPlanner.plan(.groups, objects: [group(team, members[2..<5]), group(other, members[5...])]), count: 1,
                                                    nextLink: "https://graph.example/n2", mode: .full, roundID: 3)
            #expect(second.membershipsAdded == 3)
            _ = try await store.completeRound(lastPages: PagePlan(resource: .groups), count: 1, deltaLink: "https://graph.example/d", mode: .full, roundID: 3, guard: DeletionGuard())
            let stored = try await connection.query("""
                SELECT group_id, member_id FROM directory.group_members WHERE tenant_id = \(tenant) AND sync_round = 3
                """).map { "\(try $0.uuid("group_id"))/\(try $0.uuid("member_id"))" }
            #expect(Set(stored) == Set(members[0..<5].map { "\(team)/\($0)" } + ["\(other)/\(members[5])"]))
            await connection.close()
        }
    }

    @Test("replaying a page changes no row and no timestamp")
    func replayIsIdempotent() async throws {
        try await TestDatabase.with { database in
            let connection = try await database.connect()
            let store = PostgresRoundStore(connection: connection, tenantID: tenant, table: .users, runID: nil)
            let alice = UUID()
            let page = DeltaPlanner.plan(.users, objects: [fullUser(alice, name: "alice")])
            _ = try await completeIncremental(store, page)
            let stamp = try #require(try await row(connection, alice)).date("updated_at")
            let (again, _) = try await completeIncremental(store, page)
            #expect(again.objectsUpserted == 0)
            #expect(try #require(try await row(connection, alice)).date("updated_at") == stamp)
            await connection.close()
        }
    }

    @Test("@removed is staged during the round and applied with its reason when the round completes; a restore clears it")
    func removalAndRestore() async throws {
        try await TestDatabase.with { database in
            let connection = try await database.connect()
            let store = PostgresRoundStore(connection: connection, tenantID: tenant, table: .users, runID: nil)
            let ids = (0..<12).map { _ in UUID() }
            _ = try await completeFull(store, [DeltaPlanner.plan(.users, objects: ids.enumerated().map { fullUser($1, name: "u\($0)") })], roundID: 1)

            try await store.startRound(mode: .incremental, roundID: nil, selection: FieldTable.users.selectedProperties)
            _ = try await store.applyPages(DeltaPlanner.plan(.users, objects: [user(ids[0]) { $0.removed = .changed }]), count: 1, nextLink: "https://graph.example/n1", mode: .incremental, roundID: nil)
            #expect(try await row(connection, ids[0])?.optionalDate("deleted_at") == nil, "deletions wait for the round's end")
            #expect(try await store.cursor().nextLink == "https://graph.example/n1")
            #expect(try await store.cursor().deltaLink == "https://graph.example/delta/1")
            let (_, completion) = try await store.completeRound(lastPages: DeltaPlanner.plan(.users, objects: [user(ids[1]) { $0.removed = .deleted }]), count: 1, deltaLink: "https://graph.example/d2", mode: .incremental, roundID: nil, guard: DeletionGuard())
            #expect(completion == .completed(objectsDeleted: 2, membershipsSwept: 0))
            #expect(try await row(connection, ids[0])?.optionalString("deleted_reason") == "soft_deleted")
            #expect(try await row(connection, ids[1])?.optionalString("deleted_reason") == "hard_deleted")
            let cursor = try await store.cursor()
            #expect(cursor.deltaLink == "https://graph.example/d2")
            #expect(cursor.nextLink == nil && cursor.roundMode == nil)

            _ = try await completeIncremental(store, DeltaPlanner.plan(.users, objects: [fullUser(ids[0], name: "u0")]))
            let restored = try #require(try await row(connection, ids[0]))
            #expect(try restored.optionalDate("deleted_at") == nil)
            #expect(try restored.optionalString("deleted_reason") == nil)
            await connection.close()
        }
    }

    @Test("memberships: a group split over pages is merged, removals apply, a deleted group loses its memberships")
    func memberships() async throws {
        try await TestDatabase.with { database in
            let connection = try await database.connect()
            let store = PostgresRoundStore(connection: connection, tenantID: tenant, table: .groups, runID: nil)
            let team = UUID(), lone = UUID()
            let members = (0..<30).map { _ in UUID() }
            func slice(_ range: Range<Int>, type: MemberType = .user) -> ObjectChange {
                var g = ObjectChange.group( team)
                g.group.displayName = .value("Team"); g.group.securityEnabled = .value(true); g.group.groupTypes = .value([])
                g.memberChanges = members[range].map { MemberChange(memberID: $0, memberType: type, removed: false) }
                return g
            }
            var loneGroup = ObjectChange.group( lone)
            loneGroup.group.displayName = .value("Lone")
            loneGroup.memberChanges = [MemberChange(memberID: members[0], memberType: .user, removed: false)]
            _ = try await completeFull(store, [
                DeltaPlanner.plan(.groups, objects: [slice(0..<10)]),
                DeltaPlanner.plan(.groups, objects: [slice(10..<20, type: .device), loneGroup]),
                DeltaPlanner.plan(.groups, objects: [slice(20..<30, type: .servicePrincipal)]),
            ], roundID: 7)
            func count(_ group: UUID) async throws -> Int {
                try await connection.query("SELECT count(*)::int AS n FROM directory.group_members WHERE tenant_id = \(tenant) AND group_id = \(group)").first!.int("n")
            }
            #expect(try await count(team) == 30)
            let types = try await connection.query("SELECT member_type, count(*)::int AS n FROM directory.group_members WHERE group_id = \(team) GROUP BY 1 ORDER BY 1")
                .map { "\(try $0.string("member_type"))=\(try $0.int("n"))" }
            #expect(types == ["device=10", "servicePrincipal=10", "user=10"])

            var change = ObjectChange.group( team)
            change.memberChanges = [MemberChange(memberID: members[0], memberType: .user, removed: true), MemberChange(memberID: UUID(), memberType: .orgContact, removed: false)]
            var gone = ObjectChange.group( lone)
            gone.removed = .deleted
            let (result, completion) = try await completeIncremental(store, DeltaPlanner.plan(.groups, objects: [change, gone]))
            #expect(result.membershipsRemoved == 1 && result.membershipsAdded == 1)
            #expect(completion == .completed(objectsDeleted: 1, membershipsSwept: 1))
            #expect(try await count(team) == 30)
            #expect(try await count(lone) == 0)
            // A members-only entry does not touch the group's properties.
            let name = try await connection.query("SELECT display_name FROM directory.groups WHERE id = \(team)").first?.string("display_name")
            #expect(name == "Team")
            await connection.close()
        }
    }

    @Test("a completed full round sweeps objects and memberships it did not see, and only then")
    func fullRoundSweeps() async throws {
        try await TestDatabase.with { database in
            let connection = try await database.connect()
            let users = PostgresRoundStore(connection: connection, tenantID: tenant, table: .users, runID: nil)
            let ids = (0..<20).map { _ in UUID() }
            _ = try await completeFull(users, [DeltaPlanner.plan(.users, objects: ids.enumerated().map { fullUser($1, name: "u\($0)") })], roundID: 1)
            // The next full round sees all but two: they are swept at the end, not before.
            try await users.startRound(mode: .full, roundID: 2, selection: FieldTable.users.selectedProperties)
            _ = try await users.applyPages(DeltaPlanner.plan(.users, objects: ids[0..<10].enumerated().map { fullUser($1, name: "u\($0)") }), count: 1, nextLink: "https://graph.example/p2", mode: .full, roundID: 2)
            let live = try await connection.query("SELECT count(*)::int AS n FROM directory.users WHERE deleted_at IS NULL").first!.int("n")
            #expect(live == 20)
            let (_, completion) = try await users.completeRound(lastPages: DeltaPlanner.plan(.users, objects: ids[10..<18].enumerated().map { fullUser($1, name: "v\($0)") }), count: 1, deltaLink: "https://graph.example/d", mode: .full, roundID: 2, guard: DeletionGuard())
            #expect(completion == .completed(objectsDeleted: 2, membershipsSwept: 0))
            let swept = try await connection.query("SELECT id, deleted_reason FROM directory.users WHERE deleted_at IS NOT NULL ORDER BY id")
            #expect(Set(try swept.map { try $0.uuid("id") }) == Set(ids[18...]))
            #expect(try swept.allSatisfy { try $0.string("deleted_reason") == "not_in_full_sync" })
            await connection.close()
        }
    }

    @Test("the deletion guard holds back every deletion and the deltaLink; allowing it later applies both")
    func guardHaltsThenAllows() async throws {
        try await TestDatabase.with { database in
            let connection = try await database.connect()
            let store = PostgresRoundStore(connection: connection, tenantID: tenant, table: .users, runID: nil)
            let ids = (0..<100).map { _ in UUID() }
            _ = try await completeFull(store, [DeltaPlanner.plan(.users, objects: ids.enumerated().map { fullUser($1, name: "u\($0)") })], roundID: 1)
            let removals = ids[0..<30].map { id in user(id) { $0.removed = .deleted } }
            let (_, completion) = try await completeIncremental(store, DeltaPlanner.plan(.users, objects: removals + [user(ids[50]) { $0.user.displayName = .value("still applied") }]), link: "https://graph.example/held")
            #expect(completion == .halted(DeletionGuard.Verdict(deletions: 30, limit: 20, tenantObjects: 100)))
            #expect(try await connection.query("SELECT count(*)::int AS n FROM directory.users WHERE deleted_at IS NOT NULL").first!.int("n") == 0)
            #expect(try await row(connection, ids[50])?.string("display_name") == "still applied")
            var cursor = try await store.cursor()
            #expect(cursor.deltaLink == "https://graph.example/delta/1")
            #expect(cursor.pendingDeltaLink == "https://graph.example/held")

            #expect(try await store.resolveHalted(guard: DeletionGuard()) == .halted(DeletionGuard.Verdict(deletions: 30, limit: 20, tenantObjects: 100)))
            #expect(try await store.resolveHalted(guard: DeletionGuard(allowDeletes: true)) == .completed(objectsDeleted: 30, membershipsSwept: 0))
            cursor = try await store.cursor()
            #expect(cursor.deltaLink == "https://graph.example/held")
            #expect(cursor.pendingDeltaLink == nil)
            await connection.close()
        }
    }

    @Test("upserts, removals and cursor of one page commit together or not at all")
    func pageIsAtomic() async throws {
        try await TestDatabase.with { database in
            let connection = try await database.connect()
            let store = PostgresRoundStore(connection: connection, tenantID: tenant, table: .users, runID: nil)
            try await store.startRound(mode: .incremental, roundID: nil, selection: FieldTable.users.selectedProperties)
            // A NUL byte is rejected by PostgreSQL mid-COPY: the whole page must roll back.
            let bad = user(UUID()) { $0.user.displayName = .value("nul\u{0}byte") }
            await #expect(throws: PostgresError.self) {
                _ = try await store.applyPages(DeltaPlanner.plan(.users, objects: [fullUser(UUID(), name: "ok"), bad]), count: 1, nextLink: "https://graph.example/never", mode: .incremental, roundID: nil)
            }
            #expect(try await connection.query("SELECT count(*)::int AS n FROM directory.users").first!.int("n") == 0)
            #expect(try await store.cursor().nextLink == nil)
            await connection.close()
        }
    }

    @Test("chosen properties merge key by key: absent keeps a key, null stores JSON null, values are replaced whole; a full round drops keys no longer chosen; the cursor records the properties")
    func operatorProperties() async throws {
        try await TestDatabase.with { database in
            let connection = try await database.connect()
            let table = FieldTable.users.selecting(attributes: ["preferredLanguage", "onPremisesExtensionAttributes"])
            let store = PostgresRoundStore(connection: connection, tenantID: tenant, table: table, runID: nil)
            func person(_ id: UUID, _ values: [String: Patch<FieldValue>]) -> ObjectChange {
                var change = ObjectChange(id: id, fieldCount: table.fields.count)
                change[table.index(of: "displayName")!] = .value("Person")
                for (name, patch) in values { change[table.index(of: name)!] = patch }
                return change
            }
            func attributes(_ id: UUID) async throws -> String {
                try await connection.query("SELECT attributes::text AS a FROM directory.users WHERE tenant_id = \(tenant) AND id = \(id)").first!.string("a")
            }
            let alice = UUID(), bob = UUID()
            try await store.startRound(mode: .full, roundID: 1, selection: table.selectedProperties)
            _ = try await store.completeRound(lastPages: DeltaPlanner.plan(.users, objects: [
                person(alice, ["preferredLanguage": .value(.json(#""de""#)), "onPremisesExtensionAttributes": .value(.json(#"{"extensionAttribute1":"a","extensionAttribute2":"b"}"#))]),
                person(bob, [:]),
            ]), count: 1, deltaLink: "https://graph.example/d1", mode: .full, roundID: 1, guard: DeletionGuard())
            #expect(try await attributes(alice) == #"{"preferredLanguage": "de", "onPremisesExtensionAttributes": {"extensionAttribute1": "a", "extensionAttribute2": "b"}}"#)
            #expect(try await attributes(bob) == "{}")
            #expect(try await store.cursor().selectedProperties == table.selectedProperties)

            let (changed, _) = try await completeIncremental(store, DeltaPlanner.plan(.users, objects: [
                person(alice, ["onPremisesExtensionAttributes": .value(.json(#"{"extensionAttribute1":"c"}"#))]),
                person(bob, ["preferredLanguage": .null]),
            ]))
            #expect(changed.objectsUpserted == 2)
            #expect(try await attributes(alice) == #"{"preferredLanguage": "de", "onPremisesExtensionAttributes": {"extensionAttribute1": "c"}}"#)
            #expect(try await attributes(bob) == #"{"preferredLanguage": null}"#)
            let (same, _) = try await completeIncremental(store, DeltaPlanner.plan(.users, objects: [person(bob, ["preferredLanguage": .null])]),
                                                          link: "https://graph.example/delta/inc2")
            #expect(same.objectsUpserted == 0, "a report that changes nothing writes nothing")

            // The operator drops onPremisesExtensionAttributes: the next full round removes its keys.
            let fewer = FieldTable.users.selecting(attributes: ["preferredLanguage"])
            let next = PostgresRoundStore(connection: connection, tenantID: tenant, table: fewer, runID: nil)
            try await next.startRound(mode: .full, roundID: 2, selection: fewer.selectedProperties)
            _ = try await next.completeRound(lastPages: DeltaPlanner.plan(.users, objects: [
                { var a = ObjectChange(id: alice, fieldCount: fewer.fields.count); a[fewer.index(of: "displayName")!] = .value("Person"); return a }(),
                { var b = ObjectChange(id: bob, fieldCount: fewer.fields.count); b[fewer.index(of: "displayName")!] = .value("Person"); return b }(),
            ]), count: 1, deltaLink: "https://graph.example/d2", mode: .full, roundID: 2, guard: DeletionGuard())
            #expect(try await attributes(alice) == #"{"preferredLanguage": "de"}"#)
            #expect(try await attributes(bob) == #"{"preferredLanguage": null}"#)
            #expect(try await next.cursor().selectedProperties == fewer.selectedProperties)
            await connection.close()
        }
    }

    @Test("a full round over unchanged rows rewrites none of them (no new row versions), reports no upserts, and still sweeps exactly what it did not see")
    func fullRoundRewritesOnlyChanges() async throws {
        try await TestDatabase.with { database in
            let connection = try await database.connect()
            let store = PostgresRoundStore(connection: connection, tenantID: tenant, table: .users, runID: nil)
            let users = (0..<6).map { _ in UUID() }
            _ = try await completeFull(store, [DeltaPlanner.plan(.users, objects: users.map { fullUser($0, name: "u\($0.uuidString.prefix(4))") })], roundID: 1)
            func versions() async throws -> [String: String] {
                Dictionary(uniqueKeysWithValues: try await connection.query("SELECT id::text AS id, xmin::text AS v FROM directory.users WHERE tenant_id = \(tenant)")
                    .map { (try $0.string("id"), try $0.string("v")) })
            }
            let before = try await versions()
            // Round 2 sees every user but the last, unchanged, over two pages; one of them changed.
            var changed = fullUser(users[0], name: "u\(users[0].uuidString.prefix(4))")
            changed.user.jobTitle = .value("Director")
            let seen = [changed] + users[1..<5].map { fullUser($0, name: "u\($0.uuidString.prefix(4))") }
            try await store.startRound(mode: .full, roundID: 2, selection: FieldTable.users.selectedProperties)
            let first = try await store.applyPages(DeltaPlanner.plan(.users, objects: Array(seen.prefix(2))), count: 1,
                                                   nextLink: "https://graph.example/n1", mode: .full, roundID: 2)
            let (last, completion) = try await store.completeRound(lastPages: DeltaPlanner.plan(.users, objects: Array(seen.dropFirst(2))), count: 1,
                                                                   deltaLink: "https://graph.example/d2", mode: .full, roundID: 2,
                                                                   guard: DeletionGuard(allowDeletes: true))
            #expect(first.objectsUpserted + last.objectsUpserted == 1, "only the changed user counts as upserted")
            #expect(completion == .completed(objectsDeleted: 1, membershipsSwept: 0))
            let after = try await versions()
            for id in users[1..<5] { #expect(after[id.uuidString.lowercased()] == before[id.uuidString.lowercased()], "an unchanged row keeps its version") }
            #expect(after[users[0].uuidString.lowercased()] != before[users[0].uuidString.lowercased()])
            let deleted = try await connection.query("SELECT id FROM directory.users WHERE tenant_id = \(tenant) AND deleted_at IS NOT NULL").map { try $0.uuid("id") }
            #expect(deleted == [users[5]])
            #expect(try await connection.query("SELECT count(*)::int AS n FROM directory.round_seen").first?.int("n") == 0, "the record is forgotten at the end")
            await connection.close()
        }
    }

    @Test("a full round whose record of what it saw was lost (PostgreSQL restarted; the table is unlogged) is reported as lost, not resumed")
    func lostSeenRecordIsReported() async throws {
        try await TestDatabase.with { database in
            let connection = try await database.connect()
            let store = PostgresRoundStore(connection: connection, tenantID: tenant, table: .users, runID: nil)
            try await store.startRound(mode: .full, roundID: 5, selection: FieldTable.users.selectedProperties)
            _ = try await store.applyPages(DeltaPlanner.plan(.users, objects: [fullUser(UUID(), name: "a")]), count: 1,
                                           nextLink: "https://graph.example/n1", mode: .full, roundID: 5)
            #expect(try await store.cursor().roundLost == false)
            // What a crash restart does to an unlogged table.
            try await connection.execute("TRUNCATE directory.round_seen")
            let cursor = try await store.cursor()
            #expect(cursor.roundLost && cursor.nextLink == "https://graph.example/n1")
            await connection.close()
        }
    }
}
