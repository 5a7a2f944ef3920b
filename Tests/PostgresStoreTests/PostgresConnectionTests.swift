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

    @Test("blocking libpq work leaves the cooperative pool free: pg_sleep on two sessions overlaps")
    func blockingCallsDoNotStarveThePool() async throws {
        try await TestDatabase.with(migrated: false) { database in
            let a = try await database.connect(), b = try await database.connect(), c = try await database.connect()
            let clock = ContinuousClock()
            let start = clock.now
            // Three sessions sleep 1 s each. Were libpq blocking the cooperative pool (one thread per
            // core, two here), the third would wait for a free thread: at least 2 s in all.
            async let x: Void = { _ = try await a.query("SELECT pg_sleep(1)") }()
            async let y: Void = { _ = try await b.query("SELECT pg_sleep(1)") }()
            async let z: Void = { _ = try await c.query("SELECT pg_sleep(1)") }()
            _ = try await (x, y, z)
            #expect(clock.now - start < .milliseconds(1_800))
            for connection in [a, b, c] { await connection.close() }
        }
    }
}
