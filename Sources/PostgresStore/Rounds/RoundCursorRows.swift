import DirSyncCore
import Foundation

/// The bookkeeping rows of one tenant's resource: its cursor (where its delta rounds stand) and
/// this run's live progress.
struct RoundCursorRows: Sendable {
    let tenantID: UUID
    let resource: DirectoryResource
    /// The run whose progress row this round updates (`nil`: no progress row).
    let runID: Int64?

    /// The stored cursor; an empty one before the resource's first round. Reads only.
    func read(on connection: PostgresConnection) async throws -> SyncCursor {
        let row = try await connection.query("""
            SELECT delta_link, delta_link_at, round_mode, next_link, round_id, round_pages, pending_delta_link, selected_properties
            FROM directory.sync_cursors WHERE tenant_id = \(tenantID) AND resource = \(resource.rawValue)
            """, name: "read cursor").first
        guard let row else { return SyncCursor() }
        return SyncCursor(
            deltaLink: try row.optionalString("delta_link"),
            deltaLinkAt: try row.optionalDate("delta_link_at"),
            roundMode: try row.optionalString("round_mode").flatMap(RoundMode.init(rawValue:)),
            nextLink: try row.optionalString("next_link"),
            roundID: try row.optionalInt("round_id").map(Int64.init),
            roundPages: try row.int("round_pages"),
            pendingDeltaLink: try row.optionalString("pending_delta_link"),
            selectedProperties: try row.optionalStringArray("selected_properties")
        )
    }

    /// Records that a round starts with the properties `selection`; the resume point and any
    /// held-back deltaLink are cleared.
    func start(mode: RoundMode, roundID: Int64?, selection: [String], on tx: PostgresConnection) async throws {
        try await tx.execute("""
            INSERT INTO directory.sync_cursors (tenant_id, resource, round_mode, round_id, round_started_at, selected_properties)
            VALUES (\(tenantID), \(resource.rawValue), \(mode.rawValue), \(roundID), now(), \(selection)::text[])
            ON CONFLICT (tenant_id, resource) DO UPDATE
            SET round_mode = EXCLUDED.round_mode, round_id = EXCLUDED.round_id, next_link = NULL, round_started_at = now(),
                round_pages = 0, pending_delta_link = NULL, selected_properties = EXCLUDED.selected_properties, updated_at = now()
            """, name: "start round")
    }

    /// Moves the resume point to `nextLink` after `pages` more committed pages.
    func advance(to nextLink: String, pages: Int, on tx: PostgresConnection) async throws {
        try await tx.execute("""
            UPDATE directory.sync_cursors SET next_link = \(nextLink), round_pages = round_pages + \(pages), updated_at = now()
            WHERE tenant_id = \(tenantID) AND resource = \(resource.rawValue)
            """, name: "advance cursor")
    }

    /// Holds a completed round's deltaLink back until its deletions are resolved.
    func hold(deltaLink: String, pages: Int, on tx: PostgresConnection) async throws {
        try await tx.execute("""
            UPDATE directory.sync_cursors SET pending_delta_link = \(deltaLink), next_link = NULL,
                round_pages = round_pages + \(pages), updated_at = now()
            WHERE tenant_id = \(tenantID) AND resource = \(resource.rawValue)
            """, name: "hold deltaLink")
    }

    /// The held-back deltaLink and the round it ends, locking the cursor row for the transaction.
    func lockHeld(on tx: PostgresConnection) async throws -> (deltaLink: String?, mode: RoundMode?, roundID: Int64?) {
        let cursor = try await tx.query("""
            SELECT pending_delta_link, round_mode, round_id FROM directory.sync_cursors
            WHERE tenant_id = \(tenantID) AND resource = \(resource.rawValue) FOR UPDATE
            """, name: "lock cursor").first
        guard let cursor else { return (nil, nil, nil) }
        return (try cursor.optionalString("pending_delta_link"), try cursor.optionalString("round_mode").flatMap(RoundMode.init(rawValue:)),
                try cursor.optionalInt("round_id").map(Int64.init))
    }

    /// Stores the round's deltaLink as where the next round starts; the round is over.
    func store(deltaLink: String, on tx: PostgresConnection) async throws {
        try await tx.execute("""
            UPDATE directory.sync_cursors SET delta_link = \(deltaLink), delta_link_at = now(), pending_delta_link = NULL,
                round_mode = NULL, round_id = NULL, next_link = NULL, round_pages = 0, updated_at = now()
            WHERE tenant_id = \(tenantID) AND resource = \(resource.rawValue)
            """, name: "store deltaLink")
    }

    /// Creates or resets this run's live progress row for the resource.
    func beginProgress(expectedTotal: Int?, note: String?, on connection: PostgresConnection) async throws {
        guard let runID else { return }
        try await connection.execute("""
            INSERT INTO directory.sync_progress (tenant_id, resource, run_id, phase, pages, objects, expected_total, note, started_at, updated_at)
            VALUES (\(tenantID), \(resource.rawValue), \(runID), \(ProgressPhase.fetch.rawValue), 0, 0, \(expectedTotal), \(note), now(), now())
            ON CONFLICT (tenant_id, resource) DO UPDATE SET run_id = EXCLUDED.run_id, phase = EXCLUDED.phase, pages = 0, objects = 0,
                expected_total = EXCLUDED.expected_total, note = EXCLUDED.note, started_at = now(), updated_at = now()
            """, name: "begin progress")
        // A run recorded as incremental whose round is full (a first sync, a 7-day expiry, a 410, or such a
        // round resumed after a kill) is a full run from now on, so status says so while it runs.
        try await connection.execute("""
            UPDATE directory.sync_runs SET mode = 'full' WHERE run_id = \(runID) AND mode = 'incremental'
              AND EXISTS (SELECT 1 FROM directory.sync_cursors c
                          WHERE c.tenant_id = \(tenantID) AND c.resource = \(resource.rawValue) AND c.round_mode = 'full')
            """, name: "run becomes full")
    }

    func recordExpectedTotal(_ total: Int, on connection: PostgresConnection) async throws {
        guard runID != nil else { return }
        try await connection.execute("""
            UPDATE directory.sync_progress SET expected_total = \(total) WHERE tenant_id = \(tenantID) AND resource = \(resource.rawValue)
            """, name: "record expected total")
    }

    func advanceProgress(pages: Int, objects: Int, phase: ProgressPhase, on tx: PostgresConnection) async throws {
        guard runID != nil else { return }
        try await tx.execute("""
            UPDATE directory.sync_progress SET pages = pages + \(pages), objects = objects + \(objects), phase = \(phase.rawValue), updated_at = now()
            WHERE tenant_id = \(tenantID) AND resource = \(resource.rawValue)
            """, name: "advance progress")
    }

    func finishProgress(on tx: PostgresConnection) async throws {
        guard runID != nil else { return }
        try await tx.execute("""
            UPDATE directory.sync_progress SET phase = \(ProgressPhase.done.rawValue), updated_at = now()
            WHERE tenant_id = \(tenantID) AND resource = \(resource.rawValue)
            """, name: "finish progress")
    }
}
