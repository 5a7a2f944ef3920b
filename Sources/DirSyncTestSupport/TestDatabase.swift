import DirSyncCore
import DirSyncMigrations
import Foundation
import Logging
import PostgresStore

/// How the test process was started.
package enum TestEnvironment {
    package static var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// The server tests create their databases on: `DATABASE_URL`, as exported by `scripts/test`.
    package static var databaseURL: String? {
        guard let url = environment["DATABASE_URL"], !url.isEmpty else { return nil }
        return url
    }

    /// True under CI, where a test that needs PostgreSQL must fail rather than skip.
    package static var isCI: Bool { environment["CI"].map { ["true", "1", "yes"].contains($0.lowercased()) } ?? false }

    /// Database tests run whenever `DATABASE_URL` is set, and always under CI (where they then fail
    /// loudly if the database is missing). Locally without a database they are skipped.
    package static var databaseTestsEnabled: Bool { databaseURL != nil || isCI }

    /// A logger that drops everything, for tests that do not inspect logs.
    package static var quietLogger: Logger { Logger(label: "dirsync.test") { _ in SwiftLogNoOpLogHandler() } }
}

/// A fresh, uniquely named database for one test, dropped afterwards.
package struct TestDatabase: Sendable {
    package struct Unavailable: Error, CustomStringConvertible {
        package init() {}
        package var description: String {
            "DATABASE_URL is not set: run the suite through scripts/test, which starts a throwaway PostgreSQL"
        }
    }

    /// The database's name, `dirsync_test_<random>`.
    package let name: String
    /// Connection settings for this database.
    package let configuration: PostgresConfiguration
    /// The same settings as a conninfo string for child processes (`DATABASE_URL`).
    package let connectionString: String

    /// Creates a database, runs `body` with it, and drops it whatever happens.
    /// - Parameter migrated: whether to apply dirsync's migrations first.
    package static func with<T>(migrated: Bool = true, _ body: (TestDatabase) async throws -> T) async throws -> T {
        guard let url = TestEnvironment.databaseURL else { throw Unavailable() }
        let server = PostgresConfiguration(connectionString: url)
        let name = "dirsync_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        // The server session is open only to create and to drop: with the suite running side by side,
        // sessions held idle through every test would count against the server's connection limit.
        _ = try await PostgresConnection.withConnection(server, logger: TestEnvironment.quietLogger) { admin in
            try await admin.execute(SQL(unsafeSQL: "CREATE DATABASE \(name)"))
        }
        let database = TestDatabase(name: name, configuration: server.database(name), connectionString: Self.connectionString(url, database: name))
        func drop() async throws {
            _ = try await PostgresConnection.withConnection(server, logger: TestEnvironment.quietLogger) { admin in
                try await admin.execute(SQL(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"))
            }
        }
        do {
            if migrated {
                let connection = try await database.connect()
                try await Migrator(connection: connection, migrations: try EmbeddedMigrations.all(), logger: TestEnvironment.quietLogger).migrate()
                await connection.close()
            }
            let result = try await body(database)
            try await drop()
            return result
        } catch {
            try? await drop()
            throw error
        }
    }

    /// `url` pointed at another database, in the same form (URI or key=value).
    static func connectionString(_ url: String, database: String) -> String {
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://"), var components = URLComponents(string: url) {
            components.path = "/" + database
            return components.string ?? url
        }
        return "\(url) dbname=\(database)"
    }

    /// Opens a new session on this database.
    package func connect(logger: Logger = TestEnvironment.quietLogger) async throws -> PostgresConnection {
        try await PostgresConnection.connect(configuration, logger: logger)
    }
}
