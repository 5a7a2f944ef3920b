import Foundation

/// The session-level advisory lock that makes one process at a time the writer of a tenant.
///
/// The key is a 64-bit hash of `dirsync.tenant:<tenant id>`, namespaced so it does not meet the
/// migration lock or other applications' keys in practice. The lock belongs to the session that
/// took it and is released with it if the process dies.
enum TenantLock {
    static func tryLock(_ tenantID: UUID, on connection: PostgresConnection) async throws -> Bool {
        try await connection.query("SELECT pg_try_advisory_lock(hashtextextended(\(key(tenantID)), 0)) AS locked", name: "lock tenant")
            .first?.bool("locked") ?? false
    }

    static func unlock(_ tenantID: UUID, on connection: PostgresConnection) async throws {
        try await connection.execute("SELECT pg_advisory_unlock(hashtextextended(\(key(tenantID)), 0))", name: "unlock tenant")
    }

    private static func key(_ tenantID: UUID) -> String { "dirsync.tenant:" + tenantID.postgresText }
}
