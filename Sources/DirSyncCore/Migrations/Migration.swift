/// One forward-only schema migration: `migrations/NNNN_name.sql`.
public struct Migration: Sendable, Equatable {
    /// The number before the first underscore, e.g. `1` for `0001_directory_schema.sql`.
    public let version: Int
    /// The part after the number, e.g. `directory_schema`.
    public let name: String
    /// The file name it came from.
    public let fileName: String
    /// The SQL text, run as one transaction.
    public let sql: String
    /// SHA-256 of the file's bytes, hex; recorded when applied so later edits are caught.
    public let checksum: String

    /// Parses a migration file.
    /// - Parameters:
    ///   - fileName: the base name, `NNNN_snake_case.sql`.
    ///   - bytes: the file's content, UTF-8.
    /// - Throws: ``MigrationError`` when the name does not follow the pattern or the text is not UTF-8.
    public init(fileName: String, bytes: [UInt8]) throws(MigrationError) {
        guard fileName.hasSuffix(".sql"),
              let underscore = fileName.firstIndex(of: "_"),
              case let digits = fileName[..<underscore], digits.count == 4, digits.allSatisfy(\.isASCII),
              let version = Int(digits), version > 0
        else { throw .badFileName(fileName) }
        let name = String(fileName[fileName.index(after: underscore)...].dropLast(4))
        guard !name.isEmpty, name.allSatisfy({ $0.isLowercase || $0.isNumber || $0 == "_" }) else { throw .badFileName(fileName) }
        guard let sql = String(validating: bytes, as: UTF8.self) else { throw .notUTF8(fileName) }
        self.version = version
        self.name = name
        self.fileName = fileName
        self.sql = sql
        self.checksum = SHA256.hexDigest(bytes)
    }
}

/// What the database says was applied: one row of `directory.schema_migrations`.
public struct AppliedMigration: Sendable, Equatable {
    public var version: Int
    public var name: String
    public var checksum: String

    public init(version: Int, name: String, checksum: String) {
        self.version = version
        self.name = name
        self.checksum = checksum
    }
}

/// Problems with migration files or with the database's migration history.
public enum MigrationError: Error, Sendable, Equatable, CustomStringConvertible {
    case badFileName(String)
    case notUTF8(String)
    case duplicateVersion(Int, [String])
    case checksumChanged(version: Int, fileName: String)
    case appliedMissing(version: Int, name: String)
    /// This login may read neither the migration history nor `directory.applied_migrations()`.
    case historyUnreadable

    public var description: String {
        switch self {
        case .badFileName(let file):
            "migration file '\(file)' is misnamed: use NNNN_snake_case.sql (four digits, lower case)"
        case .notUTF8(let file):
            "migration file '\(file)' is not valid UTF-8: save it as UTF-8"
        case .duplicateVersion(let version, let files):
            "migration version \(version) is used by several files (\(files.joined(separator: ", "))): give each file its own number"
        case .checksumChanged(let version, let file):
            "migration \(version) ('\(file)') was edited after it was applied: migrations only go forward; restore the original file and put the change in a new migration"
        case .appliedMissing(let version, let name):
            "migration \(version) ('\(name)') is applied in this database but missing from this dirsync build: run the dirsync version that applied it, or a newer one"
        case .historyUnreadable:
            "this database login may not read which migrations are applied (directory.schema_migrations): run `dirsync migrate` with this dirsync as the schema owner, or use a login with directory_reader or more"
        }
    }
}

/// The pure decision of which migrations to apply, given the files and the database's history.
public enum MigrationPlan {
    /// The state of one known migration.
    public enum Status: Sendable, Equatable {
        case applied
        case pending
    }

    /// Checks the history against the files and returns the pending migrations in version order.
    /// - Parameters:
    ///   - available: the migrations this build carries.
    ///   - applied: what `directory.schema_migrations` lists.
    /// - Returns: the migrations not yet applied, lowest version first.
    /// - Throws: ``MigrationError`` for duplicate versions, edited applied files, or applied versions
    ///   this build does not know.
    public static func pending(available: [Migration], applied: [AppliedMigration]) throws(MigrationError) -> [Migration] {
        let byVersion = Dictionary(grouping: available, by: \.version)
        if let duplicate = byVersion.first(where: { $0.value.count > 1 }) {
            throw .duplicateVersion(duplicate.key, duplicate.value.map(\.fileName).sorted())
        }
        for record in applied.sorted(by: { $0.version < $1.version }) {
            guard let file = byVersion[record.version]?.first else {
                throw .appliedMissing(version: record.version, name: record.name)
            }
            guard file.checksum == record.checksum else {
                throw .checksumChanged(version: record.version, fileName: file.fileName)
            }
        }
        let appliedVersions = Set(applied.map(\.version))
        return available.filter { !appliedVersions.contains($0.version) }.sorted { $0.version < $1.version }
    }
}
