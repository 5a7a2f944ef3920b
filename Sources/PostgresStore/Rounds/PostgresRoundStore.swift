import DirSyncCore
import Foundation

/// ``DirSyncCore/RoundStore`` over PostgreSQL: one tenant, one resource, one session.
///
/// Pages are written in transactions of one or more consecutive pages: objects (``ObjectWriter``),
/// removals staged for the round's end and membership changes, the cursor's new resume point and
/// the live progress row (``RoundCursorRows``). Staged deletions are applied, or held back by the
/// deletion guard, in the transaction of the round's last page, together with the new deltaLink
/// (``DeletionWriter``).
public final class PostgresRoundStore: RoundStore {
    private let connection: PostgresConnection
    private let cursorRows: RoundCursorRows
    private let objects: ObjectWriter
    private let deletions: DeletionWriter
    private let session: RoundSession

    /// - Parameters:
    ///   - connection: a session used by this round only.
    ///   - table: the resource's fields.
    ///   - runID: the run whose progress row this round updates (`nil`: no progress row).
    public init(connection: PostgresConnection, tenantID: UUID, table: FieldTable, runID: Int64?) {
        self.connection = connection
        let objectTable = ObjectTable(table)
        cursorRows = RoundCursorRows(tenantID: tenantID, resource: table.resource, runID: runID)
        objects = ObjectWriter(tenantID: tenantID, table: objectTable)
        deletions = DeletionWriter(tenantID: tenantID, table: objectTable, cursor: cursorRows)
        session = RoundSession(tenantID: tenantID, resource: table.resource, runID: runID)
    }

    public func cursor() async throws -> SyncCursor {
        var cursor = try await cursorRows.read(on: connection)
        // A full round's record of what it saw is unlogged: after a PostgreSQL restart it is gone,
        // and the round cannot sweep on it.
        if cursor.roundMode == .full, cursor.nextLink != nil, let roundID = cursor.roundID,
           try await !deletions.seenIntact(roundID: roundID, on: connection) {
            cursor.roundLost = true
        }
        return cursor
    }

    public func startRound(mode: RoundMode, roundID: Int64?, selection: [String]) async throws {
        try await objects.startRound(mode: mode, on: connection)
        try await connection.withTransaction { tx in
            if mode == .full { try await deletions.discard(on: tx) }
            if mode == .full, let roundID { try await deletions.beginSeen(roundID: roundID, on: tx) }
            try await cursorRows.start(mode: mode, roundID: roundID, selection: selection, on: tx)
        }
    }

    public func beginProgress(expectedTotal: Int?, note: String?) async throws {
        try await cursorRows.beginProgress(expectedTotal: expectedTotal, note: note, on: connection)
    }

    public func recordExpectedTotal(_ total: Int) async throws {
        try await cursorRows.recordExpectedTotal(total, on: connection)
    }

    public func applyPages(_ plan: PagePlan, count: Int, nextLink: String, mode: RoundMode, roundID: Int64?) async throws -> PageWriteResult {
        try await writeTransaction { tx in
            let result = try await self.write(plan, mode: mode, roundID: roundID, on: tx)
            try await self.cursorRows.advance(to: nextLink, pages: count, on: tx)
            try await self.cursorRows.advanceProgress(pages: count, objects: plan.objectCount, phase: .fetch, on: tx)
            return result
        }
    }

    public func completeRound(lastPages plan: PagePlan, count: Int, deltaLink: String, mode: RoundMode, roundID: Int64?,
                              guard deletionGuard: DeletionGuard) async throws -> (PageWriteResult, RoundCompletion) {
        try await writeTransaction { tx in
            let result = try await self.write(plan, mode: mode, roundID: roundID, on: tx)
            if mode == .full, let roundID {
                try await self.deletions.sweepUnseen(roundID: roundID, on: tx)
                try await self.objects.dropUnchosenAttributes(on: tx)
            }
            try await self.cursorRows.hold(deltaLink: deltaLink, pages: count, on: tx)
            try await self.cursorRows.advanceProgress(pages: count, objects: plan.objectCount, phase: .sweep, on: tx)
            let completion = try await self.deletions.resolve(guard: deletionGuard, on: tx)
            if case .completed = completion { try await self.session.completeFirstRound(on: tx) }
            return (result, completion)
        }
    }

    public func resolveHalted(guard deletionGuard: DeletionGuard) async throws -> RoundCompletion {
        try await writeTransaction { tx in
            let completion = try await self.deletions.resolve(guard: deletionGuard, on: tx)
            if case .completed = completion { try await self.session.completeFirstRound(on: tx) }
            return completion
        }
    }

    public func liveObjectIDs() async throws -> Set<UUID> {
        let rows = try await connection.query("""
            SELECT id FROM \(unescaped: deletions.table.name) WHERE tenant_id = \(cursorRows.tenantID) AND deleted_at IS NULL
            """, name: "list live objects")
        var ids = Set<UUID>(minimumCapacity: rows.count)
        for row in rows { ids.insert(try row.uuid("id")) }
        return ids
    }

    public func liveObjectCount() async throws -> Int {
        try await deletions.liveObjectCount(on: connection)
    }

    public func stagedDeletionCount() async throws -> Int {
        try await deletions.stagedCount(on: connection)
    }

    /// A transaction that writes directory rows: it tells the triggers which run writes and whether
    /// it loads a first round (see ``RoundSession``). If it rolls back, what the object writer believed
    /// about the session and the rows is dropped, and the rest of the round takes the merge path.
    private func writeTransaction<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await connection.withTransaction { tx in
                try await session.begin(on: tx)
                return try await body(tx)
            }
        } catch {
            objects.rolledBack()
            throw error
        }
    }

    private func write(_ plan: PagePlan, mode: RoundMode, roundID: Int64?, on tx: PostgresConnection) async throws -> PageWriteResult {
        let stamp: Int64? = mode == .full ? roundID : nil
        var result = try await objects.upsert(plan.objects, stamp: stamp, on: tx)
        if !plan.removals.isEmpty {
            try await deletions.stage(plan.removals, on: tx)
            objects.stagedDeletions()
        }
        result.membershipsRemoved = try await objects.removeMemberships(plan.membershipRemovals, on: tx)
        result += try await objects.addMemberships(plan.membershipAdditions, stamp: stamp, on: tx)
        return result
    }
}
