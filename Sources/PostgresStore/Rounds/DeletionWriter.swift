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
        try await forgetSeen(on: tx)
    }

    /// Forgets what full rounds of the resource saw.
    func forgetSeen(on tx: PostgresConnection) async throws {
        try await tx.execute("""
            DELETE FROM directory.round_seen WHERE tenant_id = \(tenantID) AND resource = \(resource.rawValue)
            """, name: "forget seen objects")
        if table.fields.readsMembers {
            try await tx.execute("DELETE FROM directory.round_seen_members WHERE tenant_id = \(tenantID)", name: "forget seen memberships")
        }
    }

    /// The marker a full round leaves in the (unlogged) seen table at its start.
    static let seenMarker = UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))

    /// Starts a full round's record of what it sees, with its marker.
    func beginSeen(roundID: Int64, on tx: PostgresConnection) async throws {
        try await tx.execute("""
            INSERT INTO directory.round_seen (tenant_id, resource, round_id, id) VALUES (\(tenantID), \(resource.rawValue), \(roundID), \(Self.seenMarker))
            ON CONFLICT DO NOTHING
            """, name: "mark seen record")
    }

    /// Whether the record of what the full round `roundID` saw is intact (its marker survived).
    func seenIntact(roundID: Int64, on connection: PostgresConnection) async throws -> Bool {
        try await connection.query("""
            SELECT EXISTS (SELECT 1 FROM directory.round_seen WHERE tenant_id = \(tenantID) AND resource = \(resource.rawValue)
                           AND round_id = \(roundID) AND id = \(Self.seenMarker)) AS intact
            """, name: "check seen record").first?.bool("intact") ?? false
    }

    /// Stages the live objects a completed full round did not see.
    func sweepUnseen(roundID: Int64, on tx: PostgresConnection) async throws {
        // The record was filled during the round; without fresh statistics the planner takes it for
        // empty and probes it row by row for each of the tenant's objects.
        try await tx.execute("ANALYZE directory.round_seen", name: "analyze seen objects")
        if table.fields.readsMembers { try await tx.execute("ANALYZE directory.round_seen_members", name: "analyze seen memberships") }
        try await tx.execute("""
            INSERT INTO directory.pending_deletions (tenant_id, resource, id, reason)
            SELECT tenant_id, \(resource.rawValue)::text, id, \(DeletionReason.notInFullSync.rawValue) FROM \(unescaped: table.name)
            WHERE tenant_id = \(tenantID) AND deleted_at IS NULL AND sync_round IS DISTINCT FROM \(roundID)
              AND NOT EXISTS (SELECT 1 FROM directory.round_seen s WHERE s.tenant_id = \(tenantID) AND s.resource = \(resource.rawValue)
                              AND s.round_id = \(roundID) AND s.id = \(unescaped: table.name).id)
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
        // No deletion stays under any limit: the tenant is counted (every table of it) only when the
        // guard has something to weigh, not at the end of every incremental round.
        if deletions > 0, let verdict = deletionGuard.check(deletions: deletions, tenantObjects: try await liveObjectCount(on: tx)) {
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
                    DELETE FROM directory.group_members g WHERE g.tenant_id = \(tenantID) AND g.sync_round IS DISTINCT FROM \(roundID)
                      AND NOT EXISTS (SELECT 1 FROM directory.round_seen_members s WHERE s.tenant_id = g.tenant_id AND s.round_id = \(roundID)
                                      AND s.group_id = g.group_id AND s.member_id = g.member_id)
                    """, name: "sweep unseen memberships").affectedRows
            }
        }
        try await discard(on: tx)
        try await cursor.store(deltaLink: deltaLink, on: tx)
        try await cursor.finishProgress(on: tx)
        return .completed(objectsDeleted: deleted, membershipsSwept: swept)
    }
}
