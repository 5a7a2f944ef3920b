import DirSyncCore

/// The migrations compiled into this binary from the package's `migrations/` folder.
///
/// The EmbedMigrations build plugin turns each `migrations/NNNN_name.sql` into bytes in generated
/// source, so `dirsync migrate` needs no files beside the binary.
public enum EmbeddedMigrations {
    /// The raw embedded files, by name.
    public static var files: [(name: String, bytes: [UInt8])] { embeddedMigrationFiles }

    /// Every embedded migration, parsed, in version order.
    /// - Throws: ``MigrationError`` if a file is misnamed (caught by the test suite before release).
    public static func all() throws(MigrationError) -> [Migration] {
        var result: [Migration] = []
        for file in embeddedMigrationFiles {
            result.append(try Migration(fileName: file.name, bytes: file.bytes))
        }
        return result.sorted { $0.version < $1.version }
    }
}
