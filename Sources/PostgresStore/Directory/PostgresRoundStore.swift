import DirSyncCore
import Foundation
import Synchronization

/// ``RoundStore`` over PostgreSQL: one tenant, one resource, one session.
///
/// Pages are written in transactions of one or more consecutive pages: staged upserts merged in bulk, removals staged in
/// `directory.pending_deletions`, membership changes, the cursor's new resume point and the live
/// progress row. Staged deletions are applied (or held back by the deletion guard) in the
/// transaction of the round's last page, together with the new deltaLink.
public final class PostgresRoundStore: RoundStore {
    private let connection: PostgresConnection
    private let tenantID: UUID
    private let resource: DirectoryResource
    private let runID: Int64?
    private let table: ObjectTable
    private let stageReady = Mutex(false)
    private let newRows = Mutex(NewRows())

    /// Whether this round may COPY rows straight into the tables instead of staging and merging them.
    ///
    /// The first full round of a tenant writes rows that cannot exist yet, and a plain COPY costs
    /// PostgreSQL about half of a staged merge. It is tried only where it can succeed: in a full round
    /// that started over a table without rows of the tenant, for objects not written by the previous
    /// transaction, and until the round stages a deletion (a later report of that object must un-stage
    /// it, which the merge path does). An object the previous transaction wrote (a group continued on
    /// the next page) is merged, or skipped when its report adds nothing to what was written. A COPY
    /// that meets an existing row anyway (Graph repeated an object) rolls back to a savepoint and the
    /// same rows go through the merge, so the result never depends on the guess; after
    /// ``maxConflicts`` such misses in a row the round stops trying.
    private struct NewRows {
        var objects = false
        var members = false
        var deletionsStaged = false
        /// Objects written by the previous transaction of the round, with the values known to be in
        /// their rows (every property present here is stored with this value).
        var previousUsers: [UUID: UserChange] = [:]
        var previousGroups: [UUID: GroupChange] = [:]
        var objectConflicts = 0
        var memberConflicts = 0
        /// Rows this store COPYed straight into a table, and merge statements it ran (for tests).
        var copied = 0
        var merges = 0
    }

    private static let maxConflicts = 3

    /// Rows written by the new-row path so far.
    var rowsCopiedStraightIn: Int { newRows.withLock { $0.copied } }
    /// Object merge statements run so far.
    var objectMerges: Int { newRows.withLock { $0.merges } }

    /// - Parameters:
    ///   - connection: a session used by this round only.
    ///   - runID: the run whose progress row this round updates (`nil`: no progress row).
    public init(connection: PostgresConnection, tenantID: UUID, resource: DirectoryResource, runID: Int64?) {
        self.connection = connection
        self.tenantID = tenantID
        self.resource = resource
        self.runID = runID
        self.table = ObjectTable.forResource(resource)
    }

    public func cursor() async throws -> SyncCursor {
        try await connection.execute("""
            INSERT INTO directory.sync_cursors (tenant_id, resource) VALUES (\(tenantID), \(resource.rawValue))
            ON CONFLICT (tenant_id, resource) DO NOTHING
            """, name: "create cursor")
        let row = try await connection.query("""
            SELECT delta_link, delta_link_at, round_mode, next_link, round_id, round_pages, pending_delta_link
            FROM directory.sync_cursors WHERE tenant_id = \(tenantID) AND resource = \(resource.rawValue)
            """, name: "read cursor").first
        guard let row else { throw Self.missingRow("sync cursor") }
        return SyncCursor(
            deltaLink: try row.optionalString("delta_link"),
            deltaLinkAt: try row.optionalDate("delta_link_at"),
            roundMode: try row.optionalString("round_mode").flatMap(RoundMode.init(rawValue:)),
            nextLink: try row.optionalString("next_link"),
            roundID: try row.optionalInt("round_id").map(Int64.init),
            roundPages: try row.int("round_pages"),
            pendingDeltaLink: try row.optionalString("pending_delta_link")
        )
    }

    public func startRound(mode: RoundMode, roundID: Int64?) async throws {
        var fresh = NewRows()
        if mode == .full {
            let row = try await connection.query("""
                SELECT NOT EXISTS (SELECT 1 FROM \(unescaped: table.table) WHERE tenant_id = \(tenantID)) AS objects,
                       NOT EXISTS (SELECT 1 FROM directory.group_members WHERE tenant_id = \(tenantID)) AS members
                """, name: "check for existing rows").first
            fresh.objects = try row?.bool("objects") ?? false
            fresh.members = try resource == .groups && (row?.bool("members") ?? false)
        }
        newRows.withLock { (fresh.copied, fresh.merges) = ($0.copied, $0.merges); $0 = fresh }
        try await connection.withTransaction { tx in
            if mode == .full {
                try await tx.execute("""
                    DELETE FROM directory.pending_deletions WHERE tenant_id = \(tenantID) AND resource = \(resource.rawValue)
                    """, name: "discard staged deletions")
            }
            try await tx.execute("""
                INSERT INTO directory.sync_cursors (tenant_id, resource, round_mode, round_id, round_started_at)
                VALUES (\(tenantID), \(resource.rawValue), \(mode.rawValue), \(roundID), now())
                ON CONFLICT (tenant_id, resource) DO UPDATE
                SET round_mode = EXCLUDED.round_mode, round_id = EXCLUDED.round_id, next_link = NULL, round_started_at = now(),
                    round_pages = 0, pending_delta_link = NULL, updated_at = now()
                """, name: "start round")
        }
    }

    /// Creates or resets this run's live progress row for the resource.
    public func beginProgress(expectedTotal: Int?) async throws {
        guard let runID else { return }
        try await connection.execute("""
            INSERT INTO directory.sync_progress (tenant_id, resource, run_id, phase, pages, objects, expected_total, started_at, updated_at)
            VALUES (\(tenantID), \(resource.rawValue), \(runID), 'fetch', 0, 0, \(expectedTotal), now(), now())
            ON CONFLICT (tenant_id, resource) DO UPDATE SET run_id = EXCLUDED.run_id, phase = 'fetch', pages = 0, objects = 0,
                expected_total = EXCLUDED.expected_total, started_at = now(), updated_at = now()
            """, name: "begin progress")
    }

    public func recordExpectedTotal(_ total: Int) async throws {
        guard runID != nil else { return }
        try await connection.execute("""
            UPDATE directory.sync_progress SET expected_total = \(total) WHERE tenant_id = \(tenantID) AND resource = \(resource.rawValue)
            """, name: "record expected total")
    }

    public func applyPages(_ plan: PagePlan, count: Int, nextLink: String, mode: RoundMode, roundID: Int64?) async throws -> PageWriteResult {
        try await writeTransaction { tx in
            let result = try await self.write(plan, mode: mode, roundID: roundID, on: tx)
            try await tx.execute("""
                UPDATE directory.sync_cursors SET next_link = \(nextLink), round_pages = round_pages + \(count), updated_at = now()
                WHERE tenant_id = \(tenantID) AND resource = \(resource.rawValue)
                """, name: "advance cursor")
            try await self.advanceProgress(pages: count, objects: plan.objectCount, phase: "fetch", on: tx)
            return result
        }
    }

    public func completeRound(lastPages plan: PagePlan, count: Int, deltaLink: String, mode: RoundMode, roundID: Int64?, guard deletionGuard: DeletionGuard) async throws
        -> (PageWriteResult, RoundCompletion)
    {
        try await writeTransaction { tx in
            let result = try await self.write(plan, mode: mode, roundID: roundID, on: tx)
            if mode == .full, let roundID {
                try await tx.execute("""
                    INSERT INTO directory.pending_deletions (tenant_id, resource, id, reason)
                    SELECT tenant_id, \(resource.rawValue)::text, id, 'not_in_full_sync' FROM \(unescaped: table.table)
                    WHERE tenant_id = \(tenantID) AND deleted_at IS NULL AND sync_round IS DISTINCT FROM \(roundID)
                    ON CONFLICT (tenant_id, resource, id) DO NOTHING
                    """, name: "sweep unseen objects")
            }
            try await tx.execute("""
                UPDATE directory.sync_cursors SET pending_delta_link = \(deltaLink), next_link = NULL,
                    round_pages = round_pages + \(count), updated_at = now()
                WHERE tenant_id = \(tenantID) AND resource = \(resource.rawValue)
                """, name: "hold deltaLink")
            try await self.advanceProgress(pages: count, objects: plan.objectCount, phase: "sweep", on: tx)
            let completion = try await self.resolveStagedDeletions(guard: deletionGuard, on: tx)
            return (result, completion)
        }
    }

    public func resolveHalted(guard deletionGuard: DeletionGuard) async throws -> RoundCompletion {
        try await connection.withTransaction { tx in try await self.resolveStagedDeletions(guard: deletionGuard, on: tx) }
    }

    public func liveObjectIDs() async throws -> Set<UUID> {
        let rows = try await connection.query("""
            SELECT id FROM \(unescaped: table.table) WHERE tenant_id = \(tenantID) AND deleted_at IS NULL
            """, name: "list live objects")
        var ids = Set<UUID>(minimumCapacity: rows.count)
        for row in rows { ids.insert(try row.uuid("id")) }
        return ids
    }

    public func liveObjectCount() async throws -> Int {
        try await Self.liveObjectCount(tenantID: tenantID, on: connection)
    }

    public func close() async {
        await connection.close()
    }

    private static func liveObjectCount(tenantID: UUID, on connection: PostgresConnection) async throws -> Int {
        try await connection.query("""
            SELECT (SELECT count(*) FROM directory.users WHERE tenant_id = \(tenantID) AND deleted_at IS NULL)
                 + (SELECT count(*) FROM directory.groups WHERE tenant_id = \(tenantID) AND deleted_at IS NULL) AS n
            """, name: "count live objects").first?.int("n") ?? 0
    }

    private static func missingRow(_ what: String) -> PostgresError {
        PostgresError(code: .queryFailed, message: "the \(what) row is missing", hint: "another process changed dirsync's bookkeeping tables; run dirsync migrate and retry")
    }

    // MARK: - Writing a page

    /// A transaction that writes pages. What this store believes about the session and the tables
    /// (staging tables created, rows the previous transaction wrote) is updated as statements run; if
    /// the transaction rolls back, that belief is dropped and the rest of the round takes the merge path.
    private func writeTransaction<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await connection.withTransaction(body)
        } catch {
            stageReady.withLock { $0 = false }
            newRows.withLock { state in
                (state.objects, state.members) = (false, false)
                (state.previousUsers, state.previousGroups) = ([:], [:])
            }
            throw error
        }
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

    private func write(_ plan: PagePlan, mode: RoundMode, roundID: Int64?, on tx: PostgresConnection) async throws -> PageWriteResult {
        var result = PageWriteResult()
        let stamp: Int64? = mode == .full ? roundID : nil
        try await ensureStage(on: tx)

        result.objectsUpserted = try await upsertObjects(plan, stamp: stamp, on: tx)

        if !plan.removals.isEmpty {
            try await tx.execute("""
                INSERT INTO directory.pending_deletions (tenant_id, resource, id, reason)
                SELECT \(tenantID)::uuid, \(resource.rawValue)::text, r.id, r.reason
                FROM unnest(\(UUIDArray(plan.removals.map(\.id)))::uuid[], \(plan.removals.map(\.reason.rawValue))::text[]) AS r (id, reason)
                ON CONFLICT (tenant_id, resource, id) DO UPDATE SET reason = EXCLUDED.reason, reported_at = now()
                """, name: "stage deletions")
            newRows.withLock { $0.deletionsStaged = true }
        }

        if !plan.membershipRemovals.isEmpty {
            result.membershipsRemoved = try await tx.execute("""
                DELETE FROM directory.group_members g
                USING unnest(\(UUIDArray(plan.membershipRemovals.map(\.groupID)))::uuid[], \(UUIDArray(plan.membershipRemovals.map(\.memberID)))::uuid[]) AS r (group_id, member_id)
                WHERE g.tenant_id = \(tenantID) AND g.group_id = r.group_id AND g.member_id = r.member_id
                """, name: "remove memberships").affectedRows
        }

        if !plan.membershipAdditions.isEmpty {
            result.membershipsAdded = try await addMemberships(plan.membershipAdditions, stamp: stamp, on: tx)
        }
        return result
    }

    /// Inserts or merges the plan's users or groups; returns the rows written.
    private func upsertObjects(_ plan: PagePlan, stamp: Int64?, on tx: PostgresConnection) async throws -> Int {
        switch resource {
        case .users: try await upsertObjects(plan.users, previous: \.previousUsers, stamp: stamp, on: tx)
        case .groups: try await upsertObjects(plan.groups, previous: \.previousGroups, stamp: stamp, on: tx)
        }
    }

    private func upsertObjects<Change: StagedChange>(_ changes: [Change], previous: WritableKeyPath<NewRows, [UUID: Change]>,
                                                     stamp: Int64?, on tx: PostgresConnection) async throws -> Int {
        guard !changes.isEmpty else { return 0 }
        var toMerge = Array(changes.indices)
        var written = 0
        let state = newRows.withLock { $0 }
        if state.objects && !state.deletionsStaged {
            let earlier = state[keyPath: previous]
            let repeated = changes.indices.filter { earlier[changes[$0].id] != nil }
            let fresh = changes.indices.filter { earlier[changes[$0].id] == nil }
            let rows = connection.profiler.measure(.write) {
                var rows = CopyBuffer()
                for index in fresh { rows.appendNew(changes[index], tenant: tenantID, round: stamp) }
                return rows
            }
            if fresh.isEmpty {
                toMerge = repeated
            } else if let inserted = try await copyNewRows(table.copyNew, rows, on: tx) {
                written = inserted
                toMerge = repeated
                newRows.withLock { $0.objectConflicts = 0 }
            } else {
                newRows.withLock {
                    $0.objectConflicts += 1
                    if $0.objectConflicts >= Self.maxConflicts { $0.objects = false }
                }
            }
            // A repeat that brings nothing new (a group continued on the next page) needs no statement.
            toMerge.removeAll { index in earlier[changes[index].id].map { changes[index].addsNothing(to: $0) } ?? false }
            var known: [UUID: Change] = [:]
            for change in changes {
                var values = earlier[change.id] ?? change
                if earlier[change.id] != nil { values.merge(change) }
                known[change.id] = values
            }
            newRows.withLock { $0[keyPath: previous] = known }
        }
        if !toMerge.isEmpty { written += try await mergeObjects(toMerge.map { changes[$0] }, stamp: stamp, on: tx) }
        return written
    }

    /// Stages `changes`, merges them in one statement, and un-stages deletions of objects that came
    /// back (restored, or reported again after a removal earlier in the round).
    private func mergeObjects<Change: StagedChange>(_ changes: [Change], stamp: Int64?, on tx: PostgresConnection) async throws -> Int {
        let staged = connection.profiler.measure(.write) {
            var staged = CopyBuffer()
            for change in changes { staged.appendStaged(change) }
            return staged
        }
        try await tx.copyIn(table.copyStage, buffer: staged)
        let merge = SQL(unsafeSQL: table.merge.text, binds: [tenantID.postgresText, stamp.map(String.init)])
        let merged = try await tx.execute(merge, name: "merge \(resource.rawValue)").affectedRows
        newRows.withLock { $0.merges += 1 }
        try await tx.execute(SQL(unsafeSQL: """
            DELETE FROM directory.pending_deletions p USING \(table.stage) s
            WHERE p.tenant_id = $1 AND p.resource = $2 AND p.id = s.id
            """, binds: [tenantID.postgresText, resource.rawValue]), name: "unstage restored deletions")
        return merged
    }

    /// Inserts the plan's memberships (a full round also stamps existing ones); returns those that are new.
    private func addMemberships(_ additions: [MembershipAddition], stamp: Int64?, on tx: PostgresConnection) async throws -> Int {
        if newRows.withLock({ $0.members }) {
            let rows = connection.profiler.measure(.write) {
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
            if let inserted = try await copyNewRows(copy, rows, on: tx) {
                newRows.withLock { $0.memberConflicts = 0 }
                return inserted
            }
            newRows.withLock {
                $0.memberConflicts += 1
                if $0.memberConflicts >= Self.maxConflicts { $0.members = false }
            }
        }
        let staged = connection.profiler.measure(.write) {
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
        return try await tx.query("""
            WITH upserted AS (
                INSERT INTO directory.group_members AS g (tenant_id, group_id, member_id, member_type, added_at, sync_round)
                SELECT \(tenantID)::uuid, s.group_id, s.member_id, s.member_type, now(), \(stamp)::bigint FROM pg_temp.stage_members s
                ON CONFLICT (tenant_id, group_id, member_id) DO UPDATE
                    SET member_type = EXCLUDED.member_type, sync_round = COALESCE(EXCLUDED.sync_round, g.sync_round)
                    WHERE g.member_type IS DISTINCT FROM EXCLUDED.member_type
                       OR (EXCLUDED.sync_round IS NOT NULL AND g.sync_round IS DISTINCT FROM EXCLUDED.sync_round)
                RETURNING (xmax = 0) AS inserted
            )
            SELECT count(*) FILTER (WHERE inserted)::int AS n FROM upserted
            """, name: "add memberships").first?.int("n") ?? 0
    }

    /// COPYs rows that should not exist yet straight into their table, inside a savepoint.
    /// - Returns: the rows written, or `nil` when one of them existed after all (nothing is written then).
    private func copyNewRows(_ statement: SQL, _ rows: CopyBuffer, on tx: PostgresConnection) async throws -> Int? {
        try await tx.execute("SAVEPOINT new_rows", name: "savepoint")
        do {
            let copied = try await tx.copyIn(statement, buffer: rows)
            try await tx.execute("RELEASE SAVEPOINT new_rows", name: "release savepoint")
            newRows.withLock { $0.copied += copied }
            return copied
        } catch let error as PostgresError where error.sqlState == "23505" {
            try await tx.execute("ROLLBACK TO SAVEPOINT new_rows", name: "rollback to savepoint")
            return nil
        }
    }

    private func advanceProgress(pages: Int, objects: Int, phase: String, on tx: PostgresConnection) async throws {
        guard runID != nil else { return }
        try await tx.execute("""
            UPDATE directory.sync_progress SET pages = pages + \(pages), objects = objects + \(objects), phase = \(phase), updated_at = now()
            WHERE tenant_id = \(tenantID) AND resource = \(resource.rawValue)
            """, name: "advance progress")
    }

    /// Applies the round's staged deletions and stores its held-back deltaLink, unless the guard halts them.
    private func resolveStagedDeletions(guard deletionGuard: DeletionGuard, on tx: PostgresConnection) async throws -> RoundCompletion {
        let cursor = try await tx.query("""
            SELECT pending_delta_link, round_mode, round_id FROM directory.sync_cursors
            WHERE tenant_id = \(tenantID) AND resource = \(resource.rawValue) FOR UPDATE
            """, name: "lock cursor").first
        guard let cursor else { throw Self.missingRow("sync cursor") }
        guard let deltaLink = try cursor.optionalString("pending_delta_link") else {
            return .completed(objectsDeleted: 0, membershipsSwept: 0)
        }
        let mode = try cursor.optionalString("round_mode").flatMap(RoundMode.init(rawValue:))
        let roundID = try cursor.optionalInt("round_id").map(Int64.init)
        let deletions = try await tx.query("""
            SELECT count(*)::int AS n FROM directory.pending_deletions p JOIN \(unescaped: table.table) o ON o.tenant_id = p.tenant_id AND o.id = p.id
            WHERE p.tenant_id = \(tenantID) AND p.resource = \(resource.rawValue) AND o.deleted_at IS NULL
            """, name: "count staged deletions").first?.int("n") ?? 0
        let tenantObjects = try await Self.liveObjectCount(tenantID: tenantID, on: tx)
        if let verdict = deletionGuard.check(deletions: deletions, tenantObjects: tenantObjects) {
            return .halted(verdict)
        }
        let deleted = try await tx.execute("""
            UPDATE \(unescaped: table.table) o SET deleted_at = COALESCE(o.deleted_at, now()), deleted_reason = p.reason, updated_at = now()
            FROM directory.pending_deletions p
            WHERE p.tenant_id = \(tenantID) AND p.resource = \(resource.rawValue) AND o.tenant_id = p.tenant_id AND o.id = p.id
              AND (o.deleted_at IS NULL OR o.deleted_reason IS DISTINCT FROM p.reason)
            """, name: "apply deletions").affectedRows
        var swept = 0
        if resource == .groups {
            // A deleted group loses its memberships; after a full round, so does every membership it did not list.
            swept += try await tx.execute("""
                DELETE FROM directory.group_members g USING directory.pending_deletions p
                WHERE p.tenant_id = \(tenantID) AND p.resource = 'groups' AND g.tenant_id = p.tenant_id AND g.group_id = p.id
                """, name: "remove memberships of deleted groups").affectedRows
            if mode == .full, let roundID {
                swept += try await tx.execute("""
                    DELETE FROM directory.group_members WHERE tenant_id = \(tenantID) AND sync_round IS DISTINCT FROM \(roundID)
                    """, name: "sweep unseen memberships").affectedRows
            }
        }
        try await tx.execute("""
            DELETE FROM directory.pending_deletions WHERE tenant_id = \(tenantID) AND resource = \(resource.rawValue)
            """, name: "clear staged deletions")
        try await tx.execute("""
            UPDATE directory.sync_cursors SET delta_link = \(deltaLink), delta_link_at = now(), pending_delta_link = NULL,
                round_mode = NULL, round_id = NULL, next_link = NULL, round_pages = 0, updated_at = now()
            WHERE tenant_id = \(tenantID) AND resource = \(resource.rawValue)
            """, name: "store deltaLink")
        if runID != nil {
            try await tx.execute("""
                UPDATE directory.sync_progress SET phase = 'done', updated_at = now()
                WHERE tenant_id = \(tenantID) AND resource = \(resource.rawValue)
                """, name: "finish progress")
        }
        return .completed(objectsDeleted: deleted, membershipsSwept: swept)
    }
}
