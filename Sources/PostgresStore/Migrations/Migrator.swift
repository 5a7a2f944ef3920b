import DirSyncCore
import Foundation
import Logging

/// Applies dirsync's forward-only migrations and reports their state.
///
/// `migrate()` holds a session-level advisory lock for its whole run, so two `dirsync migrate`
/// processes started at once are serialised: the second waits, finds nothing pending, and succeeds.
/// Each migration file runs in its own transaction together with its row in
/// `directory.schema_migrations`, so a failing file leaves no trace and the history stays exact.
public struct Migrator: Sendable {
    /// The advisory lock key, the ASCII bytes of "dirsyncM" as a bigint; documented for DBAs.
    public static let advisoryLockKey: Int64 = 0x6469_7273_796E_634D

    /// One migration's state in a database.
    public struct Entry: Sendable, Equatable {
        public var migration: Migration
        /// When it was applied; `nil` while pending.
        public var appliedAt: Date?
    }

    private let connection: PostgresConnection
    private let migrations: [Migration]
    private let logger: Logger

    /// - Parameters:
    ///   - connection: a session on the target database.
    ///   - migrations: the migrations this build carries (`EmbeddedMigrations.all()`).
    public init(connection: PostgresConnection, migrations: [Migration], logger: Logger) {
        self.connection = connection
        self.migrations = migrations
        self.logger = logger
    }

    /// Applies every pending migration in version order.
    /// - Returns: the migrations applied by this call (empty when the database was current).
    /// - Throws: ``MigrationError`` when the history does not match this build (an applied file
    ///   changed or is missing), ``PostgresError`` when a statement fails.
    @discardableResult
    public func migrate() async throws -> [Migration] {
        try await connection.execute("SELECT pg_advisory_lock(\(Self.advisoryLockKey))", name: "take migration lock")
        do {
            let applied = try await bootstrapAndReadHistory()
            let pending = try MigrationPlan.pending(available: migrations, applied: applied)
            for migration in pending {
                logger.info("applying migration", metadata: ["migration.version": "\(migration.version)", "migration.name": "\(migration.name)"])
                try await connection.withTransaction { tx in
                    do {
                        try await tx.executeScript(migration.sql, label: "migration \(migration.fileName)")
                    } catch var error as PostgresError {
                        error.hint = [error.hint, "the migration was rolled back; fix the database or the file and run dirsync migrate again"]
                            .compactMap { $0 }.joined(separator: "; ")
                        throw error
                    }
                    try await tx.execute("""
                        INSERT INTO directory.schema_migrations (version, name, checksum)
                        VALUES (\(migration.version), \(migration.name), \(migration.checksum))
                        """, name: "record migration")
                }
            }
            try await unlock()
            return pending
        } catch {
            try? await unlock()
            throw error
        }
    }

    /// Lists every migration this build knows with its state, and checks the history.
    /// - Throws: ``MigrationError`` when the history does not match this build.
    public func status() async throws -> [Entry] {
        let applied = try await readHistory()
        _ = try MigrationPlan.pending(available: migrations, applied: applied.map(\.record))
        let appliedAt = Dictionary(uniqueKeysWithValues: applied.map { ($0.record.version, $0.appliedAt) })
        return migrations.sorted { $0.version < $1.version }.map { Entry(migration: $0, appliedAt: appliedAt[$0.version]) }
    }

    /// What `directory.schema_migrations` lists, or `nil` when the table does not exist (an
    /// unmigrated database). Reads only; creates nothing. A login that may not read the table (a
    /// `directory_reader`) reads the same through `directory.applied_migrations()`.
    public func applied() async throws -> [AppliedMigration]? {
        let found = try await connection.query("""
            SELECT to_regclass('directory.schema_migrations') IS NOT NULL AS present,
                   to_regclass('directory.schema_migrations') IS NOT NULL
                       AND has_table_privilege('directory.schema_migrations', 'SELECT') AS readable,
                   to_regprocedure('directory.applied_migrations()') IS NOT NULL AS function
            """, name: "find schema_migrations")
        guard let row = found.first, try row.bool("present") else { return nil }
        if try row.bool("readable") { return try await readHistory().map(\.record) }
        guard try row.bool("function") else {
            throw MigrationError.historyUnreadable
        }
        return try await connection.query("SELECT version, name, checksum FROM directory.applied_migrations()", name: "read applied migrations").map { row in
            AppliedMigration(version: try row.int("version"), name: try row.string("name"), checksum: try row.string("checksum"))
        }
    }

    /// Whether this database's schema is the one ``migrations`` describe (see ``SchemaFit``).
    public func fit() async throws -> SchemaFit {
        SchemaFit.of(available: migrations, applied: try await applied())
    }

    private func unlock() async throws {
        try await connection.execute("SELECT pg_advisory_unlock(\(Self.advisoryLockKey))", name: "release migration lock")
    }

    private func bootstrapAndReadHistory() async throws -> [AppliedMigration] {
        try await connection.execute("CREATE SCHEMA IF NOT EXISTS directory", name: "create schema directory")
        try await connection.execute("""
            CREATE TABLE IF NOT EXISTS directory.schema_migrations (
                version     integer PRIMARY KEY,
                name        text NOT NULL,
                checksum    text NOT NULL,
                applied_at  timestamptz NOT NULL DEFAULT now()
            )
            """, name: "create schema_migrations")
        return try await readHistory().map(\.record)
    }

    private func readHistory() async throws -> [(record: AppliedMigration, appliedAt: Date)] {
        let exists = try await connection.query("SELECT to_regclass('directory.schema_migrations') IS NOT NULL AS present", name: "find schema_migrations")
        guard try exists.first?.bool("present") == true else { return [] }
        let rows = try await connection.query("SELECT version, name, checksum, applied_at FROM directory.schema_migrations ORDER BY version", name: "read schema_migrations")
        return try rows.map { row in
            (AppliedMigration(version: try row.int("version"), name: try row.string("name"), checksum: try row.string("checksum")), try row.date("applied_at"))
        }
    }
}
