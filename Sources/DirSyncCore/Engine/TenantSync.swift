import Foundation
import Logging

/// What to sync for one tenant.
public struct TenantSyncRequest: Sendable, Equatable {
    public var tenantID: UUID
    /// The enabled domains of this tenant (at least one).
    public var domains: [DomainRecord]
    public var options: RoundOptions

    public init(tenantID: UUID, domains: [DomainRecord], options: RoundOptions) {
        self.tenantID = tenantID
        self.domains = domains
        self.options = options
    }
}

/// How a tenant's sync ended.
public struct TenantSyncResult: Sendable, Equatable {
    public enum State: String, Sendable, Equatable {
        case succeeded, failed, halted, interrupted
        /// Another run holds the tenant's lock; nothing was done.
        case skipped
    }

    public var tenantID: UUID
    public var domains: [String]
    public var state: State
    public var mode: RunMode
    public var dryRun: Bool
    public var runID: Int64?
    public var rounds: [RoundReport] = []
    public var failure: SyncFailure?
    /// Domains excluded because they are not verified in the tenant.
    public var unverifiedDomains: [String] = []
    public var startedAt: Date
    public var finishedAt: Date
    /// Responses Graph throttled during this tenant's sync.
    public var throttled = 0
    /// What the parallel first load did, when one ran.
    public var firstLoad: FirstLoadReport?

    public init(tenantID: UUID, domains: [String], state: State, mode: RunMode, dryRun: Bool, startedAt: Date, finishedAt: Date) {
        self.tenantID = tenantID
        self.domains = domains
        self.state = state
        self.mode = mode
        self.dryRun = dryRun
        self.startedAt = startedAt
        self.finishedAt = finishedAt
    }

    public var pages: Int { rounds.reduce(firstLoad?.pages ?? 0) { $0 + $1.pages } }
    public var requests: Int { rounds.reduce(firstLoad?.requests ?? 0) { $0 + $1.requests } }
    public var objectsUpserted: Int { rounds.reduce(firstLoad?.written.objectsUpserted ?? 0) { $0 + $1.written.objectsUpserted } }
    public var objectsDeleted: Int { rounds.reduce(0) { $0 + $1.objectsDeleted } }
    public var membershipsAdded: Int { rounds.reduce(firstLoad?.written.membershipsAdded ?? 0) { $0 + $1.written.membershipsAdded } }
    public var membershipsRemoved: Int { rounds.reduce(0) { $0 + $1.written.membershipsRemoved + $1.membershipsSwept } }
    public var deletionsPlanned: Int { rounds.reduce(0) { $0 + $1.deletionsPlanned } }
    /// Why rounds were not the usual ones (resyncs and their causes), by resource; `nil` when all were.
    /// Incremental rounds (catching up after a first load) are the usual ones.
    public var reason: String? {
        let notes = rounds.filter { $0.start != .incremental }.compactMap { round in round.note.map { "\(round.resource.rawValue): \($0)" } }
        return notes.isEmpty ? nil : notes.joined(separator: "; ")
    }
}

/// Carries out a ``TenantMachine``'s actions for one tenant: the ledger (lock, run records, domain
/// verification), the delta source, and the resources' rounds run side by side. The rounds' first
/// requests go out with the domain read (``FirstRequests``). The tenant's lock is released on every
/// path once taken.
public struct TenantSync: Sendable {
    let ledger: any SyncLedger
    let source: any DeltaSource
    let time: any TimeSource
    let logger: Logger
    let profiler: any Profiler
    /// Reads the throttled-response count of this tenant's Graph client (for the run record).
    let throttledCount: @Sendable () -> Int
    /// The resource units of every tenant's first load in this run, against the app's budget.
    let fleet: FleetResourceUnits

    public init(ledger: any SyncLedger, source: any DeltaSource, time: any TimeSource, logger: Logger, profiler: any Profiler = NoProfiler(),
                throttledCount: @escaping @Sendable () -> Int = { 0 }, fleet: FleetResourceUnits = FleetResourceUnits()) {
        self.ledger = ledger
        self.source = source
        self.time = time
        self.logger = logger
        self.profiler = profiler
        self.throttledCount = throttledCount
        self.fleet = fleet
    }

    public func run(_ request: TenantSyncRequest, progress: @escaping @Sendable (RoundReport) -> Void = { _ in }) async throws -> TenantSyncResult {
        var logger = self.logger
        logger[metadataKey: "tenant.id"] = "\(request.tenantID.uuidString.lowercased())"
        var machine = TenantMachine(request: request, startedAt: time.now())
        var holdsLock = false
        let firstRequests = FirstRequests()
        defer { firstRequests.dropUntaken() }
        // Throttled responses count from the domain read on, the rounds' first requests going out with it.
        var throttledBefore: Int?
        do {
            var action = machine.start()
            while true {
                switch action {
                case .tryLock:
                    holdsLock = try await ledger.tryLockTenant(request.tenantID)
                    if !holdsLock { logger.notice("tenant is being synced by another run; skipped") }
                    action = machine.locked(holdsLock, now: time.now())
                case .markAbandonedRuns:
                    let abandoned = try await ledger.markAbandonedRuns(tenantID: request.tenantID)
                    if abandoned > 0 { logger.warning("earlier run ended without finishing; marked interrupted", metadata: ["runs": "\(abandoned)"]) }
                    action = machine.abandonedRunsMarked(abandoned, now: time.now())
                case .readTenantDomains:
                    throttledBefore = throttledCount()
                    await sendFirstRequests(request, into: firstRequests, logger: logger)
                    do {
                        action = machine.tenantDomainsRead(try await source.domains(), now: time.now())
                    } catch {
                        let failure = SyncFailure.classify(error)
                        logger.warning("could not read the tenant's domains", metadata: ["error.class": "\(failure.kind.rawValue)", "error": "\(failure.message)"])
                        action = machine.tenantDomainsFailed(error, now: time.now())
                    }
                case .storeTenantDomains(let domains):
                    try await ledger.storeTenantDomains(tenantID: request.tenantID, domains: domains)
                    action = machine.tenantDomainsStored(now: time.now())
                case .recordVerification(let domain, let verified, let problem):
                    if !verified { logger.error("domain is not verified in its tenant", metadata: ["domain": "\(domain)"]) }
                    try await ledger.recordVerification(domain: domain, verified: verified, problem: problem)
                    action = machine.verificationRecorded(now: time.now())
                case .startRunRecord(let mode):
                    action = machine.runRecordStarted(try await ledger.startRun(tenantID: request.tenantID, mode: mode))
                case .firstLoad(let options):
                    do {
                        let report = try await firstLoad(request.tenantID, options: options, logger: logger)
                        // The rounds continue from the load's links: answers fetched ahead are not theirs.
                        if report.outcome == .loaded { firstRequests.dropUntaken() }
                        action = machine.firstLoadFinished(report, now: time.now())
                    } catch {
                        let failure = SyncFailure.classify(error)
                        logger.error("parallel first load failed", metadata: ["error.class": "\(failure.kind.rawValue)", "error": "\(failure.message)"])
                        action = machine.firstLoadFailed(error, now: time.now())
                    }
                case .runRounds(let options):
                    let before = throttledBefore ?? throttledCount()
                    let outcomes = await runRounds(request.tenantID, options: options, source: SourceWithFirstRequests(source: source, firstRequests: firstRequests),
                                                   logger: logger, progress: progress)
                    firstRequests.dropUntaken()
                    action = machine.roundsFinished(outcomes, throttled: throttledCount() - before, now: time.now())
                case .finishRunRecord(let runID, let result):
                    try await ledger.finishRun(runID, result: result)
                    action = machine.runRecordFinished()
                case .unlock:
                    if holdsLock { try await ledger.unlockTenant(request.tenantID) }
                    holdsLock = false
                    action = machine.unlocked()
                case .finish(let result):
                    return result
                }
            }
        } catch {
            if holdsLock { try? await ledger.unlockTenant(request.tenantID) }
            throw error
        }
    }

    /// A parallel first load, when the setting, the tenant and the source allow one.
    private func firstLoad(_ tenantID: UUID, options: RoundOptions, logger: Logger) async throws -> FirstLoadReport {
        guard let source = source as? any FirstLoadSource else { return FirstLoadReport(outcome: .notParallel) }
        var loadLogger = logger
        loadLogger[metadataKey: "phase"] = "first-load"
        let report = try await ledger.withFirstLoadStore(tenantID: tenantID, runID: options.runID) { store in
            try await FirstLoadRunner(source: source, store: store, time: time, logger: loadLogger, setting: options.firstLoad,
                                      safetyWait: options.firstLoadWait, fleet: fleet).run()
        }
        return report ?? FirstLoadReport(outcome: .notParallel)
    }

    /// Sends each resource's first delta request ahead (``FirstRequests``), where the stored cursors
    /// tell which it will be. Only a guess: when the cursors cannot be read here, nothing is sent and
    /// the rounds ask for themselves.
    private func sendFirstRequests(_ request: TenantSyncRequest, into firstRequests: FirstRequests, logger: Logger) async {
        let cursors: [DirectoryResource: SyncCursor]?
        do {
            cursors = try await ledger.storedCursors(tenantID: request.tenantID)
        } catch {
            let failure = SyncFailure.classify(error)
            logger.debug("stored cursors unreadable; the rounds send their first requests themselves",
                         metadata: ["error.class": "\(failure.kind.rawValue)", "error": "\(failure.message)"])
            return
        }
        guard let cursors else { return }
        let now = time.now()
        for (resource, cursor) in cursors.sorted(by: { $0.key < $1.key }) {
            guard let link = RoundMachine.firstRequest(resource: resource, options: request.options, initialLink: source.initialDeltaURL(resource),
                                                       selection: source.selectedProperties(resource), cursor: cursor, now: now) else { continue }
            firstRequests.send(resource, link: link, to: source)
        }
    }

    /// Each resource's rounds on a session of its own, side by side.
    private func runRounds(_ tenantID: UUID, options: RoundOptions, source: any DeltaSource, logger: Logger,
                           progress: @escaping @Sendable (RoundReport) -> Void) async -> [(DirectoryResource, Result<RoundReport, any Error>)] {
        await withTaskGroup(of: (DirectoryResource, Result<RoundReport, any Error>).self) { group in
            for resource in DirectoryResource.allCases {
                group.addTask {
                    var roundLogger = logger
                    roundLogger[metadataKey: "resource"] = "\(resource)"
                    do {
                        let report = try await ledger.withRoundStore(tenantID: tenantID, resource: resource, runID: options.dryRun ? nil : options.runID) { store in
                            try await RoundRunner(resource: resource, source: source, store: store, time: time, logger: roundLogger, profiler: profiler)
                                .run(options, progress: progress)
                        }
                        return (resource, .success(report))
                    } catch {
                        let failure = SyncFailure.classify(error)
                        roundLogger.error("round failed", metadata: ["error.class": "\(failure.kind.rawValue)", "error": "\(failure.message)"])
                        return (resource, .failure(error))
                    }
                }
            }
            var collected: [(DirectoryResource, Result<RoundReport, any Error>)] = []
            for await outcome in group { collected.append(outcome) }
            return collected
        }
    }
}
