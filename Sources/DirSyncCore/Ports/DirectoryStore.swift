import Foundation

/// The kind of delta round.
public enum RoundMode: String, Sendable, Equatable, CaseIterable {
    /// Starts without a token and lists every current object; ends with a sweep of what it did not see.
    case full
    /// Starts from the stored deltaLink and carries only changes.
    case incremental
}

/// Where one resource's delta rounds stand for one tenant, as stored with the data.
public struct SyncCursor: Sendable, Equatable {
    /// The deltaLink of the last completed round.
    public var deltaLink: String?
    /// When that deltaLink was received.
    public var deltaLinkAt: Date?
    /// The round in progress, if any.
    public var roundMode: RoundMode?
    /// The resume point of the round in progress: the nextLink of its last committed page.
    public var nextLink: String?
    /// The id stamped on rows seen by the full round in progress.
    public var roundID: Int64?
    /// Pages committed in the round in progress.
    public var roundPages: Int
    /// A completed round's deltaLink held back because the deletion guard halted its deletions.
    public var pendingDeltaLink: String?
    /// The properties (``FieldTable/selectedProperties``) the newest stored link was made with: the
    /// round in progress's, else the deltaLink's; `nil` when not recorded.
    public var selectedProperties: [String]?
    /// The full round in progress can no longer be resumed: the store lost what it had seen (the
    /// database restarted), so it must start over.
    public var roundLost = false

    public init(
        deltaLink: String? = nil, deltaLinkAt: Date? = nil, roundMode: RoundMode? = nil, nextLink: String? = nil,
        roundID: Int64? = nil, roundPages: Int = 0, pendingDeltaLink: String? = nil, selectedProperties: [String]? = nil
    ) {
        self.selectedProperties = selectedProperties
        self.deltaLink = deltaLink
        self.deltaLinkAt = deltaLinkAt
        self.roundMode = roundMode
        self.nextLink = nextLink
        self.roundID = roundID
        self.roundPages = roundPages
        self.pendingDeltaLink = pendingDeltaLink
    }
}

/// What writing one page changed.
public struct PageWriteResult: Sendable, Equatable {
    /// Objects inserted or changed.
    public var objectsUpserted = 0
    public var membershipsAdded = 0
    public var membershipsRemoved = 0
    /// Rows (objects and memberships) COPYed straight into the tables rather than merged.
    public var rowsCopied = 0
    /// Merge statements run for objects.
    public var objectMerges = 0

    public init(objectsUpserted: Int = 0, membershipsAdded: Int = 0, membershipsRemoved: Int = 0, rowsCopied: Int = 0, objectMerges: Int = 0) {
        self.objectsUpserted = objectsUpserted
        self.membershipsAdded = membershipsAdded
        self.membershipsRemoved = membershipsRemoved
        self.rowsCopied = rowsCopied
        self.objectMerges = objectMerges
    }

    public static func += (lhs: inout PageWriteResult, rhs: PageWriteResult) {
        lhs.objectsUpserted += rhs.objectsUpserted
        lhs.membershipsAdded += rhs.membershipsAdded
        lhs.membershipsRemoved += rhs.membershipsRemoved
        lhs.rowsCopied += rhs.rowsCopied
        lhs.objectMerges += rhs.objectMerges
    }
}

/// How a round's staged deletions were resolved at its end.
public enum RoundCompletion: Sendable, Equatable {
    /// The deletions were applied and the deltaLink stored.
    case completed(objectsDeleted: Int, membershipsSwept: Int)
    /// More deletions than the guard allows: none applied, the deltaLink held back.
    case halted(DeletionGuard.Verdict)
}

/// Storage for the rounds of one resource of one tenant, on a session of its own.
///
/// Every method that writes does so in one transaction, so a process killed at any instant leaves
/// the tables and the cursor consistent: the round resumes after the last committed page.
public protocol RoundStore: Sendable {
    /// The stored cursor (empty before the first round). Reads only.
    func cursor() async throws -> SyncCursor
    /// Starts this run's live progress for the resource (`expectedTotal`: objects a full round
    /// expects; `note`: why the round is not the usual one, shown while it runs).
    func beginProgress(expectedTotal: Int?, note: String?) async throws
    /// Records how many objects the running full round expects, once Graph's count arrived.
    func recordExpectedTotal(_ total: Int) async throws
    /// Records that a round starts, reading the properties `selection`. A full round also discards
    /// deletions staged by an unfinished earlier round, because its sweep recomputes them.
    func startRound(mode: RoundMode, roundID: Int64?, selection: [String]) async throws
    /// Applies the plan of `count` consecutive pages, none of them the round's last, and stores
    /// `nextLink` (the last page's) as the resume point.
    func applyPages(_ plan: PagePlan, count: Int, nextLink: String, mode: RoundMode, roundID: Int64?) async throws -> PageWriteResult
    /// Applies the plan of the round's last `count` pages, sweeps (full rounds), and resolves staged
    /// deletions with the deletion guard; stores `deltaLink` unless halted.
    func completeRound(lastPages plan: PagePlan, count: Int, deltaLink: String, mode: RoundMode, roundID: Int64?, guard: DeletionGuard) async throws
        -> (PageWriteResult, RoundCompletion)
    /// Resolves a round halted earlier: applies its staged deletions and stores its deltaLink if the
    /// guard now allows them.
    func resolveHalted(guard: DeletionGuard) async throws -> RoundCompletion
    /// Ids of the tenant's live objects of this resource (for dry runs, which write nothing).
    func liveObjectIDs() async throws -> Set<UUID>
    /// Live objects of the tenant, every type together (the base of the deletion guard).
    func liveObjectCount() async throws -> Int
    /// Staged deletions of live objects of this resource (what a halted round holds back). Reads only.
    func stagedDeletionCount() async throws -> Int
}
