import DirSyncCore
import Foundation

/// Onboarded domains in `directory.domains`.
public struct PostgresDomainStore: Sendable {
    /// Why a domain operation was refused; worded for operators.
    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    private let connection: PostgresConnection

    public init(connection: PostgresConnection) {
        self.connection = connection
    }

    /// Onboards a domain (enabled). Re-adding a domain that was removed (disabled) enables it again.
    /// - Throws: ``Refusal`` when the domain is already onboarded and enabled, or belongs to another tenant.
    @discardableResult
    public func add(domain: String, tenantID: UUID, clientID: UUID?) async throws -> DomainRecord {
        if let existing = try await find(domain) {
            if existing.enabled {
                throw Refusal(message: "\(domain) is already onboarded (tenant \(existing.tenantID.postgresText)); see dirsync domains list")
            }
            guard existing.tenantID == tenantID else {
                throw Refusal(message: "\(domain) was onboarded earlier with tenant \(existing.tenantID.postgresText), not \(tenantID.postgresText): remove it with --purge first if the domain moved")
            }
            try await connection.execute("""
                UPDATE directory.domains SET enabled = true, disabled_at = NULL, client_id = \(clientID), verified_at = NULL, problem = NULL, problem_at = NULL
                WHERE domain = \(domain)
                """, name: "re-enable domain")
        } else {
            try await connection.execute("""
                INSERT INTO directory.domains (domain, tenant_id, enabled, onboarded_at, client_id) VALUES (\(domain), \(tenantID), true, now(), \(clientID))
                """, name: "onboard domain")
        }
        guard let record = try await find(domain) else { throw Refusal(message: "\(domain) vanished while being onboarded; retry") }
        return record
    }

    /// All onboarded domains, by name.
    public func list() async throws -> [DomainRecord] {
        try await records(try await connection.query("""
            SELECT domain, tenant_id, enabled, onboarded_at, client_id, verified_at, deletion_limit, problem FROM directory.domains ORDER BY domain
            """, name: "list domains"))
    }

    /// One domain, if onboarded.
    public func find(_ domain: String) async throws -> DomainRecord? {
        try await records(try await connection.query("""
            SELECT domain, tenant_id, enabled, onboarded_at, client_id, verified_at, deletion_limit, problem FROM directory.domains WHERE domain = \(domain)
            """, name: "find domain")).first
    }

    /// Disables a domain: it is no longer synced; its tenant's data stays.
    public func disable(_ domain: String) async throws {
        let changed = try await connection.execute("""
            UPDATE directory.domains SET enabled = false, disabled_at = now() WHERE domain = \(domain)
            """, name: "disable domain").affectedRows
        guard changed == 1 else { throw Refusal(message: "\(domain) is not onboarded; see dirsync domains list") }
    }

    /// Removes a domain and deletes its tenant's directory rows, cursors and progress (run history
    /// stays), when no other domain uses that tenant. Waits for no sync: refuses while one runs.
    /// - Returns: the number of directory rows deleted.
    public func purge(_ domain: String) async throws -> Int {
        guard let record = try await find(domain) else { throw Refusal(message: "\(domain) is not onboarded; see dirsync domains list") }
        let others = try await connection.query("""
            SELECT domain FROM directory.domains WHERE tenant_id = \(record.tenantID) AND domain <> \(domain) ORDER BY domain
            """, name: "find sibling domains").map { try $0.string("domain") }
        guard others.isEmpty else {
            throw Refusal(message: "tenant \(record.tenantID.postgresText) also serves \(others.joined(separator: ", ")): its data is still needed; remove without --purge, or remove those domains first")
        }
        guard try await TenantLock.tryLock(record.tenantID, on: connection) else {
            throw Refusal(message: "tenant \(record.tenantID.postgresText) is being synced right now; retry when that run has finished")
        }
        do {
            let deleted = try await connection.withTransaction { tx in
                // No event per deleted row: one snapshot per entity tells consumers to re-read the (now empty) tenant.
                try await tx.execute("SELECT set_config('dirsync.feed', 'snapshot', true)", name: "purge without row events")
                var rows = 0
                for table in ["group_members", "users", "groups", "contacts"] {
                    rows += try await tx.execute(SQL(unsafeSQL: "DELETE FROM directory.\(table) WHERE tenant_id = $1", binds: [record.tenantID.postgresText]), name: "purge \(table)").affectedRows
                }
                for table in ["pending_deletions", "sync_progress", "sync_cursors", "tenant_domains"] {
                    try await tx.execute(SQL(unsafeSQL: "DELETE FROM directory.\(table) WHERE tenant_id = $1", binds: [record.tenantID.postgresText]), name: "purge \(table)")
                }
                try await tx.execute("DELETE FROM directory.domains WHERE domain = \(domain)", name: "remove domain")
                try await tx.execute("""
                    SELECT directory.queue_snapshot(\(record.tenantID), e) FROM unnest(ARRAY['user', 'group', 'contact', 'membership']) AS e
                    """, name: "snapshot the purged tenant")
                return rows
            }
            try await TenantLock.unlock(record.tenantID, on: connection)
            return deleted
        } catch {
            try? await TenantLock.unlock(record.tenantID, on: connection)
            throw error
        }
    }

    private func records(_ rows: PostgresRows) async throws -> [DomainRecord] {
        try rows.map { row in
            DomainRecord(
                domain: try row.string("domain"), tenantID: try row.uuid("tenant_id"), enabled: try row.bool("enabled"),
                onboardedAt: try row.date("onboarded_at"), clientID: try row.optionalUUID("client_id"),
                verifiedAt: try row.optionalDate("verified_at"), deletionLimit: try row.optionalInt("deletion_limit"),
                problem: try row.optionalString("problem"))
        }
    }
}
