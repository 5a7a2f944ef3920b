import DirSyncCore
import Foundation

/// The latest onboarding preflight per domain, in `directory.domain_checks`.
public struct PostgresDomainChecks: Sendable {
    private let connection: PostgresConnection

    public init(connection: PostgresConnection) {
        self.connection = connection
    }

    /// Records a check of an onboarded domain, replacing the previous one.
    /// - Returns: `false` when the domain is not onboarded (nothing is recorded).
    @discardableResult
    public func record(_ report: DomainCheckReport, tenantID: UUID) async throws -> Bool {
        let missing = report.missingPermissions.map(\.rawValue)
        let rows = try await connection.execute("""
            INSERT INTO directory.domain_checks (domain, tenant_id, checked_at, ok, consent_missing, missing_permissions, domain_verified, message)
            SELECT domain, \(tenantID)::uuid, now(), \(report.ok)::boolean, \(report.consentMissing)::boolean, \(missing)::text[],
                   \(report.domainVerified)::boolean, \(report.statusMessage)::text
            FROM directory.domains WHERE domain = \(report.domain)
            ON CONFLICT (domain) DO UPDATE SET tenant_id = EXCLUDED.tenant_id, checked_at = EXCLUDED.checked_at, ok = EXCLUDED.ok,
                consent_missing = EXCLUDED.consent_missing, missing_permissions = EXCLUDED.missing_permissions,
                domain_verified = EXCLUDED.domain_verified, message = EXCLUDED.message
            """, name: "record domain check").affectedRows
        return rows == 1
    }

    /// The latest check of every domain that has one, by domain name.
    public func all() async throws -> [String: DomainCheckRecord] {
        var result: [String: DomainCheckRecord] = [:]
        for row in try await connection.query("""
            SELECT domain, checked_at, ok, consent_missing, missing_permissions, domain_verified, message FROM directory.domain_checks
            """, name: "list domain checks") {
            result[try row.string("domain")] = DomainCheckRecord(
                checkedAt: try row.date("checked_at"), ok: try row.bool("ok"), consentMissing: try row.bool("consent_missing"),
                missingPermissions: try row.stringArray("missing_permissions"), domainVerified: try row.optionalBool("domain_verified"),
                message: try row.optionalString("message"))
        }
        return result
    }
}
