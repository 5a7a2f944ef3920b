import DirSyncCore
import Testing

@Suite("Migration planning")
struct MigrationPlanTests {
    private func migration(_ file: String, _ sql: String = "SELECT 1;") throws -> Migration {
        try Migration(fileName: file, bytes: Array(sql.utf8))
    }

    @Test("file names give version and name; the checksum is the SHA-256 of the bytes")
    func parsesFileName() throws {
        let m = try migration("0007_add_index.sql", "abc")
        #expect(m.version == 7)
        #expect(m.name == "add_index")
        #expect(m.checksum == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test("misnamed files are refused with the naming rule", arguments: [
        "1_short.sql", "0001-dash.sql", "0001_.sql", "0001_Upper.sql", "0000_zero.sql", "0001_name.txt", "abcd_name.sql",
    ])
    func refusesBadNames(file: String) {
        #expect(throws: MigrationError.badFileName(file)) { try Migration(fileName: file, bytes: []) }
    }

    @Test("on an empty database every migration is pending, in version order")
    func allPendingWhenEmpty() throws {
        let files = [try migration("0002_b.sql"), try migration("0001_a.sql")]
        let pending = try MigrationPlan.pending(available: files, applied: [])
        #expect(pending.map(\.version) == [1, 2])
    }

    @Test("applied migrations are skipped, so a second migrate is a no-op")
    func appliedAreSkipped() throws {
        let a = try migration("0001_a.sql"), b = try migration("0002_b.sql")
        let applied = [AppliedMigration(version: 1, name: "a", checksum: a.checksum)]
        #expect(try MigrationPlan.pending(available: [a, b], applied: applied).map(\.version) == [2])
        let all = applied + [AppliedMigration(version: 2, name: "b", checksum: b.checksum)]
        #expect(try MigrationPlan.pending(available: [a, b], applied: all).isEmpty)
    }

    @Test("an applied migration whose file changed is refused")
    func tamperedIsRefused() throws {
        let a = try migration("0001_a.sql", "SELECT 2;")
        let applied = [AppliedMigration(version: 1, name: "a", checksum: String(repeating: "0", count: 64))]
        #expect(throws: MigrationError.checksumChanged(version: 1, fileName: "0001_a.sql")) {
            try MigrationPlan.pending(available: [a], applied: applied)
        }
    }

    @Test("an applied migration missing from the build is refused")
    func missingIsRefused() throws {
        let a = try migration("0001_a.sql")
        let applied = [
            AppliedMigration(version: 1, name: "a", checksum: a.checksum),
            AppliedMigration(version: 2, name: "b", checksum: "x"),
        ]
        #expect(throws: MigrationError.appliedMissing(version: 2, name: "b")) {
            try MigrationPlan.pending(available: [a], applied: applied)
        }
    }

    @Test("two files with one version are refused")
    func duplicateVersionIsRefused() throws {
        let files = [try migration("0001_a.sql"), try migration("0001_b.sql")]
        #expect(throws: MigrationError.duplicateVersion(1, ["0001_a.sql", "0001_b.sql"])) {
            try MigrationPlan.pending(available: files, applied: [])
        }
    }
}
