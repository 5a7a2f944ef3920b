import DirSyncTestSupport
import Foundation
import PostgresStore
import Testing

@Suite("dirsync migrate (built binary)", .enabled(if: TestEnvironment.databaseTestsEnabled))
struct MigrateCommandTests {
    @Test("migrate applies the schema, a second migrate is a no-op, and --status lists it as applied")
    func migrateAndStatus() async throws {
        try await TestDatabase.with(migrated: false) { database in
            let env: [String: String?] = ["DATABASE_URL": database.connectionString]
            let first = try await ProductRunner.run("dirsync", ["migrate"], environment: env)
            #expect(first.exitCode == 0, "\(first.stderr)")
            #expect(first.stdout.contains("applied 0001_directory_schema.sql"))
            let second = try await ProductRunner.run("dirsync", ["migrate"], environment: env)
            #expect(second.exitCode == 0)
            #expect(second.stdout.contains("up to date"))
            #expect(!second.stdout.contains("applied 0001"))
            let status = try await ProductRunner.run("dirsync", ["migrate", "--status"], environment: env)
            #expect(status.exitCode == 0)
            #expect(status.stdout.contains("0001     applied"))
            #expect(!status.stdout.contains("pending"))
        }
    }

    @Test("two migrate processes at once both exit 0")
    func concurrentProcesses() async throws {
        try await TestDatabase.with(migrated: false) { database in
            let env: [String: String?] = ["DATABASE_URL": database.connectionString]
            async let a = ProductRunner.run("dirsync", ["migrate"], environment: env)
            async let b = ProductRunner.run("dirsync", ["migrate"], environment: env)
            let (first, second) = try await (a, b)
            #expect(first.exitCode == 0 && second.exitCode == 0, "\(first.stderr) \(second.stderr)")
            #expect([first.stdout, second.stdout].filter { $0.contains("applied 0001") }.count == 1)
        }
    }

    @Test("a bad DATABASE_URL exits non-zero with one clear line and never the password", arguments: [
        ("postgresql://postgres:TopSecret99@127.0.0.1:{port}/postgres", "password", Int32(1)),
        ("postgresql://postgres:TopSecret99@127.0.0.1:1/postgres", "port 1", Int32(1)),
        ("{base} dbname=missing_db_xyz password=TopSecret99", "does not exist", Int32(1)),
        ("postgresql://postgres:TopSecret99%zz@127.0.0.1/postgres", "DATABASE_URL", Int32(2)),
        ("host=name.that.does.not.exist.invalid password=TopSecret99", "host name", Int32(1)),
    ])
    func badDatabaseURL(template: String, expected: String, exitCode: Int32) async throws {
        let base = try #require(TestEnvironment.databaseURL)
        let port = try await TestDatabase.with(migrated: false) { database in
            try await PostgresConnection.withConnection(database.configuration, logger: TestEnvironment.quietLogger) { connection in
                try #require(try await connection.query("SELECT current_setting('port') AS p").first?.string("p"))
            }
        }
        let url = template.replacingOccurrences(of: "{port}", with: port).replacingOccurrences(of: "{base}", with: base)
        let outcome = try await ProductRunner.run("dirsync", ["migrate", "--log-format", "text"], environment: ["DATABASE_URL": url, "PGCONNECT_TIMEOUT": "5"])
        #expect(outcome.exitCode == exitCode, "\(outcome.stderr)")
        #expect(outcome.stderrLines.count == 1, "expected one line, got: \(outcome.stderr)")
        #expect(outcome.stderr.hasPrefix("dirsync: error: "))
        #expect(outcome.stderr.contains(expected))
        #expect(!outcome.stderr.contains("TopSecret99"))
        #expect(!outcome.stdout.contains("TopSecret99"))
    }
}
