import DirSyncCore
import Foundation

/// What a round's write transactions tell the change feed's triggers (see migration 0006): the run
/// that writes, and whether rows emit events. A resource's first full round of a tenant (its cursor
/// has never held a deltaLink) emits none; when it completes, it queues one `snapshot` event per
/// entity instead, so a first sync does not flood the feed. Every later round, `--full` and 410
/// resyncs included, emits events for real differences only.
struct ChangeFeedSession: Sendable {
    let tenantID: UUID
    let resource: DirectoryResource
    let runID: Int64?

    /// The entities a completed first round of the resource snapshots.
    private var entities: [String] {
        resource.objectName == "group" ? ["group", "membership"] : [resource.objectName]
    }

    /// Sets the transaction's feed settings; called first in every write transaction.
    func begin(on tx: PostgresConnection) async throws {
        try await tx.execute("""
            SELECT set_config('dirsync.run_id', coalesce(\(runID)::bigint::text, ''), true),
                   set_config('dirsync.feed', CASE WHEN EXISTS (
                       SELECT 1 FROM directory.sync_cursors WHERE tenant_id = \(tenantID) AND resource = \(resource.rawValue) AND delta_link IS NOT NULL
                   ) THEN 'events' ELSE 'snapshot' END, true)
            """, name: "begin change feed")
    }

    /// Queues the snapshot events when this transaction completes the resource's first round.
    func snapshotIfFirstRound(on tx: PostgresConnection) async throws {
        try await tx.execute("""
            SELECT directory.queue_snapshot(\(tenantID), e) FROM unnest(\(entities)::text[]) AS e
            WHERE current_setting('dirsync.feed', true) = 'snapshot'
            """, name: "snapshot the change feed")
    }
}
