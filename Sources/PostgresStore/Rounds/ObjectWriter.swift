import DirSyncCore
import Foundation
import Synchronization

/// Writes a round's objects and memberships for one tenant: COPYed straight into the tables or
/// staged and merged, as the ``DirSyncCore/WritePathPolicy`` routes each transaction.
final class ObjectWriter: Sendable {
    private let tenantID: UUID
    private let table: ObjectTable
    private let policy = Mutex(WritePathPolicy.mergeOnly)
    /// Whether this session's staging tables exist.
    private let stageReady = Mutex(false)

    init(tenantID: UUID, table: ObjectTable) {
        self.tenantID = tenantID
        self.table = table
    }

    /// Chooses the write path of a round that starts now, from whether the tenant has rows yet.
    func startRound(mode: RoundMode, on connection: PostgresConnection) async throws {
        var fresh = WritePathPolicy.mergeOnly
        if mode == .full {
            let row = try await connection.query("""
                SELECT EXISTS (SELECT 1 FROM \(unescaped: table.name) WHERE tenant_id = \(tenantID)) AS objects,
                       EXISTS (SELECT 1 FROM directory.group_members WHERE tenant_id = \(tenantID)) AS members
                """, name: "check for existing rows").first
            fresh = WritePathPolicy(mode: mode, objectsExist: try row?.bool("objects") ?? true, membershipsExist: try row?.bool("members") ?? true,
                                    readsMemberships: table.fields.readsMembers)
        }
        policy.withLock { $0 = fresh }
    }

    /// Drops `attributes` keys no longer chosen, once a full round read every object with the current choice.
    func dropUnchosenAttributes(on tx: PostgresConnection) async throws {
        guard let sql = table.dropUnchosenAttributes else { return }
        let chosen = table.fields.attributeFields.map(\.graphName)
        try await tx.execute(SQL(unsafeSQL: sql.text, binds: [tenantID.postgresText, chosen.postgresText]),
                             name: "drop unchosen attributes")
    }

    /// A write transaction rolled back: the session's staging tables and the policy's beliefs about
    /// the rows are gone with it.
    func rolledBack() {
        stageReady.withLock { $0 = false }
        policy.withLock { $0.rolledBack() }
    }

    /// The round staged a deletion.
    func stagedDeletions() {
        policy.withLock { $0.stagedDeletions() }
    }

    /// Inserts or merges `objects`; returns the rows written and how.
    func upsert(_ objects: [ObjectChange], stamp: Int64?, on tx: PostgresConnection) async throws -> PageWriteResult {
        guard !objects.isEmpty else { return PageWriteResult() }
        try await ensureStage(on: tx)
        let route = policy.withLock { $0.route(objects) }
        var merge = route.merge
        var written = 0
        var copied: Bool?
        if !route.copy.isEmpty {
            let rows = tx.profiler.measure(.write) {
                var rows = CopyBuffer()
                for index in route.copy { rows.appendNew(objects[index], table, tenant: tenantID, round: stamp) }
                return rows
            }
            if let inserted = try await copyNewRows(table.copyNew, rows, on: tx) {
                written = inserted
                copied = true
            } else {
                merge = (route.copy + route.merge).sorted()
                copied = false
            }
        }
        policy.withLock { $0.wrote(objects, copied: copied) }
        var result = PageWriteResult(objectsUpserted: written, rowsCopied: written)
        if !merge.isEmpty {
            result.objectsUpserted += try await self.merge(merge.map { objects[$0] }, stamp: stamp, on: tx)
            result.objectMerges = 1
        }
        return result
    }

    /// Stages `objects`, merges them in one statement, and un-stages deletions of objects that came
    /// back (restored, or reported again after a removal earlier in the round).
    private func merge(_ objects: [ObjectChange], stamp: Int64?, on tx: PostgresConnection) async throws -> Int {
        let staged = tx.profiler.measure(.write) {
            var staged = CopyBuffer()
            for object in objects { staged.appendStaged(object, table) }
            return staged
        }
        try await tx.copyIn(table.copyStage, buffer: staged)
        let merge = SQL(unsafeSQL: table.merge.text, binds: [tenantID.postgresText, stamp.map(String.init)])
        let merged = try await tx.execute(merge, name: "merge \(table.fields.resource.rawValue)").affectedRows
        if let stamp {
            // What the full round saw, for its sweep (rows it did not rewrite keep their old stamp).
            try await tx.execute(SQL(unsafeSQL: """
                INSERT INTO directory.round_seen (tenant_id, resource, round_id, id) SELECT $1, $2, $3, s.id FROM \(table.stage) s ON CONFLICT DO NOTHING
                """, binds: [tenantID.postgresText, table.fields.resource.rawValue, String(stamp)]), name: "record seen \(table.fields.resource.rawValue)")
        }
        try await tx.execute(SQL(unsafeSQL: """
            DELETE FROM directory.pending_deletions p USING \(table.stage) s
            WHERE p.tenant_id = $1 AND p.resource = $2 AND p.id = s.id
            """, binds: [tenantID.postgresText, table.fields.resource.rawValue]), name: "unstage restored deletions")
        return merged
    }

    /// Ends memberships; returns how many existed.
    func removeMemberships(_ removals: [MembershipRemoval], on tx: PostgresConnection) async throws -> Int {
        guard !removals.isEmpty else { return 0 }
        return try await tx.execute("""
            DELETE FROM directory.group_members g
            USING unnest(\(UUIDArray(removals.map(\.groupID)))::uuid[], \(UUIDArray(removals.map(\.memberID)))::uuid[]) AS r (group_id, member_id)
            WHERE g.tenant_id = \(tenantID) AND g.group_id = r.group_id AND g.member_id = r.member_id
            """, name: "remove memberships").affectedRows
    }

    /// Inserts memberships (a full round records the existing ones it saw); returns those that are new, and how they were written.
    func addMemberships(_ additions: [MembershipAddition], stamp: Int64?, on tx: PostgresConnection) async throws -> PageWriteResult {
        guard !additions.isEmpty else { return PageWriteResult() }
        try await ensureStage(on: tx)
        if policy.withLock({ $0.copiesMemberships }) {
            let rows = tx.profiler.measure(.write) {
                var rows = CopyBuffer()
                for addition in additions {
                    rows.append(tenantID)
                    rows.append(addition.groupID)
                    rows.append(addition.memberID)
                    rows.append(addition.memberType.rawValue)
                    rows.append(stamp.map(Int.init))
                    rows.endRow()
                }
                return rows
            }
            let copy: SQL = "COPY directory.group_members (tenant_id, group_id, member_id, member_type, sync_round) FROM STDIN"
            let inserted = try await copyNewRows(copy, rows, on: tx)
            policy.withLock { $0.wroteMemberships(copied: inserted != nil) }
            if let inserted { return PageWriteResult(membershipsAdded: inserted, rowsCopied: inserted) }
        }
        let staged = tx.profiler.measure(.write) {
            var staged = CopyBuffer()
            for addition in additions {
                staged.append(addition.groupID)
                staged.append(addition.memberID)
                staged.append(addition.memberType.rawValue)
                staged.endRow()
            }
            return staged
        }
        try await tx.copyIn("COPY pg_temp.stage_members (group_id, member_id, member_type) FROM STDIN", buffer: staged)
        // Counted in the database: a transaction of several pages may add thousands of rows.
        let added = try await tx.query("""
            WITH upserted AS (
                INSERT INTO directory.group_members AS g (tenant_id, group_id, member_id, member_type, added_at, sync_round)
                SELECT \(tenantID)::uuid, s.group_id, s.member_id, s.member_type, now(), \(stamp)::bigint FROM pg_temp.stage_members s
                LEFT JOIN directory.group_members e ON e.tenant_id = \(tenantID) AND e.group_id = s.group_id AND e.member_id = s.member_id
                WHERE e.member_id IS NULL OR e.member_type IS DISTINCT FROM s.member_type
                ON CONFLICT (tenant_id, group_id, member_id) DO UPDATE
                    SET member_type = EXCLUDED.member_type, sync_round = COALESCE(EXCLUDED.sync_round, g.sync_round)
                    WHERE g.member_type IS DISTINCT FROM EXCLUDED.member_type
                RETURNING (xmax = 0) AS inserted
            )
            SELECT count(*) FILTER (WHERE inserted)::int AS n FROM upserted
            """, name: "add memberships").first?.int("n") ?? 0
        if let stamp {
            try await tx.execute("""
                INSERT INTO directory.round_seen_members (tenant_id, round_id, group_id, member_id)
                SELECT \(tenantID), \(stamp), s.group_id, s.member_id FROM pg_temp.stage_members s ON CONFLICT DO NOTHING
                """, name: "record seen memberships")
        }
        return PageWriteResult(membershipsAdded: added)
    }

    private func ensureStage(on connection: PostgresConnection) async throws {
        guard !stageReady.withLock({ $0 }) else { return }
        try await connection.execute(table.createStage, name: "create staging table")
        try await connection.execute("""
            CREATE TEMP TABLE IF NOT EXISTS stage_members (group_id uuid NOT NULL, member_id uuid NOT NULL, member_type text NOT NULL)
            ON COMMIT DELETE ROWS
            """, name: "create member staging table")
        stageReady.withLock { $0 = true }
    }

    /// COPYs rows that should not exist yet straight into their table, inside a savepoint.
    /// - Returns: the rows written, or `nil` when one of them existed after all (nothing is written then).
    private func copyNewRows(_ statement: SQL, _ rows: CopyBuffer, on tx: PostgresConnection) async throws -> Int? {
        try await tx.execute("SAVEPOINT new_rows", name: "savepoint")
        do {
            let copied = try await tx.copyIn(statement, buffer: rows)
            try await tx.execute("RELEASE SAVEPOINT new_rows", name: "release savepoint")
            return copied
        } catch let error as PostgresError where error.sqlState == "23505" {
            try await tx.execute("ROLLBACK TO SAVEPOINT new_rows", name: "rollback to savepoint")
            return nil
        }
    }
}
