import DirSyncCore
import Foundation
import Testing

@Suite("Schema fit: the database's migrations against the binary's")
struct SchemaFitTests {
    private static func migration(_ version: Int, _ text: String = "SELECT 1;") -> Migration {
        try! Migration(fileName: String(format: "%04d_step_%d.sql", version, version), bytes: Array(text.utf8))
    }
    private static let built = [migration(1), migration(2), migration(3)]
    private static func applied(_ migrations: [Migration]) -> [AppliedMigration] {
        migrations.map { AppliedMigration(version: $0.version, name: $0.name, checksum: $0.checksum) }
    }

    @Test("every way a database can stand against this build", arguments: [
        ("all applied", Optional(applied(built)), SchemaFit.fits),
        ("no schema_migrations table", nil, .noSchema),
        ("the table, but nothing applied", Optional([AppliedMigration]()), .noSchema),
        ("one behind", Optional(applied(Array(built.prefix(2)))), .behind(appliedThrough: 2, latest: 3, pending: 1)),
        ("ahead: a migration this build does not know", Optional(applied(built + [migration(4)])), .ahead(appliedThrough: 4, known: 3)),
        ("an applied file was edited", Optional(applied([built[0], migration(2, "SELECT 2;"), built[2]])), .edited(version: 2, fileName: "0002_step_2.sql")),
    ])
    func fit(name: String, history: [AppliedMigration]?, expected: SchemaFit) {
        #expect(SchemaFit.of(available: Self.built, applied: history) == expected, "\(name)")
    }

    @Test("each misfit names its fix; a fit has nothing to say")
    func messages() {
        #expect(SchemaFit.fits.problem == nil)
        #expect(SchemaFit.noSchema.problem == "the database has no dirsync schema yet: run `dirsync migrate` with the same DATABASE_URL")
        #expect(SchemaFit.behind(appliedThrough: 2, latest: 3, pending: 1).problem?.hasSuffix("run `dirsync migrate`") == true)
        let ahead = SchemaFit.ahead(appliedThrough: 4, known: 3).problem ?? ""
        #expect(ahead.contains("newer than this dirsync") && ahead.contains("refuses") && ahead.contains("migration 4"))
        #expect(SchemaFit.edited(version: 2, fileName: "0002_step_2.sql").problem?.contains("was edited after it was applied") == true)
    }
}
