import Foundation
import Synchronization

/// The store a dry run writes to: it reads the real store (cursor, live objects, staged deletions)
/// and keeps every write in memory, so a dry run takes exactly the path of a real run — resume, 410
/// resync, catch-up, the deletion guard — and reports what that run would do, writing nothing.
public final class DryRunRoundStore: RoundStore {
    private struct State {
        var cursor: SyncCursor?
        /// Objects the round reported (upserted or removed).
        var seen = Set<UUID>()
        /// Objects whose latest report in the round is a removal.
        var removed = Set<UUID>()
    }

    private let reading: any RoundStore
    private let time: any TimeSource
    private let state = Mutex(State())

    /// - Parameter reading: the real store; only its reading methods are called.
    public init(reading: any RoundStore, time: any TimeSource) {
        self.reading = reading
        self.time = time
    }

    public func cursor() async throws -> SyncCursor {
        if let cursor = state.withLock({ $0.cursor }) { return cursor }
        return try await reading.cursor()
    }

    public func beginProgress(expectedTotal: Int?, note: String?) async throws {}

    public func recordExpectedTotal(_ total: Int) async throws {}

    public func startRound(mode: RoundMode, roundID: Int64?, selection: [String]) async throws {
        var cursor = try await cursor()
        (cursor.roundMode, cursor.roundID, cursor.nextLink, cursor.roundPages, cursor.pendingDeltaLink) = (mode, roundID, nil, 0, nil)
        cursor.selectedProperties = selection
        state.withLock { state in
            state.cursor = cursor
            if mode == .full { (state.seen, state.removed) = ([], []) }
        }
    }

    public func applyPages(_ plan: PagePlan, count: Int, nextLink: String, mode: RoundMode, roundID: Int64?) async throws -> PageWriteResult {
        var cursor = try await cursor()
        cursor.nextLink = nextLink
        cursor.roundPages += count
        return state.withLock { state in
            state.cursor = cursor
            return Self.record(plan, in: &state)
        }
    }

    public func completeRound(lastPages plan: PagePlan, count: Int, deltaLink: String, mode: RoundMode, roundID: Int64?,
                              guard deletionGuard: DeletionGuard) async throws -> (PageWriteResult, RoundCompletion) {
        let written = state.withLock { Self.record(plan, in: &$0) }
        let live = try await reading.liveObjectIDs()
        let (seen, removed) = state.withLock { ($0.seen, $0.removed) }
        var deletions = removed.intersection(live)
        if mode == .full { deletions.formUnion(live.subtracting(seen)) }
        let completion = try await resolve(deletions: deletions.count, deltaLink: deltaLink, guard: deletionGuard)
        return (written, completion)
    }

    public func resolveHalted(guard deletionGuard: DeletionGuard) async throws -> RoundCompletion {
        let cursor = try await cursor()
        guard let deltaLink = cursor.pendingDeltaLink else { return .completed(objectsDeleted: 0, membershipsSwept: 0) }
        return try await resolve(deletions: try await reading.stagedDeletionCount(), deltaLink: deltaLink, guard: deletionGuard)
    }

    public func liveObjectIDs() async throws -> Set<UUID> { try await reading.liveObjectIDs() }

    public func liveObjectCount() async throws -> Int { try await reading.liveObjectCount() }

    public func stagedDeletionCount() async throws -> Int { try await reading.stagedDeletionCount() }

    /// What the real store would decide at a round's end: hold the deltaLink back when halted, store it otherwise.
    private func resolve(deletions: Int, deltaLink: String, guard deletionGuard: DeletionGuard) async throws -> RoundCompletion {
        let tenantObjects = try await reading.liveObjectCount()
        var cursor = try await cursor()
        let completion: RoundCompletion
        if let verdict = deletionGuard.check(deletions: deletions, tenantObjects: tenantObjects) {
            cursor.pendingDeltaLink = deltaLink
            completion = .halted(verdict)
        } else {
            (cursor.deltaLink, cursor.deltaLinkAt, cursor.pendingDeltaLink) = (deltaLink, time.now(), nil)
            (cursor.roundMode, cursor.roundID, cursor.nextLink, cursor.roundPages) = (nil, nil, nil, 0)
            completion = .completed(objectsDeleted: deletions, membershipsSwept: 0)
        }
        state.withLock { $0.cursor = cursor }
        return completion
    }

    /// Counts a plan as the real store would write it (every upsert and membership change, as Graph reported them).
    private static func record(_ plan: PagePlan, in state: inout State) -> PageWriteResult {
        for object in plan.objects {
            state.seen.insert(object.id)
            state.removed.remove(object.id)
        }
        for removal in plan.removals {
            state.seen.insert(removal.id)
            state.removed.insert(removal.id)
        }
        return PageWriteResult(objectsUpserted: plan.objects.count, membershipsAdded: plan.membershipAdditions.count,
                               membershipsRemoved: plan.membershipRemovals.count)
    }
}
