import Foundation
import Logging
import Synchronization

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
    /// Staged deletions (dry runs: what a real run would delete).
    public var deletionsPlanned = 0
    public var diagnostics: [Diagnostic] = []
    /// Objects a full round expects (from `/$count`), for percent and ETA; `nil` for incremental rounds.
    public var expectedTotal: Int?
    /// Objects seen so far (upserts and removals as pages reported them).
    public var objectsSeen = 0
    /// `nil` while running; set when the round ended.
    public var completion: RoundCompletion?

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
        if later.mode == .full { mode = .full }
    }

    /// Whether the deletion guard halted the round.
    public var haltedVerdict: DeletionGuard.Verdict? {
        if case .halted(let verdict) = completion { return verdict }
        return nil
    }
}

/// Runs delta rounds of one resource for one tenant: decides how to start, pages through Graph
/// while writing the pages in order, each page whole in one transaction, and resolves the round at its end.
///
/// Pages are fetched while earlier ones are written, so network latency and database time overlap;
/// when the database is the slower side, the pages already fetched are written together in one
/// transaction. Cancellation is honoured between transactions: the one being written commits or
/// rolls back whole, and the stored cursor lets the next run continue from its last page.
public struct RoundRunner: Sendable {
    public let resource: DirectoryResource
    let source: any DeltaSource
    let store: any RoundStore
    let time: any TimeSource
    let logger: Logger

    public init(resource: DirectoryResource, source: any DeltaSource, store: any RoundStore, time: any TimeSource, logger: Logger) {
        self.resource = resource
        self.source = source
        self.store = store
        self.time = time
        self.logger = logger
    }

    /// Runs the round to its end (or to a halt).
    ///
    /// A round resumed from an earlier run, or released after a halt, only brings the tables up to
    /// the moment that round *started*; such a round is followed at once by an incremental round
    /// from its new deltaLink, so a finished run is always current as of the run.
    /// - Parameter progress: called after every committed page with the report so far.
    public func run(_ options: RoundOptions, progress: @Sendable (RoundReport) -> Void = { _ in }) async throws -> RoundReport {
        let cursor = try await store.cursor()
        if options.dryRun { return try await dryRun(cursor: cursor, options: options, progress: progress) }
        var report = try await firstRound(cursor: cursor, options: options, progress: progress)
        if report.start == .resumed || report.start == .haltedRelease, case .completed = report.completion {
            let caughtUp = try await firstRound(cursor: try await store.cursor(), options: options, progress: progress)
            report.absorb(caughtUp)
        }
        return report
    }

    private func firstRound(cursor: SyncCursor, options: RoundOptions, progress: @Sendable (RoundReport) -> Void) async throws -> RoundReport {
        if cursor.pendingDeltaLink != nil, !options.forceFull {
            var report = RoundReport(resource: resource, start: .haltedRelease, mode: cursor.roundMode ?? .incremental)
            report.completion = try await store.resolveHalted(guard: options.deletionGuard)
            switch report.completion {
            case .completed(let deleted, let swept)?:
                report.objectsDeleted = deleted
                report.membershipsSwept = swept
            case .halted(let verdict)?:
                report.deletionsPlanned = verdict.deletions
            case nil:
                break
            }
            return report
        }

        // Decide where to start.
        var start: RoundStart
        var mode: RoundMode
        var roundID: Int64?
        var link: String
        if !options.forceFull, let mode0 = cursor.roundMode, let next = cursor.nextLink {
            (start, mode, roundID, link) = (.resumed, mode0, cursor.roundID, next)
        } else if !options.forceFull, let deltaLink = cursor.deltaLink, let at = cursor.deltaLinkAt,
                  time.now().timeIntervalSince(at) < options.deltaLinkLifetime {
            (start, mode, roundID, link) = (.incremental, .incremental, nil, deltaLink)
            try await store.startRound(mode: .incremental, roundID: nil)
        } else {
            start = cursor.deltaLink == nil || options.forceFull ? .full : .resync
            if start == .resync {
                logger.notice("stored delta state is too old; starting a full round", metadata: ["resource": "\(resource)"])
            }
            (mode, roundID, link) = (.full, newRoundID(), source.initialDeltaURL(resource))
            try await store.startRound(mode: .full, roundID: roundID)
        }
        // A full round's object count only feeds progress and ETA: ask for it alongside the first
        // pages instead of spending a round trip before them.
        var counter = mode == .full ? ObjectCounter(source: source, resource: resource) : nil
        defer { counter?.cancel() }
        try await store.beginProgress(expectedTotal: nil)

        var report = RoundReport(resource: resource, start: start, mode: mode)
        var resynced = false
        while true {
            do {
                try await page(from: link, mode: mode, roundID: roundID, options: options, counter: counter, report: &report, progress: progress)
                return report
            } catch let error as GraphError where error.code == .resyncRequired && !resynced {
                // Graph dropped the delta state (410 / syncStateNotFound): say so and start over with a
                // full round whose sweep catches deletions made while no state existed.
                resynced = true
                logger.warning("Graph requires a full resync", metadata: ["resource": "\(resource)", "reason": "\(error.code)"])
                (mode, roundID, link) = (.full, newRoundID(), source.initialDeltaURL(resource))
                try await store.startRound(mode: .full, roundID: roundID)
                counter?.cancel()
                counter = ObjectCounter(source: source, resource: resource)
                try await store.beginProgress(expectedTotal: nil)
                var restarted = RoundReport(resource: resource, start: .resync, mode: .full)
                restarted.absorb(report)
                restarted.expectedTotal = nil
                report = restarted
            }
        }
    }

    /// Pages from `link` to the end of the round.
    ///
    /// Pages are fetched ahead (see ``PagePrefetcher``) and written in order; the pages that are
    /// already waiting when the writer is free go into one transaction, planned together as if Graph
    /// had sent them as one page, and the last one's link becomes the resume point.
    private func page(from link: String, mode: RoundMode, roundID: Int64?, options: RoundOptions, counter: ObjectCounter?,
                      report: inout RoundReport, progress: @Sendable (RoundReport) -> Void) async throws {
        var roundGuard = DeltaRoundGuard()
        try roundGuard.visit(link)
        let prefetcher = PagePrefetcher(source: source, resource: resource, link: link, roundGuard: roundGuard,
                                        maxPages: options.maxPagesPerTransaction, maxBytes: options.maxBytesPerTransaction)
        defer { prefetcher.cancel() }
        while true {
            var batch = try await withTaskCancellationHandler {
                try await prefetcher.take()
            } onCancel: {
                prefetcher.cancel()
            }
            // The prefetcher hands out nothing after the round's last page, which ends this loop.
            guard let last = batch.last else { throw CancellationError() }
            let (continuation, requestID, pageCount) = (last.page.continuation, last.info.requestID, batch.count)
            for fetched in batch {
                report.pages += 1
                report.requests += fetched.info.attempt
                report.diagnostics += fetched.page.diagnostics
                for diagnostic in fetched.page.diagnostics {
                    logger.warning("skipped part of a Graph page", metadata: ["resource": "\(resource)", "diagnostic": "\(diagnostic.code)", "detail": "\(diagnostic.message)"])
                }
            }
            let plan = Self.plan(batch.map(\.page))
            // The plan carries what is written; let the decoded pages go before the write.
            batch = []
            report.objectsSeen += plan.objectCount
            if report.expectedTotal == nil, let total = counter?.result {
                report.expectedTotal = total
                try await store.recordExpectedTotal(total)
            }
            switch continuation {
            case .next(let next):
                report.written += try await store.applyPages(plan, count: pageCount, nextLink: next, mode: mode, roundID: roundID)
                report.transactions += 1
                logger.debug("pages applied", metadata: ["resource": "\(resource)", "pages": "\(report.pages)", "batch.pages": "\(pageCount)",
                                                         "batch.items": "\(plan.objectCount)", "request_id": "\(requestID ?? "-")"])
                progress(report)
                // Stop between transactions when asked to: the cursor already points at `next`.
                try Task.checkCancellation()
            case .delta(let deltaLink):
                let (written, completion) = try await store.completeRound(lastPages: plan, count: pageCount, deltaLink: deltaLink, mode: mode,
                                                                          roundID: roundID, guard: options.deletionGuard)
                report.written += written
                report.transactions += 1
                report.completion = completion
                switch completion {
                case .completed(let deleted, let swept):
                    report.objectsDeleted = deleted
                    report.membershipsSwept = swept
                case .halted(let verdict):
                    report.deletionsPlanned = verdict.deletions
                    logger.error("deletion guard halted the round", metadata: ["resource": "\(resource)", "deletions": "\(verdict.deletions)", "limit": "\(verdict.limit)"])
                }
                progress(report)
                return
            }
        }
    }

    /// Fetches a whole round and reports what it would change, writing nothing and moving no cursor.
    private func dryRun(cursor: SyncCursor, options: RoundOptions, progress: @Sendable (RoundReport) -> Void) async throws -> RoundReport {
        let usable = cursor.deltaLink.flatMap { link in
            cursor.deltaLinkAt.map { time.now().timeIntervalSince($0) < options.deltaLinkLifetime ? link : nil } ?? nil
        }
        let incremental = !options.forceFull ? usable : nil
        var link = incremental ?? source.initialDeltaURL(resource)
        var report = RoundReport(resource: resource, start: incremental == nil ? (cursor.deltaLink == nil || options.forceFull ? .full : .resync) : .incremental,
                                 mode: incremental == nil ? .full : .incremental)
        var roundGuard = DeltaRoundGuard()
        var seen = Set<UUID>()
        var removed = Set<UUID>()
        while true {
            try roundGuard.visit(link)
            let (page, info) = try await source.fetchDeltaPage(resource: resource, link: link)
            report.pages += 1
            report.requests += info.attempt
            report.diagnostics += page.diagnostics
            let plan = Self.plan([page])
            report.written.objectsUpserted += plan.users.count + plan.groups.count
            report.written.membershipsAdded += plan.membershipAdditions.count
            report.written.membershipsRemoved += plan.membershipRemovals.count
            for user in plan.users { seen.insert(user.id); removed.remove(user.id) }
            for group in plan.groups { seen.insert(group.id); removed.remove(group.id) }
            for removal in plan.removals { removed.insert(removal.id); seen.insert(removal.id) }
            progress(report)
            switch page.continuation {
            case .next(let next): link = next
            case .delta:
                let live = try await store.liveObjectIDs()
                var deletions = removed.intersection(live)
                if report.mode == .full { deletions.formUnion(live.subtracting(seen)) }
                report.deletionsPlanned = deletions.count
                let tenantObjects = try await store.liveObjectCount()
                if let verdict = options.deletionGuard.check(deletions: deletions.count, tenantObjects: tenantObjects) {
                    report.completion = .halted(verdict)
                } else {
                    report.completion = .completed(objectsDeleted: deletions.count, membershipsSwept: 0)
                }
                return report
            }
        }
    }

    private func newRoundID() -> Int64 {
        // Unique per (tenant, resource) because only the holder of the tenant lock starts rounds.
        Int64(time.now().timeIntervalSince1970 * 1_000_000)
    }

    static func plan(_ pages: [AnyDeltaPage]) -> PagePlan {
        NoProfiler().measure(.plan) { DeltaPlanner.plan(pages: pages) }
    }
}

/// Asks Graph for a resource's object count in the background; the round reads the result when it
/// is there. A failed count only means no percent or ETA.
final class ObjectCounter: Sendable {
    private final class Slot: Sendable {
        let value = Mutex<Int?>(nil)
    }

    private let slot: Slot
    private let task: Task<Void, Never>

    init(source: any DeltaSource, resource: DirectoryResource) {
        let slot = Slot()
        self.slot = slot
        task = Task {
            if let count = try? await source.count(resource) { slot.value.withLock { $0 = count } }
        }
    }

    /// The count, once Graph answered.
    var result: Int? { slot.value.withLock { $0 } }

    func cancel() { task.cancel() }
}
