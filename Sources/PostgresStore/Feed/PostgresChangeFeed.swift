import DirSyncCore
import Foundation

/// Reads and prunes `directory.changes` for `dirsync changes`; services read the feed with the SQL
/// function `directory.changes_since` directly.
public struct PostgresChangeFeed: Sendable {
    /// Events as JSON lines (the table's columns by name), and the last seq read.
    public struct Batch: Sendable {
        public var lines: [String]
        /// The seq of the last event read, also when a tenant filter dropped it; `nil` when none was read.
        public var lastSeq: Int64?
        /// How many events were read (kept or dropped by the filter).
        public var read: Int
    }

    /// The feed's cursor expired: events after it were pruned.
    public struct ExpiredCursor: Error, Sendable, CustomStringConvertible {
        public var cursor: Int64
        public var message: String
        public var description: String { message }
    }

    private let connection: PostgresConnection

    public init(connection: PostgresConnection) {
        self.connection = connection
    }

    /// The events after `cursor`, at most `limit`, keeping only `tenants` when that is not empty.
    /// - Throws: ``ExpiredCursor`` when the feed was pruned past `cursor`.
    public func read(after cursor: Int64, limit: Int, tenants: Set<UUID>) async throws -> Batch {
        let rows: PostgresRows
        do {
            rows = try await connection.query("""
                SELECT c.seq, c.tenant_id, row_to_json(c)::text AS line FROM directory.changes_since(\(cursor), \(limit)) c
                """, name: "read the change feed")
        } catch let error as PostgresError where error.sqlState == "DSC01" {
            throw ExpiredCursor(cursor: cursor, message: "change feed cursor \(cursor) has expired: the events after it were pruned; re-read the directory tables, then continue from dirsync changes --since $(dirsync changes --latest)")
        }
        var batch = Batch(lines: [], lastSeq: nil, read: 0)
        batch.lines.reserveCapacity(rows.count)
        for row in rows {
            batch.read += 1
            batch.lastSeq = Int64(try row.int("seq"))
            let tenant = try row.uuid("tenant_id")
            if tenants.isEmpty || tenants.contains(tenant) { batch.lines.append(try row.string("line")) }
        }
        return batch
    }

    /// The seq of the newest committed event (where a consumer that copies the tables now continues).
    public func latest() async throws -> Int64 {
        Int64(try await connection.query("SELECT directory.changes_cursor() AS seq", name: "change feed cursor").first?.int("seq") ?? 0)
    }

    /// Subscribes this session to the feed's wake-ups (`NOTIFY directory_changes, '<tenant id>'`).
    public func listen() async throws {
        try await connection.execute("LISTEN directory_changes", name: "listen to the change feed")
    }

    /// Waits up to `timeout` seconds for a wake-up; returns the tenants that committed events.
    public func wait(timeout: Double) async throws -> [String] {
        try await connection.notifications(timeout: timeout)
    }

    /// Deletes the events committed before `cutoff`, oldest first, `batch` at a time (each batch its
    /// own transaction, so a large prune never holds long locks), and records how far the feed was
    /// pruned so that older cursors are refused instead of silently skipping events.
    /// - Returns: how many events were deleted, and the seq the feed is pruned through.
    public func prune(before cutoff: Date, batch: Int = 10_000) async throws -> (deleted: Int, prunedThrough: Int64) {
        // Events are numbered in commit order, so those older than the cutoff are a prefix of the feed.
        let boundary = Int64(try await connection.query("""
            SELECT coalesce(max(seq), 0) AS seq FROM directory.changes WHERE committed_at < \(cutoff)
            """, name: "find the prune boundary").first?.int("seq") ?? 0)
        var deleted = 0
        while boundary > 0 {
            let removed = try await connection.withTransaction { tx -> Int in
                let count = try await tx.execute("""
                    DELETE FROM directory.changes WHERE seq IN (
                        SELECT seq FROM directory.changes WHERE seq <= \(boundary) ORDER BY seq LIMIT \(batch))
                    """, name: "prune the change feed").affectedRows
                let highest = try await tx.query("""
                    SELECT coalesce((SELECT min(seq) - 1 FROM directory.changes WHERE seq <= \(boundary)), \(boundary)) AS seq
                    """, name: "pruned through").first?.int("seq") ?? 0
                try await tx.execute("""
                    UPDATE directory.change_feed_state SET pruned_through = greatest(pruned_through, \(highest))
                    """, name: "record the prune")
                return count
            }
            deleted += removed
            if removed < batch { break }
        }
        let through = Int64(try await connection.query("SELECT pruned_through AS seq FROM directory.change_feed_state", name: "pruned through")
            .first?.int("seq") ?? 0)
        return (deleted, through)
    }
}
