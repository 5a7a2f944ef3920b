import DirSyncCore
import DirSyncMigrations
import DirSyncTestSupport
import Foundation
import PostgresStore
import Testing

@Suite("Migrations", .enabled(if: TestEnvironment.databaseTestsEnabled))
struct MigratorTests {
    private func migrator(_ connection: PostgresConnection, _ migrations: [Migration]? = nil) throws -> Migrator {
        Migrator(connection: connection, migrations: try migrations ?? EmbeddedMigrations.all(), logger: TestEnvironment.quietLogger)
    }

    @Test("migrate on an empty database creates the read contract; a second migrate applies nothing")
    func migrateThenNoOp() async throws {
        try await TestDatabase.with(migrated: false) { database in
            let connection = try await database.connect()
            let all = try EmbeddedMigrations.all()
            let first = try await migrator(connection).migrate()
            #expect(first.map(\.version) == all.map(\.version))
            let second = try await migrator(connection).migrate()
            #expect(second.isEmpty)
            let tables = try await connection.query("""
                SELECT table_name FROM information_schema.tables WHERE table_schema = 'directory' ORDER BY table_name
                """).map { try $0.string("table_name") }
            for table in ["domains", "users", "groups", "group_members", "schema_migrations", "sync_cursors", "sync_runs", "sync_progress"] {
                #expect(tables.contains(table), "missing directory.\(table)")
            }
            let recorded = try await connection.query("SELECT count(*)::int AS n FROM directory.schema_migrations").first?.int("n")
            #expect(recorded == all.count)
            await connection.close()
        }
    }

    @Test("two migrates started at once both succeed and apply each file exactly once")
    func concurrentMigrates() async throws {
        try await TestDatabase.with(migrated: false) { database in
            let a = try await database.connect(), b = try await database.connect()
            async let fromA = migrator(a).migrate()
            async let fromB = migrator(b).migrate()
            let (appliedA, appliedB) = try await (fromA, fromB)
            let all = try EmbeddedMigrations.all()
            #expect(appliedA.count + appliedB.count == all.count)
            #expect(appliedA.isEmpty || appliedB.isEmpty)
            let versions = try await a.query("SELECT version FROM directory.schema_migrations ORDER BY version").map { try $0.int("version") }
            #expect(versions == all.map(\.version))
            await a.close(); await b.close()
        }
    }

    @Test("an applied migration whose file was edited is refused, and nothing else is applied")
    func tamperedFileIsRefused() async throws {
        try await TestDatabase.with(migrated: true) { database in
            let connection = try await database.connect()
            var files = try EmbeddedMigrations.all()
            files[0] = try Migration(fileName: files[0].fileName, bytes: Array((files[0].sql + "\n-- edited").utf8))
            files.append(try Migration(fileName: "9999_extra.sql", bytes: Array("CREATE TABLE directory.extra (x int);".utf8)))
            await #expect(throws: MigrationError.checksumChanged(version: files[0].version, fileName: files[0].fileName)) {
                try await migrator(connection, files).migrate()
            }
            let extra = try await connection.query("SELECT to_regclass('directory.extra') IS NULL AS absent").first?.bool("absent")
            #expect(extra == true)
            // The lock was released: a correct migrate still works.
            #expect(try await migrator(connection).migrate().isEmpty)
            await connection.close()
        }
    }

    @Test("an applied migration missing from the build is refused by migrate and by status")
    func missingFileIsRefused() async throws {
        try await TestDatabase.with(migrated: true) { database in
            let connection = try await database.connect()
            try await connection.execute("INSERT INTO directory.schema_migrations (version, name, checksum) VALUES (9998, 'from_the_future', 'x')")
            await #expect(throws: MigrationError.appliedMissing(version: 9998, name: "from_the_future")) { try await migrator(connection).migrate() }
            await #expect(throws: MigrationError.appliedMissing(version: 9998, name: "from_the_future")) { try await migrator(connection).status() }
            await connection.close()
        }
    }

    @Test("status lists applied and pending migrations correctly")
    func statusIsRight() async throws {
        try await TestDatabase.with(migrated: false) { database in
            let connection = try await database.connect()
            let all = try EmbeddedMigrations.all()
            #expect(try await migrator(connection).status().allSatisfy { $0.appliedAt == nil })
            let extra = try Migration(fileName: "9999_extra.sql", bytes: Array("CREATE TABLE directory.extra (x int);".utf8))
            try await migrator(connection).migrate()
            let entries = try await migrator(connection, all + [extra]).status()
            #expect(entries.map(\.migration.version) == all.map(\.version) + [9999])
            #expect(entries.dropLast().allSatisfy { $0.appliedAt != nil })
            #expect(entries.last?.appliedAt == nil)
            await connection.close()
        }
    }

    @Test("a failing migration rolls back completely and is not recorded")
    func failingMigrationRollsBack() async throws {
        try await TestDatabase.with(migrated: true) { database in
            let connection = try await database.connect()
            let broken = try Migration(fileName: "9999_broken.sql", bytes: Array("CREATE TABLE directory.half (x int);\nSELECT 1/0;".utf8))
            let error = try await #require(throws: PostgresError.self) {
                try await migrator(connection, try EmbeddedMigrations.all() + [broken]).migrate()
            }
            #expect(error.sqlState == "22012")
            #expect(error.description.contains("9999_broken.sql"))
            let half = try await connection.query("SELECT to_regclass('directory.half') IS NULL AS absent").first?.bool("absent")
            #expect(half == true)
            let recorded = try await connection.query("SELECT count(*)::int AS n FROM directory.schema_migrations WHERE version = 9999").first?.int("n")
            #expect(recorded == 0)
            await connection.close()
        }
    }
}

@Suite("Embedded migrations")
struct EmbeddedMigrationsTests {
    @Test("the migrations embedded in the binary are exactly the files in migrations/")
    func embeddedEqualsDirectory() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("migrations")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".sql") }.sorted()
        let embedded = EmbeddedMigrations.files
        #expect(embedded.map(\.name) == names)
        for file in embedded {
            let onDisk = try Data(contentsOf: directory.appendingPathComponent(file.name))
            #expect(Array(onDisk) == file.bytes, "\(file.name) differs from its embedded copy")
        }
        // Every file parses (naming rule) and versions are unique.
        let parsed = try EmbeddedMigrations.all()
        #expect(Set(parsed.map(\.version)).count == parsed.count)
    }
}
