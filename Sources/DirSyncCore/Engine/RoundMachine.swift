import Foundation

/// The decisions of one resource's delta rounds in a run, as a value: how to start (incremental,
/// full, resync after 7 days, resume an unfinished round, release a halted one), what to do with each
/// batch of fetched pages (write it with its resume point, or complete the round), what a failure
/// means (Graph's 410 restarts the round once as a full round), and whether a catch-up round follows
/// (a resumed or released round only brings the tables up to the moment it started).
///
/// It performs nothing: each event returns the next ``Action``, which ``RoundRunner`` carries out
/// against the store and the delta source (or, for a dry run, against a store that writes nothing)
/// and reports back. Tests drive it through every transition with no database, network or clock.
public struct RoundMachine: Sendable {
    /// What to do next.
    public enum Action: Sendable, Equatable {
        /// Resolve the deletions a round halted by the guard left staged; report with ``haltedResolved(_:)``.
        case resolveHalted(DeletionGuard)
        /// Record that a round starts with the properties `selection` (a full one discards deletions
        /// staged by an unfinished earlier one); `note` says why, for the log, when it is not the usual
        /// start. Report with ``roundStarted()``.
        case startRound(mode: RoundMode, roundID: Int64?, note: String?, selection: [String])
        /// Begin this run's live progress for the resource, showing `note` (why the round is not the
        /// usual one) while it runs; report with ``progressBegun()``.
        case beginProgress(note: String?)
        /// Start fetching pages at `link` (and ask Graph for the object count when `countObjects`),
        /// then take the first batch; report with ``received(_:requests:countedTotal:)`` or ``failed(_:now:)``.
        case fetch(link: String, countObjects: Bool)
        /// Take the next batch of fetched pages; report as for ``fetch(link:countObjects:)``.
        case takePages
        /// Record the object count Graph reported; report with ``expectedTotalRecorded()``.
        case recordExpectedTotal(Int)
        /// Write the plan of `pages` consecutive pages, none of them the round's last, with `nextLink`
        /// as the resume point; report with ``applied(_:)``.
        case apply(PagePlan, pages: Int, nextLink: String, mode: RoundMode, roundID: Int64?)
        /// Write the round's last pages, sweep (full rounds), resolve the staged deletions with the
        /// guard and store `deltaLink` unless halted; report with ``completed(_:_:)``.
        case complete(PagePlan, pages: Int, deltaLink: String, mode: RoundMode, roundID: Int64?, guard: DeletionGuard)
        /// Read the cursor again and report it with ``start(cursor:now:)``: the catch-up round starts.
        case readCursor
        /// Done: the report of the run's rounds for this resource.
        case finish(RoundReport)
        /// Stop with this error.
        case fail(FailureBox)
    }

    /// An error carried by ``Action/fail(_:)``; equal when the errors print the same.
    public struct FailureBox: Sendable, Equatable, CustomStringConvertible {
        public let error: any Error
        public init(_ error: any Error) { self.error = error }
        public static func == (lhs: Self, rhs: Self) -> Bool { String(describing: lhs.error) == String(describing: rhs.error) }
        public var description: String { String(describing: error) }
    }

    private enum State: Sendable {
        case idle, resolvingHalted, starting, beginning, paging, recordingTotal, applying, completing, readingCursor, done
    }

    public let resource: DirectoryResource
    public let options: RoundOptions
    /// The first link of a full round (the resource's delta URL with `$select`).
    public let initialLink: String
    /// The properties that link selects (``FieldTable/selectedProperties``): a stored link made with
    /// others is not continued.
    public let selection: [String]

    private var state = State.idle
    /// The round in progress.
    public private(set) var report: RoundReport?
    /// Earlier rounds of this run (a resumed or released one) that the report will absorb.
    private var earlier: RoundReport?
    private var mode = RoundMode.incremental
    private var roundID: Int64?
    private var link = ""
    /// Whether Graph's 410 already restarted the round in progress (a second one fails it).
    private var resynced = false
    /// A write waiting for the object count to be recorded first.
    private var pendingWrite: Action?

    public init(resource: DirectoryResource, options: RoundOptions, initialLink: String, selection: [String]) {
        self.resource = resource
        self.options = options
        self.initialLink = initialLink
        self.selection = selection.sorted()
    }

    /// Why a stored link cannot be continued with this run's properties, or `nil` when it can:
    /// `resync: selected properties changed (+employeeId, -department)`.
    public static func selectionChange(from stored: [String]?, to selection: [String]) -> String? {
        guard let stored else { return "resync: the stored delta state does not record which properties it reads" }
        let (before, after) = (Set(stored), Set(selection))
        guard before != after else { return nil }
        let changes = after.subtracting(before).sorted().map { "+" + $0 } + before.subtracting(after).sorted().map { "-" + $0 }
        return "resync: selected properties changed (\(changes.joined(separator: ", ")))"
    }

    /// The id a full round starting at `now` stamps on the rows it sees: unique per (tenant,
    /// resource) because only the holder of the tenant lock starts rounds.
    public static func roundID(startingAt now: Date) -> Int64 {
        Int64(now.timeIntervalSince1970 * 1_000_000)
    }

    /// Decides how the round starts from the stored cursor; also how the catch-up round starts after
    /// ``Action/readCursor``.
    public mutating func start(cursor: SyncCursor, now: Date) -> Action {
        precondition(state == .idle || state == .readingCursor, "start(cursor:now:) while \(state)")
        resynced = false
        if cursor.pendingDeltaLink != nil, !options.forceFull {
            report = RoundReport(resource: resource, start: .haltedRelease, mode: cursor.roundMode ?? .incremental)
            state = .resolvingHalted
            return .resolveHalted(options.deletionGuard)
        }
        let changed = Self.selectionChange(from: cursor.selectedProperties, to: selection)
        if cursor.roundLost {
            (mode, roundID, link) = (.full, Self.roundID(startingAt: now), initialLink)
            report = RoundReport(resource: resource, start: cursor.deltaLink == nil ? .full : .resync, mode: .full)
            let note = "the unfinished full round lost what it had seen (the database restarted); starting it again"
            report!.note = note
            state = .starting
            return .startRound(mode: .full, roundID: roundID, note: note, selection: selection)
        }
        if !options.forceFull, changed == nil, let resumedMode = cursor.roundMode, let next = cursor.nextLink {
            (mode, roundID, link) = (resumedMode, cursor.roundID, next)
            report = RoundReport(resource: resource, start: .resumed, mode: resumedMode)
            state = .beginning
            return .beginProgress(note: nil)
        }
        if !options.forceFull, changed == nil, let deltaLink = cursor.deltaLink, let at = cursor.deltaLinkAt,
           now.timeIntervalSince(at) < options.deltaLinkLifetime {
            (mode, roundID, link) = (.incremental, nil, deltaLink)
            report = RoundReport(resource: resource, start: .incremental, mode: .incremental)
            let note = options.catchingUp ? "catching up after the parallel first load" : nil
            report!.note = note
            state = .starting
            return .startRound(mode: .incremental, roundID: nil, note: note, selection: selection)
        }
        let start: RoundStart
        let note: String?
        if options.forceFull || (cursor.deltaLink == nil && cursor.nextLink == nil) {
            (start, note) = (.full, nil)
        } else if let changed {
            // A first round left unfinished with other properties restarts as a first round.
            (start, note) = (cursor.deltaLink == nil ? .full : .propertiesChanged, changed)
        } else if cursor.deltaLink == nil {
            (start, note) = (.full, nil)
        } else {
            (start, note) = (.resync, "resync: the stored delta state is older than Graph keeps it; starting a full round")
        }
        (mode, roundID, link) = (.full, Self.roundID(startingAt: now), initialLink)
        report = RoundReport(resource: resource, start: start, mode: .full)
        report!.note = note
        state = .starting
        return .startRound(mode: .full, roundID: roundID, note: note, selection: selection)
    }

    /// The halted round's deletions were resolved.
    public mutating func haltedResolved(_ completion: RoundCompletion) -> Action {
        precondition(state == .resolvingHalted, "haltedResolved while \(state)")
        report!.completion = completion
        switch completion {
        case .completed(let deleted, let swept):
            report!.objectsDeleted = deleted
            report!.membershipsSwept = swept
            report!.deletionsPlanned = deleted
            return catchUpOrFinish()
        case .halted(let verdict):
            report!.deletionsPlanned = verdict.deletions
            return finish()
        }
    }

    /// The round's start was recorded.
    public mutating func roundStarted() -> Action {
        precondition(state == .starting, "roundStarted while \(state)")
        state = .beginning
        return .beginProgress(note: report?.note)
    }

    /// Live progress began: fetch from the round's link.
    public mutating func progressBegun() -> Action {
        precondition(state == .beginning, "progressBegun while \(state)")
        state = .paging
        return .fetch(link: link, countObjects: mode == .full)
    }

    /// A batch of consecutive fetched pages arrived (at least one).
    /// - Parameters:
    ///   - pages: the pages, in order; they are planned together as one page.
    ///   - requests: HTTP requests the pages took, retries included.
    ///   - countedTotal: the object count Graph reported, once it did.
    public mutating func received(_ pages: [DeltaPage], requests: Int, countedTotal: Int?) -> Action {
        precondition(state == .paging, "received while \(state)")
        guard let last = pages.last else { return .fail(FailureBox(CancellationError())) }
        report!.pages += pages.count
        report!.requests += requests
        report!.largestPage = max(report!.largestPage, pages.map(\.objects.count).max() ?? 0)
        report!.diagnostics += pages.flatMap(\.diagnostics)
        let plan = DeltaPlanner.plan(resource, pages: pages)
        report!.objectsSeen += plan.objectCount
        let write: Action
        switch last.continuation {
        case .next(let next):
            write = .apply(plan, pages: pages.count, nextLink: next, mode: mode, roundID: roundID)
            state = .applying
        case .delta(let deltaLink):
            write = .complete(plan, pages: pages.count, deltaLink: deltaLink, mode: mode, roundID: roundID, guard: options.deletionGuard)
            state = .completing
        }
        if report!.expectedTotal == nil, let countedTotal {
            report!.expectedTotal = countedTotal
            pendingWrite = write
            state = .recordingTotal
            return .recordExpectedTotal(countedTotal)
        }
        return write
    }

    /// The object count was recorded: the batch's write follows.
    public mutating func expectedTotalRecorded() -> Action {
        precondition(state == .recordingTotal, "expectedTotalRecorded while \(state)")
        guard let write = pendingWrite else { preconditionFailure("expectedTotalRecorded without a pending write") }
        pendingWrite = nil
        if case .complete = write { state = .completing } else { state = .applying }
        return write
    }

    /// The batch was written: take the next one.
    public mutating func applied(_ result: PageWriteResult) -> Action {
        precondition(state == .applying, "applied while \(state)")
        report!.written += result
        report!.transactions += 1
        state = .paging
        return .takePages
    }

    /// The round's last pages were written and its deletions resolved.
    public mutating func completed(_ result: PageWriteResult, _ completion: RoundCompletion) -> Action {
        precondition(state == .completing, "completed while \(state)")
        report!.written += result
        report!.transactions += 1
        report!.completion = completion
        switch completion {
        case .completed(let deleted, let swept):
            report!.objectsDeleted = deleted
            report!.membershipsSwept = swept
            report!.deletionsPlanned = deleted
            return catchUpOrFinish()
        case .halted(let verdict):
            report!.deletionsPlanned = verdict.deletions
            return finish()
        }
    }

    /// Fetching failed. Graph's 410 (the delta state is gone) restarts the round once as a full round,
    /// whose sweep catches deletions made while no state existed; anything else ends the round.
    public mutating func failed(_ error: any Error, now: Date) -> Action {
        if let graph = error as? GraphError, graph.code == .resyncRequired, !resynced, state == .paging {
            resynced = true
            // A new id, even if the clock has not moved since the attempt it replaces.
            (mode, roundID, link) = (.full, max(Self.roundID(startingAt: now), (roundID ?? 0) + 1), initialLink)
            var restarted = RoundReport(resource: resource, start: .resync, mode: .full)
            let note = "resync: Graph no longer has the delta state (\(graph.serverCode ?? "410")); starting a full round"
            restarted.note = note
            restarted.absorb(report!)
            restarted.expectedTotal = nil
            report = restarted
            pendingWrite = nil
            state = .starting
            return .startRound(mode: .full, roundID: roundID, note: note, selection: selection)
        }
        state = .done
        return .fail(FailureBox(error))
    }

    private mutating func catchUpOrFinish() -> Action {
        guard report!.start == .resumed || report!.start == .haltedRelease, earlier == nil else { return finish() }
        earlier = report
        state = .readingCursor
        return .readCursor
    }

    private mutating func finish() -> Action {
        state = .done
        var final = report!
        if var first = earlier {
            first.absorb(final)
            final = first
        }
        return .finish(final)
    }
}

extension RoundMachine {
    /// The link a run's rounds of `resource` will fetch first, as far as the stored cursor tells:
    /// the machine started on `cursor`, taken through the steps that only record (the round's start,
    /// its progress) to its first fetch. `nil` when the first step needs the store's answer (a halted
    /// round's deletions), and on a first sync a parallel first load may take over, which the cursor
    /// cannot tell (the rounds then continue from the load's links).
    ///
    /// A guess made before the run's bookkeeping: the round that later starts on the cursor it reads
    /// then uses an answer fetched for this link only if it asks for exactly this link.
    public static func firstRequest(resource: DirectoryResource, options: RoundOptions, initialLink: String, selection: [String],
                                    cursor: SyncCursor, now: Date) -> String? {
        let firstSync = cursor.deltaLink == nil && cursor.nextLink == nil && cursor.pendingDeltaLink == nil
        guard !firstSync || options.firstLoad == .delta else { return nil }
        var machine = RoundMachine(resource: resource, options: options, initialLink: initialLink, selection: selection)
        var action = machine.start(cursor: cursor, now: now)
        while true {
            switch action {
            case .startRound: action = machine.roundStarted()
            case .beginProgress: action = machine.progressBegun()
            case .fetch(let link, _): return link
            default: return nil
            }
        }
    }
}
