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

    /// SQL true when some session holds the lock of the tenant in column `column`, read from
    /// `pg_locks` without taking the lock (taking it, even briefly, could make a starting run skip
    /// the tenant). A bigint advisory key is stored as classid (high 32 bits) and objid (low 32 bits).
    static func isHeldExpression(tenantColumn column: String) -> String {
        """
        EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.objsubid = 1 AND l.granted
                AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended('dirsync.tenant:' || \(column)::text, 0))
        """
    }
}
