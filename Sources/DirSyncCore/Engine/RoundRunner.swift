import Foundation
import Logging
import Synchronization

/// Carries out a ``RoundMachine``'s actions for one resource of one tenant: against the store and
/// the delta source, with pages fetched ahead of the writer. A dry run goes through a
/// ``DryRunRoundStore`` over the store, so it takes exactly the real path and writes nothing.
///
/// Pages are fetched while earlier ones are written, so network latency and database time overlap;
/// when the database is the slower side, the pages already fetched are written together in one
/// transaction (see ``PagePrefetcher``). Cancellation is honoured between transactions: the one being
/// written commits or rolls back whole, and the stored cursor lets the next run continue from its
/// last page.
public struct RoundRunner: Sendable {
    public let resource: DirectoryResource
    let source: any DeltaSource
    let store: any RoundStore
    let time: any TimeSource
    let logger: Logger
    let profiler: any Profiler

    public init(resource: DirectoryResource, source: any DeltaSource, store: any RoundStore, time: any TimeSource, logger: Logger,
                profiler: any Profiler = NoProfiler()) {
        self.resource = resource
        self.source = source
        self.store = store
        self.time = time
        self.logger = logger
        self.profiler = profiler
    }

    /// Runs the resource's rounds for this run to their end (or to a halt).
    /// - Parameter progress: called after every committed transaction with the report so far.
    public func run(_ options: RoundOptions, progress: @Sendable (RoundReport) -> Void = { _ in }) async throws -> RoundReport {
        let store: any RoundStore = options.dryRun ? DryRunRoundStore(reading: self.store, time: time) : self.store
        var machine = RoundMachine(resource: resource, options: options, initialLink: source.initialDeltaURL(resource),
                                   selection: source.selectedProperties(resource))
        var fetch: Fetch?
        defer { fetch?.cancel() }
        var action = machine.start(cursor: try await store.cursor(), now: time.now())
        while true {
            switch action {
            case .resolveHalted(let deletionGuard):
                action = machine.haltedResolved(try await store.resolveHalted(guard: deletionGuard))
            case .startRound(let mode, let roundID, let note, let selection):
                fetch?.cancel()
                fetch = nil
                // A resync is worth a warning; an incremental round with a note (catching up after a
                // parallel first load) is the plan working.
                if let note { logger.log(level: mode == .incremental ? .info : .warning, "\(note)", metadata: ["resource": "\(resource)"]) }
                try await store.startRound(mode: mode, roundID: roundID, selection: selection)
                action = machine.roundStarted()
            case .beginProgress(let note):
                try await store.beginProgress(expectedTotal: nil, note: note)
                action = machine.progressBegun()
            case .fetch(let link, let countObjects):
                fetch?.cancel()
                do {
                    fetch = try Fetch(source: source, resource: resource, link: link, countObjects: countObjects, options: options)
                    action = try await take(from: fetch!, into: &machine)
                } catch {
                    action = machine.failed(error, now: time.now())
                }
            case .takePages:
                do {
                    action = try await take(from: fetch!, into: &machine)
                } catch {
                    action = machine.failed(error, now: time.now())
                }
            case .recordExpectedTotal(let total):
                try await store.recordExpectedTotal(total)
                action = machine.expectedTotalRecorded()
            case .apply(let plan, let pages, let nextLink, let mode, let roundID):
                let written = try await store.applyPages(plan, count: pages, nextLink: nextLink, mode: mode, roundID: roundID)
                action = machine.applied(written)
                logger.debug("pages applied", metadata: ["resource": "\(resource)", "pages": "\(machine.report?.pages ?? 0)",
                                                         "batch.pages": "\(pages)", "batch.items": "\(plan.objectCount)",
                                                         "rows.copied": "\(written.rowsCopied)", "merges": "\(written.objectMerges)"])
                if let report = machine.report { progress(report) }
                // Stop between transactions when asked to: the cursor already points at `nextLink`.
                try Task.checkCancellation()
            case .complete(let plan, let pages, let deltaLink, let mode, let roundID, let deletionGuard):
                let (written, completion) = try await store.completeRound(lastPages: plan, count: pages, deltaLink: deltaLink, mode: mode,
                                                                          roundID: roundID, guard: deletionGuard)
                if case .halted(let verdict) = completion {
                    logger.error("deletion guard halted the round", metadata: ["resource": "\(resource)", "deletions": "\(verdict.deletions)", "limit": "\(verdict.limit)"])
                }
                action = machine.completed(written, completion)
                if let report = machine.report { progress(report) }
            case .readCursor:
                fetch?.cancel()
                fetch = nil
                action = machine.start(cursor: try await store.cursor(), now: time.now())
            case .finish(let report):
                return report
            case .fail(let failure):
                throw failure.error
            }
        }
    }

    /// Takes the next batch of fetched pages and hands it to the machine.
    private func take(from fetch: Fetch, into machine: inout RoundMachine) async throws -> RoundMachine.Action {
        let batch = try await withTaskCancellationHandler {
            try await fetch.prefetcher.take()
        } onCancel: {
            fetch.prefetcher.cancel()
        }
        // The prefetcher hands out nothing after the round's last page: only a cancelled round asks again.
        guard !batch.isEmpty else { throw CancellationError() }
        for fetched in batch {
            for diagnostic in fetched.page.diagnostics {
                logger.warning("skipped part of a Graph page", metadata: ["resource": "\(resource)", "diagnostic": "\(diagnostic.code)", "detail": "\(diagnostic.message)"])
            }
        }
        let requests = batch.reduce(0) { $0 + $1.info.attempt }
        let counted = fetch.counter?.result
        return profiler.measure(.plan) { machine.received(batch.map(\.page), requests: requests, countedTotal: counted) }
    }

    /// A round's fetch in progress: pages fetched ahead, and Graph's object count asked for beside them.
    private struct Fetch {
        let prefetcher: PagePrefetcher
        let counter: ObjectCounter?

        init(source: any DeltaSource, resource: DirectoryResource, link: String, countObjects: Bool, options: RoundOptions) throws {
            var roundGuard = DeltaRoundGuard()
            try roundGuard.visit(link)
            prefetcher = PagePrefetcher(source: source, resource: resource, link: link, roundGuard: roundGuard,
                                        maxPages: options.maxPagesPerTransaction, maxBytes: options.maxBytesPerTransaction)
            // A full round's object count only feeds progress and ETA: ask for it alongside the first
            // pages instead of spending a round trip before them.
            counter = countObjects ? ObjectCounter(source: source, resource: resource) : nil
        }

        func cancel() {
            prefetcher.cancel()
            counter?.cancel()
        }
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
