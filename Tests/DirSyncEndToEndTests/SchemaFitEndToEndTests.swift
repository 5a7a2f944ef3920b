import DirSyncCore
import DirSyncMigrations
import DirSyncTestSupport
import Foundation
import PostgresStore
import Testing

/// `status`, `run` and `domains list` against a database that does not fit the binary: unmigrated,
/// behind (an older schema) or ahead (a newer schema, as an older binary meets it after an upgrade).
/// Each prints the fix, exits 2 and leaves the database exactly as it was.
@Suite("Schema fit end to end: commands refuse a database that does not fit", .enabled(if: TestEnvironment.databaseTestsEnabled))
struct SchemaFitEndToEndTests {
    enum Shape: String, CaseIterable, Sendable {
        case unmigrated, older, newer
    }

    /// Every table in schema `directory` with a digest of all its rows, and the schema's existence:
    /// equal before and after means nothing was inserted, updated or deleted.
    private func fingerprint(_ connection: PostgresConnection) async throws -> [String: String] {
        var result: [String: String] = [:]
        let schemas = try await connection.query("SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'directory'")
        result["schema directory"] = String(try schemas.first?.int("n") ?? -1)
        let tables = try await connection.query("""
            SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'directory' AND c.relkind IN ('r', 'p') ORDER BY 1
            """)
        for row in tables {
            let name = try row.string("name")
            let digest = try await connection.query("""
                SELECT coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') AS d FROM directory.\(unescaped: "\"\(name)\"") t
                """)
            result[name] = try digest.first?.string("d") ?? "?"
        }
        return result
    }

    @Test("status, run and domains list each print the fix, exit 2 and write nothing", arguments: Shape.allCases)
    func refuses(_ shape: Shape) async throws {
        try await TestDatabase.with(migrated: false) { database in
            let all = try EmbeddedMigrations.all()
            let connection = try await database.connect()
            do {
                switch shape {
                case .unmigrated:
                    break
                case .older:
                    try await Migrator(connection: connection, migrations: Array(all.dropLast()), logger: TestEnvironment.quietLogger).migrate()
                    try await connection.execute("""
                        INSERT INTO directory.domains (domain, tenant_id) VALUES ('contoso.example', '72f988bf-86f1-41af-91ab-2d7cd011db47')
                        """)
                case .newer:
                    try await Migrator(connection: connection, migrations: all, logger: TestEnvironment.quietLogger).migrate()
                    try await connection.execute("""
                        INSERT INTO directory.domains (domain, tenant_id) VALUES ('contoso.example', '72f988bf-86f1-41af-91ab-2d7cd011db47')
                        """)
                    try await connection.execute("""
                        INSERT INTO directory.schema_migrations (version, name, checksum) VALUES (\(all.last!.version + 1), 'from_a_newer_release', 'x')
                        """)
                }
                let before = try await fingerprint(connection)
                let expected: String
                switch shape {
                case .unmigrated: expected = "the database has no dirsync schema yet: run `dirsync migrate`"
                case .older: expected = "the database schema is behind this dirsync (applied through migration \(all.last!.version - 1), this build has up to \(all.last!.version)"
                case .newer: expected = "the database schema is newer than this dirsync (migration \(all.last!.version + 1) is applied"
                }
                let environment: [String: String?] = [
                    "DATABASE_URL": database.connectionString, "AZURE_CLIENT_ID": GraphSimProcess.clientID, "AZURE_CLIENT_SECRET": GraphSimProcess.clientSecret,
                    "DIRSYNC_GRAPH_URL": "http://127.0.0.1:9", "AZURE_AUTHORITY_HOST": "http://127.0.0.1:9",
                ]
                for command in [["status"], ["status", "--format", "json"], ["run"], ["domains", "list"]] {
                    let outcome = try await ProductRunner.run("dirsync", command + ["--log-format", "text"], environment: environment)
                    #expect(outcome.exitCode == 2, "\(shape) \(command): exit \(outcome.exitCode): \(outcome.stderr)")
                    #expect(outcome.stderr.contains(expected), "\(shape) \(command): \(outcome.stderr)")
                    #expect(!outcome.stderr.contains("does not exist"), "\(shape) \(command): a raw database error leaked: \(outcome.stderr)")
                }
                #expect(try await fingerprint(connection) == before, "\(shape): the database changed")
                if shape != .unmigrated {
                    // migrate is the fix for an older schema and refuses a newer one: it is not blocked by the check.
                    let migrate = try await ProductRunner.run("dirsync", ["migrate"], environment: environment)
                    #expect(migrate.exitCode == (shape == .older ? 0 : 2), "\(migrate.stderr)")
                    if shape == .older {
                        #expect(try await ProductRunner.run("dirsync", ["domains", "list"], environment: environment).exitCode == 0)
                    }
                }
                await connection.close()
            } catch {
                await connection.close()
                throw error
            }
        }
    }
    @Test("a directory_reader login passes the schema check: a service can run dirsync changes and dirsync resolve read-only")
    func readerLoginPassesTheCheck() async throws {
        try await TestDatabase.with(migrated: true) { database in
            let login = "reader_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)
            let connection = try await database.connect()
            try await connection.execute(SQL(unsafeSQL: "CREATE ROLE \(login) LOGIN IN ROLE directory_reader"))
            do {
                var url = database.connectionString
                if url.hasPrefix("postgres"), var components = URLComponents(string: url) {
                    components.user = String(login)
                    components.password = nil
                    url = components.string ?? url
                } else {
                    url += " user=\(login)"
                }
                let environment: [String: String?] = ["DATABASE_URL": url]
                let changes = try await ProductRunner.run("dirsync", ["changes", "--latest"], environment: environment)
                #expect(changes.exitCode == 0, "\(changes.stderr)")
                let resolve = try await ProductRunner.run("dirsync", ["resolve", "nobody@contoso.example"], environment: environment)
                #expect(resolve.exitCode == 1 && !resolve.stderr.contains("permission denied"), "\(resolve.exitCode): \(resolve.stderr)")
                let write = try await ProductRunner.run("dirsync", ["domains", "add", "contoso.example", "--tenant-id", "72f988bf-86f1-41af-91ab-2d7cd011db47"],
                                                        environment: environment)
                #expect(write.exitCode != 0, "a reader must not be able to onboard a domain")
            } catch {
                _ = try? await connection.execute(SQL(unsafeSQL: "DROP ROLE IF EXISTS \(login)"))
                await connection.close()
                throw error
            }
            _ = try? await connection.execute(SQL(unsafeSQL: "DROP OWNED BY \(login)"))
            try await connection.execute(SQL(unsafeSQL: "DROP ROLE IF EXISTS \(login)"))
            await connection.close()
        }
    }
}
