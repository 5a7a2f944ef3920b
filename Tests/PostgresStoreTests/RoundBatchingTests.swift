import DirSyncCore
import DirSyncTestDoubles
import DirSyncTestSupport
import Foundation
import PostgresStore
import Testing

/// The round runner writes the pages that are waiting when the database is free in one transaction.
/// These tests hold it to the contract of writing every page in its own transaction: same rows,
/// same cursor, same counts, whatever the grouping.
@Suite("Round runner: several waiting pages per transaction", .enabled(if: TestEnvironment.databaseTestsEnabled))
struct RoundBatchingTests {
    static let ids = (0..<60).map { UUID(uuidString: String(format: "00000000-0000-4000-8000-%012d", $0))! }

    /// A round of `count` pages of 20 reports each over a pool of 60 users: full reports, partial
    /// repeats, nulls, removals and restores, with the same user often on several pages.
    static func round(seed: UInt64, pages count: Int) -> [[ObjectChange]] {
        var random = SplitMix64(seed: seed)
        func pick(_ values: [String]) -> String { values[Int.random(in: 0..<values.count, using: &random)] }
        return (0..<count).map { _ in
            (0..<20).map { _ in
                var user = ObjectChange.user( ids[Int.random(in: 0..<ids.count, using: &random)])
                switch Int.random(in: 0..<10, using: &random) {
                case 0: user.removed = .changed
                case 1: user.removed = .deleted
                case 2...4:
                    user.user.displayName = .value(.text(pick(["Ann", "Bo", "Cy"])))
                    user.user.jobTitle = Bool.random(using: &random) ? .null : .value(.text(pick(["Eng", "Ops"])))
                default:
                    user.user.userPrincipalName = .value("\(user.id)@contoso.example")
                    user.user.displayName = .value(.text(pick(["Ann", "Bo", "Cy", "Di"])))
                    user.user.mail = .value(.text(pick(["a@contoso.example", "b@contoso.example"])))
                    user.user.accountEnabled = .value(.boolean(Bool.random(using: &random)))
                    user.user.proxyAddresses = .value(["SMTP:\(pick(["x", "y"]))@contoso.example"])
                }
                return user
            }
        }
    }

    /// Runs a full round and then a second full round (with a sweep) for `tenant`, writing at most `maxPages` pages per transaction.
    static func sync(_ database: TestDatabase, tenant: UUID, maxPages: Int) async throws -> [RoundReport] {
        var reports: [RoundReport] = []
        for (index, pages) in [round(seed: 1, pages: 30), round(seed: 2, pages: 30)].enumerated() {
            var options = RoundOptions(forceFull: index > 0, deletionGuard: DeletionGuard(allowDeletes: true))
            options.maxPagesPerTransaction = maxPages
            reports.append(try await PostgresConnection.withConnection(database.configuration, logger: TestEnvironment.quietLogger) { connection in
                let store = PostgresRoundStore(connection: connection, tenantID: tenant, table: .users, runID: nil)
                return try await RoundRunner(resource: .users, source: ScriptedDeltaSource(pages: pages), store: store,
                                             time: SystemTimeSource(), logger: TestEnvironment.quietLogger).run(options)
            })
        }
        return reports
    }

    static func rows(_ connection: PostgresConnection, tenant: UUID) async throws -> [String] {
        try await connection.query("""
            SELECT id::text || '|' || coalesce(user_principal_name, '-') || '|' || coalesce(display_name, '-') || '|' || coalesce(job_title, '-')
                || '|' || coalesce(mail, '-') || '|' || coalesce(account_enabled::text, '-') || '|' || coalesce(proxy_addresses::text, '-')
                || '|' || (deleted_at IS NOT NULL)::text || '|' || coalesce(deleted_reason, '-') AS line
            FROM directory.users WHERE tenant_id = \(tenant) ORDER BY id
            """).map { try $0.string("line") }
    }

    @Test("pages waiting for the writer share a transaction and leave the same rows and cursor as one page per transaction")
    func batchedRoundsMatchOnePagePerTransaction() async throws {
        try await TestDatabase.with { database in
            let onePerPage = UUID(), batched = UUID()
            let single = try await Self.sync(database, tenant: onePerPage, maxPages: 1)
            let grouped = try await Self.sync(database, tenant: batched, maxPages: 16)

            // The scripted Graph answers at once, so pages pile up while the database writes.
            #expect(single.map(\.pages) == [30, 30] && grouped.map(\.pages) == [30, 30])
            #expect(single.map(\.transactions) == [30, 30])
            #expect(grouped.allSatisfy { $0.transactions < 30 }, "transactions: \(grouped.map(\.transactions))")
            // (Upsert counts differ by design: a user reported on three pages is one write when they share a transaction.)
            #expect(single.map(\.objectsDeleted) == grouped.map(\.objectsDeleted))

            let connection = try await database.connect()
            let expected = try await Self.rows(connection, tenant: onePerPage)
            #expect(expected.count > 40)
            #expect(try await Self.rows(connection, tenant: batched) == expected)
            for tenant in [onePerPage, batched] {
                let cursor = try await PostgresRoundStore(connection: connection, tenantID: tenant, table: .users, runID: nil).cursor()
                #expect(cursor.deltaLink == "https://graph.example/delta?token=end" && cursor.roundMode == nil && cursor.nextLink == nil)
            }
        }
    }

    @Test("a round stopped by a failed page keeps the pages before it and resumes after the last committed one")
    func failedPageLeavesResumePoint() async throws {
        try await TestDatabase.with { database in
            let tenant = UUID()
            let pages = Self.round(seed: 3, pages: 20)
            let cursor = try await PostgresConnection.withConnection(database.configuration, logger: TestEnvironment.quietLogger) { connection in
                let store = PostgresRoundStore(connection: connection, tenantID: tenant, table: .users, runID: nil)
                let runner = RoundRunner(resource: .users, source: ScriptedDeltaSource(pages: pages, failAt: 12), store: store,
                                         time: SystemTimeSource(), logger: TestEnvironment.quietLogger)
                // A 410 in the middle restarts the round once; the script fails the same page again.
                await #expect(throws: GraphError.self) { try await runner.run(RoundOptions()) }
                return try await store.cursor()
            }
            #expect(cursor.roundMode == .full)
            #expect(cursor.roundPages == 12)
            #expect(cursor.nextLink == ScriptedDeltaSource.link(12))
        }
    }
}
