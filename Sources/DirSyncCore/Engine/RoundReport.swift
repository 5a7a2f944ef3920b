import Foundation

/// What a run asks of one resource's round.
public struct RoundOptions: Sendable, Equatable {
    /// Start a new full round even if a deltaLink is stored (`run --full`).
    public var forceFull = false
    /// Fetch and plan, write nothing (`run --dry-run`).
    public var dryRun = false
    /// Decides whether the round's deletions may be applied.
    public var deletionGuard = DeletionGuard()
    /// A stored deltaLink older than this is treated as expired (Graph keeps delta state about 7 days).
    public var deltaLinkLifetime: TimeInterval = 7 * 24 * 3600
    /// The id that identifies this run (stamped on the rows a new full round sees).
    public var runID: Int64 = 0
    /// At most this many fetched pages are written in one transaction (and fetched ahead of the writer).
    public var maxPagesPerTransaction = 16
    /// Pages are added to a transaction while Graph's responses for them stay within this many bytes
    /// (and no more are fetched ahead), which bounds memory whatever the tenant's size.
    public var maxBytesPerTransaction = 256 * 1024
    /// How a tenant's first sync reads the directory (`run --first-load`).
    public var firstLoad = FirstLoadSetting.auto
    /// A parallel first load waits this long after taking its links before listing (replication).
    public var firstLoadWait: TimeInterval = 120
    /// The rounds continue a parallel first load from the links it took (their progress says so).
    public var catchingUp = false

    public init(forceFull: Bool = false, dryRun: Bool = false, deletionGuard: DeletionGuard = DeletionGuard(),
                deltaLinkLifetime: TimeInterval = 7 * 24 * 3600, runID: Int64 = 0) {
        self.forceFull = forceFull
        self.dryRun = dryRun
        self.deletionGuard = deletionGuard
        self.deltaLinkLifetime = deltaLinkLifetime
        self.runID = runID
    }
}

/// How a round started.
public enum RoundStart: String, Sendable, Equatable {
    /// A full round: first sync, `--full`, or no usable deltaLink.
    case full
    /// From the stored deltaLink.
    case incremental
    /// A full round because Graph said the delta state is gone (410 / syncStateNotFound) or it aged out.
    case resync
    /// Continuing a round an earlier run left unfinished, from its last committed page.
    case resumed
    /// Releasing a round the deletion guard halted earlier.
    case haltedRelease = "halted_release"
    /// A full round because the properties to read changed since the stored deltaLink was made
    /// (Graph bakes `$select` into it): a planned resync.
    case propertiesChanged = "properties_changed"

    /// Whether the round replaces delta state that existed (Graph's 410, age, a property change).
    public var isResync: Bool { self == .resync || self == .propertiesChanged }
}

/// What one resource's round did.
public struct RoundReport: Sendable, Equatable {
    public var resource: DirectoryResource
    public var start: RoundStart
    public var mode: RoundMode
    public var pages = 0
    /// Transactions the pages were written in (fewer than `pages` when the database was the slower side).
    public var transactions = 0
    /// HTTP requests for the round's pages, retries included.
    public var requests = 0
    public var written = PageWriteResult()
    public var objectsDeleted = 0
    public var membershipsSwept = 0
    /// Deletions the round's end resolved: applied ones, or those the guard held back (for a dry run,
    /// what a real run would delete).
    public var deletionsPlanned = 0
    public var diagnostics: [Diagnostic] = []
    /// Objects a full round expects (from `/$count`), for percent and ETA; `nil` for incremental rounds.
    public var expectedTotal: Int?
    /// Objects seen so far (upserts and removals as pages reported them).
    public var objectsSeen = 0
    /// `nil` while running; set when the round ended.
    public var completion: RoundCompletion?
    /// Why the round is not the usual one (a resync and its cause), for the log, the run record and status.
    public var note: String?
    /// The most objects one page carried (the page size Graph granted).
    public var largestPage = 0

    public init(resource: DirectoryResource, start: RoundStart, mode: RoundMode) {
        self.resource = resource
        self.start = start
        self.mode = mode
    }

    /// Adds the counts of a round that ran in the same run; the later round's outcome wins.
    public mutating func absorb(_ later: RoundReport) {
        pages += later.pages
        transactions += later.transactions
        requests += later.requests
        written += later.written
        objectsDeleted += later.objectsDeleted
        membershipsSwept += later.membershipsSwept
        objectsSeen += later.objectsSeen
        deletionsPlanned = later.deletionsPlanned
        diagnostics += later.diagnostics
        if later.completion != nil { completion = later.completion }
        note = note ?? later.note
        largestPage = max(largestPage, later.largestPage)
        if later.mode == .full { mode = .full }
    }

    /// Whether the deletion guard halted the round.
    public var haltedVerdict: DeletionGuard.Verdict? {
        if case .halted(let verdict) = completion { return verdict }
        return nil
    }
}
