import DirSyncTestSupport
import Foundation
import PostgresStore
import Testing

@Suite("PostgreSQL connection", .enabled(if: TestEnvironment.databaseTestsEnabled))
struct PostgresConnectionTests {
    @Test("parameters and results round-trip text, bool, int, uuid, timestamptz and text[]")
    func typedRoundTrip() async throws {
        try await TestDatabase.with(migrated: false) { database in
            let connection = try await database.connect()
            let id = UUID()
            let when = Date(timeIntervalSince1970: 1_790_000_000.123456)
            let tags = ["SMTP:zoë@contoso.com", "with \"quote\"", "back\\slash", "comma,brace{}", "", "NULL"]
            let row = try #require(try await connection.query("""
                SELECT \("Zoë 🚀 שלום")::text AS t, \(true)::boolean AS b, \(42)::integer AS i, \(id)::uuid AS u,
                       \(when)::timestamptz AS ts, \(tags)::text[] AS a, NULL::text AS n, '{}'::text[] AS e
                """).first)
            #expect(try row.string("t") == "Zoë 🚀 שלום")
            #expect(try row.bool("b") == true)
            #expect(try row.int("i") == 42)
            #expect(try row.uuid("u") == id)
            #expect(abs(try row.date("ts").timeIntervalSince(when)) < 0.000_001)
            #expect(try row.stringArray("a") == tags)
            #expect(try row.optionalString("n") == nil)
            #expect(try row.stringArray("e") == [])
            await connection.close()
        }
    }

    @Test("a value cannot change the statement: quotes and semicolons are just data")
    func parametersAreNotSQL() async throws {
        try await TestDatabase.with(migrated: false) { database in
            let connection = try await database.connect()
            let hostile = "x'); DROP TABLE t; --"
            try await connection.execute("CREATE TABLE t (v text)")
            try await connection.execute("INSERT INTO t (v) VALUES (\(hostile))")
            let rows = try await connection.query("SELECT v FROM t")
            #expect(rows.count == 1)
            #expect(try rows.first?.string("v") == hostile)
            await connection.close()
        }
    }

    @Test("a failing statement surfaces its SQLSTATE, message and statement name")
    func errorsCarrySQLState() async throws {
        try await TestDatabase.with(migrated: false) { database in
            let connection = try await database.connect()
            try await connection.execute("CREATE TABLE t (id integer PRIMARY KEY)")
            try await connection.execute("INSERT INTO t VALUES (1)")
            let error = try await #require(throws: PostgresError.self) {
                try await connection.execute("INSERT INTO t VALUES (\(1))", name: "insert t")
            }
            #expect(error.sqlState == "23505")
            #expect(error.code == .queryFailed)
            #expect(error.statement == "insert t")
            #expect(error.description.contains("duplicate key"))
            #expect(error.detail?.contains("(id)=(1)") == true)
            let syntax = try await #require(throws: PostgresError.self) { try await connection.execute("SELEC 1") }
            #expect(syntax.sqlState == "42601")
            // The session stays usable after an error.
            #expect(try await connection.query("SELECT 1 AS one").first?.int("one") == 1)
            await connection.close()
        }
    }

    @Test("withTransaction commits on return and rolls back on any thrown error")
    func transactionRollsBack() async throws {
        struct Boom: Error {}
        try await TestDatabase.with(migrated: false) { database in
            let connection = try await database.connect()
            try await connection.execute("CREATE TABLE t (v integer)")
            try await connection.withTransaction { tx in try await tx.execute("INSERT INTO t VALUES (1)") }
            await #expect(throws: Boom.self) {
                try await connection.withTransaction { tx in
                    try await tx.execute("INSERT INTO t VALUES (2)")
                    throw Boom()
                }
            }
            await #expect(throws: PostgresError.self) {
                try await connection.withTransaction { tx in
                    try await tx.execute("INSERT INTO t VALUES (3)")
                    try await tx.execute("INSERT INTO t VALUES ('not a number')")
                }
            }
            let values = try await connection.query("SELECT v FROM t ORDER BY v").map { try $0.int("v") }
            #expect(values == [1])
            await connection.close()
        }
    }

    @Test("blocking libpq work leaves the cooperative pool free: three sessions blocked in the server at once, a fourth still works")
    func blockingCallsDoNotStarveThePool() async throws {
        try await TestDatabase.with(migrated: false) { database in
            let control = try await database.connect()
            let waiters = [try await database.connect(), try await database.connect(), try await database.connect()]
            // A lock wait that never ends fails the test instead of hanging it.
            for session in [control] + waiters { _ = try await session.query("SET lock_timeout = '300s'") }
            // The control session holds the gate (lock 1000, which the waiters share once it opens); waiter i holds
            // its arrival lock 1001 + i.
            _ = try await control.query("SELECT pg_advisory_lock(1000)")
            for (index, session) in waiters.enumerated() { _ = try await session.query(SQL(unsafeSQL: "SELECT pg_advisory_lock(\(1001 + index))")) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                // One blocking call per waiter: let go of its arrival lock, then wait in the server for the gate.
                for (index, session) in waiters.enumerated() {
                    group.addTask {
                        _ = try await session.query(SQL(unsafeSQL: "DO $$ BEGIN PERFORM pg_advisory_unlock(\(1001 + index)); PERFORM pg_advisory_lock_shared(1000); END $$"))
                    }
                }
                // The arrival locks come free only once all three waiters are inside their blocking calls: more
                // calls than the cooperative pool has threads (one per core, two here). Were libpq blocking that
                // pool, the third call (and this one) could not start until the lock timeout failed the others.
                _ = try await control.query("SELECT pg_advisory_lock(1001), pg_advisory_lock(1002), pg_advisory_lock(1003)")
                _ = try await control.query("SELECT pg_advisory_unlock(1000)")
                try await group.waitForAll()
            }
            for connection in [control] + waiters { await connection.close() }
        }
    }
}
