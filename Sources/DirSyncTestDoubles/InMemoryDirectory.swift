import DirSyncCore
import Foundation
import Synchronization

/// The `directory` tables and the engine's bookkeeping held in memory: a ``DirSyncCore/SyncLedger``
/// and ``DirSyncCore/RoundStore``s with the PostgreSQL store's semantics (absent leaves a column as
/// it is, explicit null clears it; removals staged and applied at the round's end under the
/// deletion guard; full rounds sweep what they did not see; a deleted group loses its memberships;
/// every write all-or-nothing). It lets the engine's executors run in unit tests without PostgreSQL,
/// and can fail a chosen write to stand for a process killed mid-round.
package final class InMemoryDirectory: SyncLedger {
    /// One stored object row.
    package struct Row: Sendable, Equatable {
        /// Column values by field index; `nil` is NULL.
        package var values: [FieldValue?]
        package var deletedReason: DeletionReason?
        package var syncRound: Int64?
    }

    /// One stored membership.
    package struct Membership: Sendable, Hashable {
        package var groupID: UUID
        package var memberID: UUID
    }

    /// A run record.
    package struct RunRecord: Sendable, Equatable {
        package var mode: RunMode
        package var result: TenantSyncResult?
    }

    package struct State: Sendable {
        package var objects: [DirectoryResource: [UUID: Row]] = [:]
        package var memberships: [Membership: (type: MemberType, round: Int64?)] = [:]
        package var cursors: [DirectoryResource: SyncCursor] = [:]
        package var pendingDeletions: [DirectoryResource: [UUID: DeletionReason]] = [:]
        package var runs: [Int64: RunRecord] = [:]
        package var verifications: [String: Bool] = [:]
        package var tenantDomains: [GraphDomain] = []
        package var locked = false
        /// The note each round's live progress began with, per resource, in order.
        package var progressNotes: [DirectoryResource: [String?]] = [:]
        /// Write transactions committed (each store call that writes is one).
        package var commits = 0
        /// The write transaction that fails (counted from 1), standing for a crash before it commits.
        package var failingCommit: Int?
    }

    /// Raised by the write chosen to fail.
    package struct Crash: Error, Equatable {}

    package let schema: DirectorySchema
    fileprivate let state = Mutex(State())
    private let clock: any TimeSource
    /// Whether another run holds the tenant's lock.
    package let lockedElsewhere: Bool

    package init(schema: DirectorySchema = .standard, clock: any TimeSource, lockedElsewhere: Bool = false) {
        self.schema = schema
        self.clock = clock
        self.lockedElsewhere = lockedElsewhere
    }

    /// A copy of everything stored.
    package var snapshot: State { state.withLock { $0 } }

    /// Makes write transaction number `commits + n` fail (1: the next one).
    package func crash(inWrite n: Int) {
        state.withLock { $0.failingCommit = $0.commits + n }
    }

    /// Live objects of `resource`, as (id → values).
    package func live(_ resource: DirectoryResource) -> [UUID: [FieldValue?]] {
        state.withLock { $0.objects[resource, default: [:]].filter { $0.value.deletedReason == nil }.mapValues(\.values) }
    }

    /// Current memberships.
    package var currentMemberships: Set<Membership> { state.withLock { Set($0.memberships.keys) } }

    // MARK: - SyncLedger

    package func tryLockTenant(_ tenantID: UUID) async throws -> Bool {
        guard !lockedElsewhere else { return false }
        return state.withLock { state in
            if state.locked { return false }
            state.locked = true
            return true
        }
    }

    package func unlockTenant(_ tenantID: UUID) async throws { state.withLock { $0.locked = false } }

    package func markAbandonedRuns(tenantID: UUID) async throws -> Int {
        state.withLock { state in
            let running = state.runs.filter { $0.value.result == nil }.map(\.key)
            for id in running { state.runs[id]!.result = TenantSyncResult(tenantID: tenantID, domains: [], state: .interrupted, mode: state.runs[id]!.mode,
                                                                          dryRun: false, startedAt: Date(timeIntervalSince1970: 0), finishedAt: Date(timeIntervalSince1970: 0)) }
            return running.count
        }
    }

    package func startRun(tenantID: UUID, mode: RunMode) async throws -> Int64 {
        state.withLock { state in
            let id = Int64(state.runs.count + 1)
            state.runs[id] = RunRecord(mode: mode)
            return id
        }
    }

    package func finishRun(_ runID: Int64, result: TenantSyncResult) async throws {
        state.withLock { $0.runs[runID]?.result = result }
    }

    package func storeTenantDomains(tenantID: UUID, domains: [GraphDomain]) async throws {
        try write { $0.tenantDomains = domains }
    }

    package func recordVerification(domain: String, verified: Bool, problem: String?) async throws {
        state.withLock { $0.verifications[domain] = verified }
    }

    package func storedCursors(tenantID: UUID) async throws -> [DirectoryResource: SyncCursor]? {
        let stored = state.withLock { $0.cursors }
        return Dictionary(uniqueKeysWithValues: DirectoryResource.allCases.map { ($0, stored[$0] ?? SyncCursor()) })
    }

    package func withRoundStore<T: Sendable>(tenantID: UUID, resource: DirectoryResource, runID: Int64?,
                                             _ body: (any RoundStore) async throws -> T) async throws -> T {
        try await body(Store(directory: self, resource: resource, table: schema[resource]))
    }

    /// Runs one write transaction: all of `body` or nothing.
    fileprivate func write<T>(_ body: (inout State) throws -> T) throws -> T {
        try state.withLock { state in
            if let failing = state.failingCommit, state.commits + 1 >= failing {
                state.failingCommit = nil
                throw Crash()
            }
            var copy = state
            let value = try body(&copy)
            copy.commits += 1
            state = copy
            return value
        }
    }

    fileprivate func read<T>(_ body: (State) -> T) -> T { state.withLock { body($0) } }

    fileprivate var now: Date { clock.now() }

    /// A round store of one resource.
    private struct Store: RoundStore {
        let directory: InMemoryDirectory
        let resource: DirectoryResource
        let table: FieldTable

        func cursor() async throws -> SyncCursor { directory.read { $0.cursors[resource] ?? SyncCursor() } }

        func beginProgress(expectedTotal: Int?, note: String?) async throws {
            directory.state.withLock { $0.progressNotes[resource, default: []].append(note) }
        }

        func recordExpectedTotal(_ total: Int) async throws {}

        func startRound(mode: RoundMode, roundID: Int64?, selection: [String]) async throws {
            try directory.write { state in
                if mode == .full { state.pendingDeletions[resource] = [:] }
                var cursor = state.cursors[resource] ?? SyncCursor()
                (cursor.roundMode, cursor.roundID, cursor.nextLink, cursor.roundPages, cursor.pendingDeltaLink) = (mode, roundID, nil, 0, nil)
                cursor.selectedProperties = selection
                state.cursors[resource] = cursor
            }
        }

        func applyPages(_ plan: PagePlan, count: Int, nextLink: String, mode: RoundMode, roundID: Int64?) async throws -> PageWriteResult {
            try directory.write { state in
                let result = Self.apply(plan, mode: mode, roundID: roundID, resource: resource, to: &state)
                state.cursors[resource]!.nextLink = nextLink
                state.cursors[resource]!.roundPages += count
                return result
            }
        }

        func completeRound(lastPages plan: PagePlan, count: Int, deltaLink: String, mode: RoundMode, roundID: Int64?,
                           guard deletionGuard: DeletionGuard) async throws -> (PageWriteResult, RoundCompletion) {
            let now = directory.now
            return try directory.write { state in
                let result = Self.apply(plan, mode: mode, roundID: roundID, resource: resource, to: &state)
                if mode == .full, let roundID {
                    for (id, row) in state.objects[resource, default: [:]] where row.deletedReason == nil && row.syncRound != roundID {
                        if state.pendingDeletions[resource, default: [:]][id] == nil { state.pendingDeletions[resource, default: [:]][id] = .notInFullSync }
                    }
                }
                state.cursors[resource]!.pendingDeltaLink = deltaLink
                state.cursors[resource]!.nextLink = nil
                state.cursors[resource]!.roundPages += count
                return (result, Self.resolve(deletionGuard, resource: resource, readsMembers: table.readsMembers, now: now, in: &state))
            }
        }

        func resolveHalted(guard deletionGuard: DeletionGuard) async throws -> RoundCompletion {
            let now = directory.now
            return try directory.write { Self.resolve(deletionGuard, resource: resource, readsMembers: table.readsMembers, now: now, in: &$0) }
        }

        func liveObjectIDs() async throws -> Set<UUID> {
            directory.read { Set($0.objects[resource, default: [:]].filter { $0.value.deletedReason == nil }.keys) }
        }

        func liveObjectCount() async throws -> Int { directory.read(Self.liveCount) }

        func stagedDeletionCount() async throws -> Int { directory.read { Self.staged(resource, $0) } }

        private static func liveCount(_ state: State) -> Int {
            state.objects.values.reduce(0) { $0 + $1.values.count { $0.deletedReason == nil } }
        }

        private static func staged(_ resource: DirectoryResource, _ state: State) -> Int {
            state.pendingDeletions[resource, default: [:]].keys.count { state.objects[resource]?[$0]?.deletedReason == nil && state.objects[resource]?[$0] != nil }
        }

        private static func apply(_ plan: PagePlan, mode: RoundMode, roundID: Int64?, resource: DirectoryResource, to state: inout State) -> PageWriteResult {
            var result = PageWriteResult()
            let stamp = mode == .full ? roundID : nil
            for object in plan.objects {
                var row = state.objects[resource, default: [:]][object.id] ?? Row(values: Array(repeating: nil, count: object.values.count))
                let before = row
                let table = DirectorySchema.standard[resource]
                for (index, patch) in object.values.enumerated() {
                    switch patch {
                    case .absent:
                        if stamp != nil, index < table.contractFieldCount, table.fields[index].kind.absentInFullRoundMeansNone { row.values[index] = nil }
                    case .null: row.values[index] = nil
                    case .value(let value): row.values[index] = value
                    }
                }
                row.deletedReason = nil
                if let stamp { row.syncRound = stamp }
                if row != before || state.objects[resource, default: [:]][object.id] == nil { result.objectsUpserted += 1 }
                state.objects[resource, default: [:]][object.id] = row
                state.pendingDeletions[resource, default: [:]][object.id] = nil
            }
            for removal in plan.removals { state.pendingDeletions[resource, default: [:]][removal.id] = removal.reason }
            for removal in plan.membershipRemovals {
                if state.memberships.removeValue(forKey: Membership(groupID: removal.groupID, memberID: removal.memberID)) != nil { result.membershipsRemoved += 1 }
            }
            for addition in plan.membershipAdditions {
                let key = Membership(groupID: addition.groupID, memberID: addition.memberID)
                if state.memberships[key] == nil { result.membershipsAdded += 1 }
                state.memberships[key] = (addition.memberType, stamp ?? state.memberships[key]?.round)
            }
            return result
        }

        private static func resolve(_ deletionGuard: DeletionGuard, resource: DirectoryResource, readsMembers: Bool, now: Date,
                                    in state: inout State) -> RoundCompletion {
            guard let deltaLink = state.cursors[resource]?.pendingDeltaLink else { return .completed(objectsDeleted: 0, membershipsSwept: 0) }
            if let verdict = deletionGuard.check(deletions: staged(resource, state), tenantObjects: liveCount(state)) { return .halted(verdict) }
            var deleted = 0
            for (id, reason) in state.pendingDeletions[resource, default: [:]] {
                guard var row = state.objects[resource]?[id], row.deletedReason != reason else { continue }
                row.deletedReason = reason
                state.objects[resource]![id] = row
                deleted += 1
            }
            var swept = 0
            if readsMembers {
                let removedGroups = Set(state.pendingDeletions[resource, default: [:]].keys)
                let round = state.cursors[resource]!.roundMode == .full ? state.cursors[resource]!.roundID : nil
                for (key, value) in state.memberships where removedGroups.contains(key.groupID) || (round != nil && value.round != round) {
                    state.memberships[key] = nil
                    swept += 1
                }
            }
            state.pendingDeletions[resource] = [:]
            var cursor = state.cursors[resource]!
            (cursor.deltaLink, cursor.deltaLinkAt, cursor.pendingDeltaLink) = (deltaLink, now, nil)
            (cursor.roundMode, cursor.roundID, cursor.nextLink, cursor.roundPages) = (nil, nil, nil, 0)
            state.cursors[resource] = cursor
            return .completed(objectsDeleted: deleted, membershipsSwept: swept)
        }
    }
}
