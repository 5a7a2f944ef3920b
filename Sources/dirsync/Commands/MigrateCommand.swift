import ArgumentParser
import DirSyncCore
import DirSyncMigrations
import Foundation
import PostgresStore

/// `dirsync migrate`: brings the `directory` schema up to this build's version.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply pending schema migrations (forward only), or list them with --status.",
        discussion: """
            Migrations are compiled into dirsync, so no files are needed beside the binary. Each runs \
            in its own transaction and is recorded in directory.schema_migrations. A PostgreSQL advisory \
            lock makes concurrent runs safe. dirsync refuses to continue when an applied migration was \
            edited or is unknown to this build.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "List applied and pending migrations instead of applying them.")
    var status = false

    func run() async throws {
        let logger = global.makeLogger()
        let migrations = try EmbeddedMigrations.all()
        let configuration = try global.configuration()
        let status = status
        try await configuration.withDatabase(logger: logger, checkingSchema: false) { connection in
            let migrator = Migrator(connection: connection, migrations: migrations, logger: logger)
            if status {
                print(Self.statusTable(try await migrator.status()))
                return
            }
            let applied = try await migrator.migrate()
            if applied.isEmpty {
                print("schema is up to date (version \(migrations.last?.version ?? 0))")
            } else {
                for migration in applied { print("applied \(migration.fileName)") }
                print("schema is now at version \(applied.last!.version)")
            }
        }
    }

    static func statusTable(_ entries: [Migrator.Entry]) -> String {
        var lines = ["VERSION  STATE    APPLIED AT                 NAME"]
        for entry in entries {
            let version = String(format: "%04d", entry.migration.version)
            let state = entry.appliedAt == nil ? "pending" : "applied"
            let when = entry.appliedAt.map { $0.formatted(.iso8601) } ?? "-"
            lines.append("\(version)     \(state.padding(toLength: 8, withPad: " ", startingAt: 0)) \(when.padding(toLength: 26, withPad: " ", startingAt: 0)) \(entry.migration.name)")
        }
        return lines.joined(separator: "\n")
    }
}
