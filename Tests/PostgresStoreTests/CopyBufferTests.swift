import DirSyncTestSupport
import Foundation
import PostgresStore
import Testing

@Suite("COPY FROM STDIN", .enabled(if: TestEnvironment.databaseTestsEnabled))
struct CopyBufferTests {
    static let hostileStrings: [String] = [
        "tab\there", "new\nline", "carriage\rreturn", "back\\slash", "\\N", "\\.", "quote \" and '", "emoji 🚀👩🏽‍💻",
        "RTL עברית العربية", "zero-width \u{200B} joiner \u{200D}", "{\"braces\",like,an,array}", "NULL", "",
        String(repeating: "ü10k", count: 2_500), "trailing backslash\\", "comma, semicolon; pipe |",
    ]

    @Test("hostile strings, NULLs, booleans, UUIDs and arrays survive a COPY round trip unchanged")
    func roundTrip() async throws {
        try await TestDatabase.with(migrated: false) { database in
            let connection = try await database.connect()
            try await connection.execute("CREATE TABLE t (n integer, id uuid, s text, flag boolean, tags text[])")
            var copy = CopyBuffer()
            var expected: [(Int, UUID, String?, Bool?, [String]?)] = []
            for (index, text) in Self.hostileStrings.enumerated() {
                let id = UUID()
                let tags: [String]? = index % 4 == 3 ? nil : [text, "second", "x\"y\\z\t{},"]
                let flag: Bool? = index % 3 == 0 ? nil : index % 2 == 0
                let value: String? = index % 5 == 4 ? nil : text
                copy.append(index); copy.append(id); copy.append(value); copy.append(flag); copy.append(tags)
                copy.endRow()
                expected.append((index, id, value, flag, tags))
            }
            let copied = try await connection.copyIn("COPY t (n, id, s, flag, tags) FROM STDIN", buffer: copy)
            #expect(copied == Self.hostileStrings.count)
            let rows = Array(try await connection.query("SELECT n, id, s, flag, tags FROM t ORDER BY n"))
            #expect(rows.count == expected.count)
            for (row, want) in zip(rows, expected) {
                #expect(try row.int("n") == want.0)
                #expect(try row.uuid("id") == want.1)
                #expect(try row.optionalString("s") == want.2)
                #expect(try row.optionalBool("flag") == want.3)
                #expect(try row.optionalStringArray("tags") == want.4)
            }
            await connection.close()
        }
    }

    @Test("a COPY the server rejects surfaces the server's error and leaves the session usable")
    func rejectedCopy() async throws {
        try await TestDatabase.with(migrated: false) { database in
            let connection = try await database.connect()
            try await connection.execute("CREATE TABLE t (id uuid PRIMARY KEY)")
            var copy = CopyBuffer()
            let id = UUID()
            copy.append(id); copy.endRow()
            copy.append(id); copy.endRow()
            let error = try await #require(throws: PostgresError.self) {
                try await connection.copyIn("COPY t (id) FROM STDIN", buffer: copy)
            }
            #expect(error.sqlState == "23505")
            #expect(try await connection.query("SELECT count(*)::int AS n FROM t").first?.int("n") == 0)
        }
    }

    @Test("a large COPY spanning many 256 KiB chunks arrives complete")
    func largeCopy() async throws {
        try await TestDatabase.with(migrated: false) { database in
            let connection = try await database.connect()
            try await connection.execute("CREATE TABLE t (id uuid, s text)")
            var copy = CopyBuffer()
            for index in 0..<20_000 { copy.append(UUID()); copy.append("row \(index) \t with a tab"); copy.endRow() }
            #expect(copy.bytes.count > 4 * 256 * 1024)
            #expect(try await connection.copyIn("COPY t (id, s) FROM STDIN", buffer: copy) == 20_000)
            #expect(try await connection.query("SELECT count(DISTINCT s)::int AS n FROM t").first?.int("n") == 20_000)
        }
    }
}
