import DirSyncCore
import Foundation

/// What a round's write transactions tell the tables' triggers (migrations 0006, 0007 and 0012): the run
/// that writes, and whether this is the resource's first round for the tenant (its cursor has never
/// held a deltaLink).
///
/// A first round is a bulk load: rows emit no change events, and neither the nesting closure nor the
/// addresses of users and contacts are kept up page by page. The transaction that completes it queues
/// one `snapshot` event per entity instead, so a first sync does not flood the feed, and builds the
/// tenant's nesting closure (groups) or addresses (users, contacts) at once.
/// Every later round, `--full` and 410 resyncs included, emits events for real differences only and
/// keeps the closure and the addresses with every page.
struct RoundSession: Sendable {
    let tenantID: UUID
    let resource: DirectoryResource
    let runID: Int64?

    /// The entities a completed first round of the resource snapshots.
    private var entities: [String] {
        resource.objectName == "group" ? ["group", "membership"] : [resource.objectName]
    }

    /// Sets the transaction's settings; called first in every write transaction.
    func begin(on tx: PostgresConnection) async throws {
        try await tx.execute("""
            SELECT set_config('dirsync.run_id', coalesce(\(runID)::bigint::text, ''), true),
                   set_config('dirsync.feed', CASE WHEN EXISTS (
                       SELECT 1 FROM directory.sync_cursors WHERE tenant_id = \(tenantID) AND resource = \(resource.rawValue) AND delta_link IS NOT NULL
                   ) THEN 'events' ELSE 'snapshot' END, true)
            """, name: "begin round transaction")
    }

    /// When this transaction completes the resource's first round: queues the snapshot events and
    /// builds what the round's pages left out: the tenant's nesting closure (groups) or its addresses
    /// (users, contacts; migration 0012).
    func completeFirstRound(on tx: PostgresConnection) async throws {
        guard try await tx.query("SELECT directory.loading_first_round() AS first", name: "first round?").first?.bool("first") == true else { return }
        try await tx.execute("""
            SELECT directory.queue_snapshot(\(tenantID), e) FROM unnest(\(entities)::text[]) AS e
            """, name: "snapshot the change feed")
        if resource == .groups {
            try await buildNestingClosure(on: tx)
        } else {
            try await tx.execute("SELECT directory.rebuild_addresses(\(tenantID), \(resource.objectName))", name: "build the addresses")
        }
        // A first round just filled the tables: later rounds' merges and the readers' lookups are
        // planned on fresh statistics of every column, not on the empty tables autovacuum last saw.
        // (Naming only the key columns cost a fifth as much, but left the full ANALYZE to autovacuum
        // in the minutes after a load, and `resolve`'s p99 rose from 0.87 to 1.2 ms while it ran.)
        try await tx.execute(SQL(unsafeSQL: "ANALYZE directory.\(resource.rawValue)"), name: "analyze \(resource.rawValue)")
        if resource == .groups { try await tx.execute("ANALYZE directory.group_members", name: "analyze memberships") }
    }

    /// The tenant's whole nesting closure, computed from its nested memberships (``NestingClosure``,
    /// the same rules as `directory.rebuild_group_ancestors`) and copied in, in the primary key's order,
    /// a bounded chunk at a time.
    private func buildNestingClosure(on tx: PostgresConnection) async throws {
        let edges = try await tx.query("""
            SELECT m.member_id AS child, m.group_id AS parent
            FROM directory.group_members m
            JOIN directory.groups c ON c.tenant_id = m.tenant_id AND c.id = m.member_id AND c.deleted_at IS NULL
            JOIN directory.groups p ON p.tenant_id = m.tenant_id AND p.id = m.group_id AND p.deleted_at IS NULL
            WHERE m.tenant_id = \(tenantID) AND m.member_type = 'group' AND m.member_id <> m.group_id
            """, name: "nesting edges")
        let closure = NestingClosure(edges: try edges.map { (child: try $0.uuid("child"), parent: try $0.uuid("parent")) })
        try await tx.execute("DELETE FROM directory.group_ancestors WHERE tenant_id = \(tenantID)", name: "forget the nesting closure")
        let copy: SQL = "COPY directory.group_ancestors (tenant_id, group_id, ancestor_id, depth) FROM STDIN"
        var rows = CopyBuffer(reservingCapacity: Self.closureChunkBytes + 4096)
        for (group, ancestors) in closure.groupsWithAncestors {
            for ancestor in ancestors {
                rows.append(tenantID); rows.append(group); rows.append(ancestor.id); rows.append(ancestor.depth); rows.endRow()
            }
            if rows.bytes.count >= Self.closureChunkBytes {
                _ = try await tx.copyIn(copy, buffer: rows)
                rows = CopyBuffer(reservingCapacity: Self.closureChunkBytes + 4096)
            }
        }
        if !rows.isEmpty { _ = try await tx.copyIn(copy, buffer: rows) }
    }

    /// Bytes of closure rows per COPY: bounds what the build holds, whatever the tenant's nesting.
    static let closureChunkBytes = 256 * 1024
}
