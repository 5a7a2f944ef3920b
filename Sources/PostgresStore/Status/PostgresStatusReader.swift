import DirSyncCore
import Foundation

/// Reads what `dirsync status` reports, in a handful of set-based queries (no per-row round trips).
public struct PostgresStatusReader: Sendable {
    private let connection: PostgresConnection

    public init(connection: PostgresConnection) {
        self.connection = connection
    }

    /// Facts for every onboarded domain, by domain name.
    public func facts() async throws -> [StatusFacts] {
        let domains = try await PostgresDomainStore(connection: connection).list()
        var facts = Dictionary(uniqueKeysWithValues: domains.map { ($0.domain, StatusFacts(domain: $0)) })
        var tenantFacts: [UUID: (users: Int, groups: Int, contacts: Int, memberships: Int, lockHeld: Bool, deltaLinkAt: Date?)] = [:]

        for row in try await connection.query(SQL(unsafeSQL: """
            SELECT t.tenant_id,
                   (SELECT count(*) FROM directory.users u WHERE u.tenant_id = t.tenant_id AND u.deleted_at IS NULL)::int AS users,
                   (SELECT count(*) FROM directory.groups g WHERE g.tenant_id = t.tenant_id AND g.deleted_at IS NULL)::int AS groups,
                   (SELECT count(*) FROM directory.contacts k WHERE k.tenant_id = t.tenant_id AND k.deleted_at IS NULL)::int AS contacts,
                   (SELECT count(*) FROM directory.group_members m WHERE m.tenant_id = t.tenant_id)::int AS memberships,
                   \(TenantLock.isHeldExpression(tenantColumn: "t.tenant_id")) AS lock_held,
                   (SELECT CASE WHEN count(*) = \(DirectoryResource.allCases.count) AND bool_and(c.delta_link_at IS NOT NULL) THEN min(c.delta_link_at) END
                      FROM directory.sync_cursors c WHERE c.tenant_id = t.tenant_id) AS delta_link_at
            FROM (SELECT DISTINCT tenant_id FROM directory.domains) t
            """), name: "status tenant counts") {
            tenantFacts[try row.uuid("tenant_id")] = (try row.int("users"), try row.int("groups"), try row.int("contacts"), try row.int("memberships"),
                                                      try row.bool("lock_held"), try row.optionalDate("delta_link_at"))
        }

        // Verified email domains of each tenant that no onboarded domain covers: mail for them is not protected.
        var unonboarded: [UUID: [String]] = [:]
        for row in try await connection.query("""
            SELECT t.tenant_id, t.domain FROM directory.tenant_domains t
            WHERE t.is_verified AND 'email' = ANY(SELECT lower(s) FROM unnest(t.supported_services) s)
              AND NOT EXISTS (SELECT 1 FROM directory.domains d WHERE d.tenant_id = t.tenant_id AND d.domain = t.domain)
            ORDER BY t.tenant_id, t.domain
            """, name: "status unonboarded domains") {
            unonboarded[try row.uuid("tenant_id"), default: []].append(try row.string("domain"))
        }

        for row in try await connection.query("""
            SELECT d.domain, (
                SELECT count(*) FROM directory.users u
                WHERE u.tenant_id = d.tenant_id AND u.deleted_at IS NULL
                  AND (lower(u.user_principal_name) LIKE '%@' || d.domain OR lower(u.mail) LIKE '%@' || d.domain
                       OR EXISTS (SELECT 1 FROM unnest(u.proxy_addresses) p WHERE lower(p) LIKE '%@' || d.domain))
            )::int AS n
            FROM directory.domains d
            """, name: "status domain users") {
            facts[try row.string("domain")]?.domainUsers = try row.int("n")
        }

        let lastRuns = try await runs(latestOnly: false)
        let lastSuccesses = try await runs(latestOnly: true)
        var progress: [UUID: [ProgressRecord]] = [:]
        for row in try await connection.query("""
            SELECT tenant_id, resource, run_id, phase, pages, objects, expected_total, started_at, updated_at, note FROM directory.sync_progress
            """, name: "status progress") {
            guard let resource = DirectoryResource(rawValue: try row.string("resource")) else { continue }
            progress[try row.uuid("tenant_id"), default: []].append(ProgressRecord(
                resource: resource, runID: Int64(try row.int("run_id")), phase: ProgressPhase(rawValue: try row.string("phase")) ?? .fetch, pages: try row.int("pages"),
                objects: try row.int("objects"), expectedTotal: try row.optionalInt("expected_total"),
                startedAt: try row.date("started_at"), updatedAt: try row.date("updated_at"), note: try row.optionalString("note")))
        }

        let checks = try await PostgresDomainChecks(connection: connection).all()
        for (name, var fact) in facts {
            fact.lastCheck = checks[name]
            let tenant = fact.domain.tenantID
            if let counts = tenantFacts[tenant] {
                (fact.users, fact.groups, fact.contacts, fact.memberships, fact.lockHeld, fact.deltaLinkAt) = counts
            }
            fact.unonboardedEmailDomains = unonboarded[tenant] ?? []
            fact.lastRun = lastRuns[tenant]
            fact.lastSuccess = lastSuccesses[tenant]
            fact.progress = progress[tenant] ?? []
            facts[name] = fact
        }
        return facts.values.sorted { $0.domain.domain < $1.domain.domain }
    }

    /// The newest run per tenant (or the newest succeeded one).
    private func runs(latestOnly succeeded: Bool) async throws -> [UUID: RunRecord] {
        let filter = succeeded ? "WHERE state = 'succeeded'" : ""
        var result: [UUID: RunRecord] = [:]
        for row in try await connection.query(SQL(unsafeSQL: """
            SELECT DISTINCT ON (tenant_id) tenant_id, run_id, started_at, finished_at, mode, state, pages, objects_upserted, objects_deleted,
                   throttled, error_class, error_message, deletions_pending, deletion_limit, reason
            FROM directory.sync_runs \(filter) ORDER BY tenant_id, run_id DESC
            """), name: succeeded ? "status last success" : "status last run") {
            result[try row.uuid("tenant_id")] = RunRecord(
                runID: Int64(try row.int("run_id")), startedAt: try row.date("started_at"), finishedAt: try row.optionalDate("finished_at"),
                mode: try row.string("mode"), state: try row.string("state"), pages: try row.int("pages"),
                objectsUpserted: try row.int("objects_upserted"), objectsDeleted: try row.int("objects_deleted"), throttled: try row.int("throttled"),
                errorClass: try row.optionalString("error_class"), errorMessage: try row.optionalString("error_message"),
                deletionsPending: try row.optionalInt("deletions_pending"), deletionLimit: try row.optionalInt("deletion_limit"),
                reason: try row.optionalString("reason"))
        }
        return result
    }
}
