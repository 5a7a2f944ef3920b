import DirSyncCore
import Foundation

/// A round's deletions for one tenant and resource: staged as pages report them (or as the full
/// round's sweep finds them), then applied at the round's end — or held back by the deletion guard.
struct DeletionWriter: Sendable {
    let tenantID: UUID
    let table: ObjectTable
    let cursor: RoundCursorRows

    private var resource: DirectoryResource { table.fields.resource }

    /// Stages deletions reported by pages; a later report of the object un-stages it (the merge does).
    func stage(_ removals: [ObjectRemoval], on tx: PostgresConnection) async throws {
        guard !removals.isEmpty else { return }
        try await tx.execute("""
            INSERT INTO directory.pending_deletions (tenant_id, resource, id, reason)
            SELECT \(tenantID)::uuid, \(resource.rawValue)::text, r.id, r.reason
            FROM unnest(\(UUIDArray(removals.map(\.id)))::uuid[], \(removals.map(\.reason.rawValue))::text[]) AS r (id, reason)
            ON CONFLICT (tenant_id, resource, id) DO UPDATE SET reason = EXCLUDED.reason, reported_at = now()
            """, name: "stage deletions")
    }

    /// A full round discards deletions an unfinished earlier round staged: its sweep recomputes them.
    func discard(on tx: PostgresConnection) async throws {
        try await tx.execute("""
            DELETE FROM directory.pending_deletions WHERE tenant_id = \(tenantID) AND resource = \(resource.rawValue)
            """, name: "discard staged deletions")
    }

    /// Stages the live objects a completed full round did not see.
    func sweepUnseen(roundID: Int64, on tx: PostgresConnection) async throws {
        try await tx.execute("""
            INSERT INTO directory.pending_deletions (tenant_id, resource, id, reason)
            SELECT tenant_id, \(resource.rawValue)::text, id, \(DeletionReason.notInFullSync.rawValue) FROM \(unescaped: table.name)
            WHERE tenant_id = \(tenantID) AND deleted_at IS NULL AND sync_round IS DISTINCT FROM \(roundID)
            ON CONFLICT (tenant_id, resource, id) DO NOTHING
            """, name: "sweep unseen objects")
    }

    /// Staged deletions of live objects.
    func stagedCount(on connection: PostgresConnection) async throws -> Int {
        try await connection.query("""
            SELECT count(*)::int AS n FROM directory.pending_deletions p JOIN \(unescaped: table.name) o ON o.tenant_id = p.tenant_id AND o.id = p.id
            WHERE p.tenant_id = \(tenantID) AND p.resource = \(resource.rawValue) AND o.deleted_at IS NULL
            """, name: "count staged deletions").first?.int("n") ?? 0
    }

    /// Live objects of the tenant, every type together (the base of the deletion guard).
    func liveObjectCount(on connection: PostgresConnection) async throws -> Int {
        let sum = DirectoryResource.allCases.map { "(SELECT count(*) FROM directory.\($0.rawValue) WHERE tenant_id = $1 AND deleted_at IS NULL)" }
            .joined(separator: " + ")
        return try await connection.query(SQL(unsafeSQL: "SELECT \(sum) AS n", binds: [tenantID.postgresText]), name: "count live objects")
            .first?.int("n") ?? 0
    }

    /// Applies the round's staged deletions and stores its held-back deltaLink, unless the guard halts them.
    func resolve(guard deletionGuard: DeletionGuard, on tx: PostgresConnection) async throws -> RoundCompletion {
        let held = try await cursor.lockHeld(on: tx)
        guard let deltaLink = held.deltaLink else { return .completed(objectsDeleted: 0, membershipsSwept: 0) }
        let deletions = try await stagedCount(on: tx)
        let tenantObjects = try await liveObjectCount(on: tx)
        if let verdict = deletionGuard.check(deletions: deletions, tenantObjects: tenantObjects) {
            return .halted(verdict)
        }
        let deleted = try await tx.execute("""
            UPDATE \(unescaped: table.name) o SET deleted_at = COALESCE(o.deleted_at, now()), deleted_reason = p.reason, updated_at = now()
            FROM directory.pending_deletions p
            WHERE p.tenant_id = \(tenantID) AND p.resource = \(resource.rawValue) AND o.tenant_id = p.tenant_id AND o.id = p.id
              AND (o.deleted_at IS NULL OR o.deleted_reason IS DISTINCT FROM p.reason)
            """, name: "apply deletions").affectedRows
        var swept = 0
        if table.fields.readsMembers {
            // A deleted group loses its memberships; after a full round, so does every membership it did not list.
            swept += try await tx.execute("""
                DELETE FROM directory.group_members g USING directory.pending_deletions p
                WHERE p.tenant_id = \(tenantID) AND p.resource = \(resource.rawValue) AND g.tenant_id = p.tenant_id AND g.group_id = p.id
                """, name: "remove memberships of deleted groups").affectedRows
            if held.mode == .full, let roundID = held.roundID {
                swept += try await tx.execute("""
                    DELETE FROM directory.group_members WHERE tenant_id = \(tenantID) AND sync_round IS DISTINCT FROM \(roundID)
                    """, name: "sweep unseen memberships").affectedRows
            }
        }
        try await discard(on: tx)
        try await cursor.store(deltaLink: deltaLink, on: tx)
        try await cursor.finishProgress(on: tx)
        return .completed(objectsDeleted: deleted, membershipsSwept: swept)
    }
}
