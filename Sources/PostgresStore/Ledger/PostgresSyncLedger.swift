import DirSyncCore
import Foundation
import Logging

/// ``SyncLedger`` over PostgreSQL. Holds one session for a tenant's whole sync: the tenant's
/// session-level advisory lock lives (and dies) with it.
public final class PostgresSyncLedger: SyncLedger {
    private let connection: PostgresConnection
    private let configuration: PostgresConfiguration
    private let identity: RunIdentity
    private let schema: DirectorySchema
    private let logger: Logger

    /// - Parameters:
    ///   - connection: the session that will hold the tenant lock.
    ///   - configuration: how round stores open their own sessions.
    ///   - identity: the process, recorded with each run it starts.
    ///   - schema: the fields each resource's rounds write.
    public init(connection: PostgresConnection, configuration: PostgresConfiguration, identity: RunIdentity,
                schema: DirectorySchema = .standard, logger: Logger) {
        self.connection = connection
        self.configuration = configuration
        self.identity = identity
        self.schema = schema
        self.logger = logger
    }

    public func tryLockTenant(_ tenantID: UUID) async throws -> Bool {
        try await TenantLock.tryLock(tenantID, on: connection)
    }

    public func unlockTenant(_ tenantID: UUID) async throws {
        try await TenantLock.unlock(tenantID, on: connection)
    }

    public func markAbandonedRuns(tenantID: UUID) async throws -> Int {
        try await connection.execute("""
            UPDATE directory.sync_runs SET state = 'interrupted', finished_at = COALESCE(finished_at, now()), error_class = 'interrupted',
                error_message = 'the process ended before finishing this run (killed or crashed); a later run resumed from its last committed page'
            WHERE tenant_id = \(tenantID) AND state = 'running'
            """, name: "mark abandoned runs").affectedRows
    }

    public func startRun(tenantID: UUID, mode: RunMode) async throws -> Int64 {
        let (host, pid) = (identity.host, identity.processID)
        let row = try await connection.query("""
            INSERT INTO directory.sync_runs (tenant_id, mode, state, host, pid) VALUES (\(tenantID), \(mode.rawValue), 'running', \(host), \(pid))
            RETURNING run_id
            """, name: "start run").first
        guard let row else { throw PostgresError(code: .queryFailed, message: "starting a run record returned no id") }
        return Int64(try row.int("run_id"))
    }

    public func finishRun(_ runID: Int64, result: TenantSyncResult) async throws {
        let verdict = result.rounds.compactMap(\.haltedVerdict).first
        let state = result.state == .skipped ? "succeeded" : result.state.rawValue
        try await connection.execute("""
            UPDATE directory.sync_runs SET finished_at = now(), mode = \(result.mode.rawValue), state = \(state),
                pages = \(result.pages), requests = \(result.requests), objects_upserted = \(result.objectsUpserted),
                objects_deleted = \(result.objectsDeleted), memberships_added = \(result.membershipsAdded),
                memberships_removed = \(result.membershipsRemoved), throttled = \(result.throttled),
                error_class = \(result.failure?.kind.rawValue), error_message = \(result.failure?.message), reason = \(result.reason),
                first_load = \(Self.firstLoadJSON(result.firstLoad))::jsonb, page_sizes = \(Self.pageSizesJSON(result.rounds))::jsonb,
                deletions_pending = \(verdict.map { _ in result.deletionsPlanned }), deletion_limit = \(verdict?.limit)
            WHERE run_id = \(runID)
            """, name: "finish run")
    }

    /// `{outcome, reason?, requests, resource_units, throttled, peak_in_flight, pages, restarts, seconds}`.
    static func firstLoadJSON(_ report: FirstLoadReport?) -> String? {
        guard let report else { return nil }
        var object: [String: Any] = [
            "requests": report.requests, "resource_units": report.resourceUnits, "throttled": report.throttled,
            "peak_in_flight": report.peakInFlight, "pages": report.pages, "restarts": report.restarts, "seconds": (report.seconds * 10).rounded() / 10,
        ]
        switch report.outcome {
        case .loaded: object["outcome"] = "loaded"
        case .notParallel: object["outcome"] = "not_parallel"
        case .fellBack(let reason): object["outcome"] = "fell_back"; object["reason"] = reason
        }
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) }
    }

    /// `{resource: {pages, objects, largest}}` for the rounds that read pages.
    static func pageSizesJSON(_ rounds: [RoundReport]) -> String? {
        let entries = rounds.filter { $0.pages > 0 }.map { ($0.resource.rawValue, ["pages": $0.pages, "objects": $0.objectsSeen, "largest": $0.largestPage]) }
        guard !entries.isEmpty else { return nil }
        return (try? JSONSerialization.data(withJSONObject: Dictionary(uniqueKeysWithValues: entries), options: [.sortedKeys]))
            .map { String(decoding: $0, as: UTF8.self) }
    }

    public func storeTenantDomains(tenantID: UUID, domains: [GraphDomain]) async throws {
        try await connection.withTransaction { tx in
            try await tx.execute("""
                DELETE FROM directory.tenant_domains WHERE tenant_id = \(tenantID) AND NOT (domain = ANY(\(domains.map(\.name))::text[]))
                """, name: "forget removed tenant domains")
            for domain in domains {
                try await tx.execute("""
                    INSERT INTO directory.tenant_domains (tenant_id, domain, is_verified, is_default, supported_services, seen_at)
                    VALUES (\(tenantID), \(domain.name), \(domain.isVerified), \(domain.isDefault), \(domain.supportedServices), now())
                    ON CONFLICT (tenant_id, domain) DO UPDATE SET is_verified = EXCLUDED.is_verified, is_default = EXCLUDED.is_default,
                        supported_services = EXCLUDED.supported_services, seen_at = EXCLUDED.seen_at
                    """, name: "store tenant domain")
            }
        }
    }

    public func recordVerification(domain: String, verified: Bool, problem: String?) async throws {
        try await connection.execute("""
            UPDATE directory.domains SET verified_at = CASE WHEN \(verified) THEN now() ELSE NULL END,
                problem = \(problem), problem_at = CASE WHEN \(problem)::text IS NULL THEN NULL ELSE now() END
            WHERE domain = \(domain)
            """, name: "record domain verification")
    }

    public func storedCursors(tenantID: UUID) async throws -> [DirectoryResource: SyncCursor]? {
        var cursors: [DirectoryResource: SyncCursor] = [:]
        for resource in DirectoryResource.allCases {
            cursors[resource] = try await RoundCursorRows(tenantID: tenantID, resource: resource, runID: nil).read(on: connection)
        }
        return cursors
    }

    public func withRoundStore<T: Sendable>(tenantID: UUID, resource: DirectoryResource, runID: Int64?,
                                            _ body: (any RoundStore) async throws -> T) async throws -> T {
        try await PostgresConnection.withConnection(configuration, logger: logger, profiler: connection.profiler) { session in
            try await body(PostgresRoundStore(connection: session, tenantID: tenantID, table: schema[resource], runID: runID))
        }
    }

    public func withFirstLoadStore<T: Sendable>(tenantID: UUID, runID: Int64?, _ body: (any FirstLoadStore) async throws -> T) async throws -> T? {
        try await PostgresConnection.withConnection(configuration, logger: logger, profiler: connection.profiler) { session in
            try await body(PostgresFirstLoadStore(connection: session, tenantID: tenantID, schema: schema, runID: runID))
        }
    }
}
