/// Whether a database's schema is the one this binary was built for: every command that reads or
/// writes the directory checks it first, so an unmigrated, outdated or newer database is named with
/// its fix instead of failing on a missing relation or writing into a schema it does not know.
public enum SchemaFit: Sendable, Equatable {
    /// Applied exactly what this build carries.
    case fits
    /// No dirsync schema at all (never migrated).
    case noSchema
    /// Migrations of this build are not applied yet.
    case behind(appliedThrough: Int, latest: Int, pending: Int)
    /// The database carries migrations this build does not know (an older binary after an upgrade).
    case ahead(appliedThrough: Int, known: Int)
    /// An applied migration differs from this build's file of the same version.
    case edited(version: Int, fileName: String)

    /// Compares what the database applied with what this build carries.
    /// - Parameters:
    ///   - available: the migrations embedded in this build.
    ///   - applied: `directory.schema_migrations`, or `nil` when that table does not exist.
    public static func of(available: [Migration], applied: [AppliedMigration]?) -> SchemaFit {
        guard let applied, !applied.isEmpty else { return .noSchema }
        let known = Dictionary(available.map { ($0.version, $0) }, uniquingKeysWith: { first, _ in first })
        let latestKnown = available.map(\.version).max() ?? 0
        let appliedThrough = applied.map(\.version).max() ?? 0
        if applied.contains(where: { known[$0.version] == nil }) {
            return .ahead(appliedThrough: appliedThrough, known: latestKnown)
        }
        for record in applied.sorted(by: { $0.version < $1.version }) {
            if let file = known[record.version], file.checksum != record.checksum {
                return .edited(version: record.version, fileName: file.fileName)
            }
        }
        let appliedVersions = Set(applied.map(\.version))
        let pending = available.filter { !appliedVersions.contains($0.version) }.count
        return pending > 0 ? .behind(appliedThrough: appliedThrough, latest: latestKnown, pending: pending) : .fits
    }

    /// What is wrong and the fix, for operators; `nil` when the schema fits.
    public var problem: String? {
        switch self {
        case .fits:
            return nil
        case .noSchema:
            return "the database has no dirsync schema yet: run `dirsync migrate` with the same DATABASE_URL"
        case .behind(let appliedThrough, let latest, let pending):
            return "the database schema is behind this dirsync (applied through migration \(appliedThrough), this build has up to \(latest); "
                + "\(pending) pending): run `dirsync migrate`"
        case .ahead(let appliedThrough, let known):
            return "the database schema is newer than this dirsync (migration \(appliedThrough) is applied, this build knows migrations up to \(known)): "
                + "this binary refuses to use it; run the newer dirsync that migrated it (migrations only go forward)"
        case .edited(let version, let fileName):
            return MigrationError.checksumChanged(version: version, fileName: fileName).description
        }
    }
}
