import Foundation

/// The decisions of one tenant's sync, as a value: take the tenant's lock or skip the tenant, mark
/// runs that died as interrupted, read the tenant's domains (stored for the read side, and the proof
/// that each new domain is verified in the tenant), record the run, run the resources' rounds side by
/// side, and turn their outcomes into the tenant's result.
///
/// It performs nothing: each event returns the next ``Action``, which ``TenantSync`` carries out
/// against the ledger and the delta source. A dry run takes the same path minus every write.
public struct TenantMachine: Sendable {
    /// What to do next.
    public enum Action: Sendable, Equatable {
        /// Take the tenant's advisory lock without waiting; report with ``locked(_:now:)``.
        case tryLock
        /// Mark the tenant's runs still recorded as running as interrupted; report with ``abandonedRunsMarked(_:)``.
        case markAbandonedRuns
        /// Read the tenant's domains (`GET /domains`); report with ``tenantDomainsRead(_:now:)`` or
        /// ``tenantDomainsFailed(_:now:)``.
        case readTenantDomains
        /// Store the tenant's domains for the read side; report with ``tenantDomainsStored(now:)``.
        case storeTenantDomains([GraphDomain])
        /// Store a domain's verification; report with ``verificationRecorded()``.
        case recordVerification(domain: String, verified: Bool, problem: String?)
        /// Record the run's start; report with ``runRecordStarted(_:)``.
        case startRunRecord(RunMode)
        /// Run a parallel first load if the tenant is on its first sync and the options and its size
        /// say so; report with ``firstLoadFinished(_:now:)`` or ``firstLoadFailed(_:now:)``.
        case firstLoad(RoundOptions)
        /// Run every resource's rounds side by side with these options; report with ``roundsFinished(_:throttled:now:)``.
        case runRounds(RoundOptions)
        /// Record the run's end; report with ``runRecordFinished()``.
        case finishRunRecord(runID: Int64, result: TenantSyncResult)
        /// Release the tenant's lock; report with ``unlocked()``.
        case unlock
        /// Done.
        case finish(TenantSyncResult)
    }

    private enum State: Sendable {
        case idle, locking, markingAbandoned, readingDomains, storingDomains, recordingVerification, startingRecord, loading, running, finishingRecord, unlocking, done
    }

    public let request: TenantSyncRequest
    private var state = State.idle
    /// The tenant's result so far.
    public private(set) var result: TenantSyncResult
    /// Onboarded domains not yet confirmed as verified in the tenant.
    private var toVerify: [String]
    /// The tenant's domains as Graph listed them.
    private var tenantDomains: [GraphDomain] = []
    private var options: RoundOptions

    public init(request: TenantSyncRequest, startedAt: Date) {
        self.request = request
        self.options = request.options
        result = TenantSyncResult(tenantID: request.tenantID, domains: request.domains.map(\.domain), state: .succeeded,
                                  mode: request.options.forceFull ? .full : .incremental, dryRun: request.options.dryRun,
                                  startedAt: startedAt, finishedAt: startedAt)
        toVerify = request.domains.filter { $0.verifiedAt == nil }.map(\.domain)
    }

    private var dryRun: Bool { request.options.dryRun }

    public mutating func start() -> Action {
        precondition(state == .idle)
        state = .locking
        return .tryLock
    }

    /// The lock was taken, or another run holds it.
    public mutating func locked(_ taken: Bool, now: Date) -> Action {
        precondition(state == .locking)
        guard taken else {
            result.state = .skipped
            result.finishedAt = now
            state = .done
            return .finish(result)
        }
        if dryRun {
            state = .readingDomains
            return .readTenantDomains
        }
        state = .markingAbandoned
        return .markAbandonedRuns
    }

    /// Runs that died were marked interrupted (`count` of them).
    public mutating func abandonedRunsMarked(_ count: Int, now: Date) -> Action {
        precondition(state == .markingAbandoned)
        state = .readingDomains
        return .readTenantDomains
    }

    /// Graph listed the tenant's domains.
    public mutating func tenantDomainsRead(_ domains: [GraphDomain], now: Date) -> Action {
        precondition(state == .readingDomains)
        tenantDomains = domains
        if dryRun { return nextVerification(now: now) }
        state = .storingDomains
        return .storeTenantDomains(domains)
    }

    /// Reading the tenant's domains failed (Graph unreachable, consent missing …). When a new domain
    /// still has to be confirmed, the tenant fails with a run record that says why: its data is not
    /// written on an unconfirmed domain's behalf. Otherwise the sync goes on; the stored domains stay
    /// as the last run read them.
    public mutating func tenantDomainsFailed(_ error: any Error, now: Date) -> Action {
        precondition(state == .readingDomains)
        guard !toVerify.isEmpty else { return beginRun() }
        result.state = .failed
        result.failure = SyncFailure.classify(error)
        result.finishedAt = now
        if dryRun { return unlock() }
        state = .startingRecord
        return .startRunRecord(result.mode)
    }

    public mutating func tenantDomainsStored(now: Date) -> Action {
        precondition(state == .storingDomains)
        return nextVerification(now: now)
    }

    public mutating func verificationRecorded(now: Date) -> Action {
        precondition(state == .recordingVerification)
        return nextVerification(now: now)
    }

    /// Confirms the next new domain from the tenant's list: verified only when the tenant lists it as
    /// verified.
    private mutating func nextVerification(now: Date) -> Action {
        if let domain = toVerify.first {
            toVerify.removeFirst()
            let verified = tenantDomains.contains { $0.name == domain && $0.isVerified }
            if !verified { result.unverifiedDomains.append(domain) }
            if dryRun { return nextVerification(now: now) }
            state = .recordingVerification
            let problem = verified ? nil
                : "\(domain) is not a verified domain of tenant \(request.tenantID): verify it in the Entra admin center (Settings → Domain names), or onboard it with the tenant that owns it"
            return .recordVerification(domain: domain, verified: verified, problem: problem)
        }
        if result.unverifiedDomains.count == request.domains.count {
            // Before a tenant's data is written on a domain's behalf, the domain must be one the tenant verified.
            result.state = .failed
            result.failure = SyncFailure(kind: .domainNotVerified, message: "no domain of this tenant is verified in it (\(result.unverifiedDomains.joined(separator: ", "))): verify the domain in the Entra admin center (Settings → Domain names) or onboard it with the right --tenant-id")
            result.finishedAt = now
            return unlock()
        }
        return beginRun()
    }

    private mutating func beginRun() -> Action {
        if dryRun {
            state = .running
            return .runRounds(options)
        }
        state = .startingRecord
        return .startRunRecord(result.mode)
    }

    /// The run record exists.
    public mutating func runRecordStarted(_ runID: Int64) -> Action {
        precondition(state == .startingRecord)
        result.runID = runID
        if result.state == .failed {
            state = .finishingRecord
            return .finishRunRecord(runID: runID, result: result)
        }
        options.runID = runID
        state = .loading
        return .firstLoad(options)
    }

    /// The first load ran (or found nothing to do): the rounds follow, continuing from its links
    /// when it loaded the tenant, or doing the first sync when it did not.
    public mutating func firstLoadFinished(_ report: FirstLoadReport, now: Date) -> Action {
        precondition(state == .loading)
        if report.outcome != .notParallel { result.firstLoad = report }
        if report.outcome == .loaded { options.catchingUp = true }
        state = .running
        return .runRounds(options)
    }

    /// The first load failed (Graph or the database after their retries); a later run resumes it.
    public mutating func firstLoadFailed(_ error: any Error, now: Date) -> Action {
        precondition(state == .loading)
        result.failure = SyncFailure.classify(error)
        result.state = result.failure?.kind == .interrupted ? .interrupted : .failed
        result.finishedAt = now
        guard let runID = result.runID else { return unlock() }
        state = .finishingRecord
        return .finishRunRecord(runID: runID, result: result)
    }

    /// Every resource's rounds ended.
    /// - Parameters:
    ///   - outcomes: each resource's report, or the error that ended its rounds.
    ///   - throttled: responses Graph throttled from the run's domain read (and the rounds' first requests
    ///     sent alongside it) to the rounds' end.
    public mutating func roundsFinished(_ outcomes: [(DirectoryResource, Result<RoundReport, any Error>)], throttled: Int, now: Date) -> Action {
        precondition(state == .running)
        result.throttled = throttled
        for (_, outcome) in outcomes.sorted(by: { $0.0 < $1.0 }) {
            switch outcome {
            case .success(let report): result.rounds.append(report)
            case .failure(let error):
                let failure = SyncFailure.classify(error)
                // The first failure decides; an interruption is reported as such only if nothing failed.
                if result.failure == nil || result.failure?.kind == .interrupted { result.failure = failure }
            }
        }
        let starts = result.rounds.map(\.start)
        result.mode = starts.contains(where: \.isResync) ? .resync : result.rounds.contains { $0.mode == .full } ? .full : .incremental
        if result.firstLoad?.outcome == .loaded { result.mode = .full }
        if let failure = result.failure {
            result.state = failure.kind == .interrupted ? .interrupted : .failed
        } else if let verdict = result.rounds.compactMap(\.haltedVerdict).first {
            result.state = .halted
            let deletions = result.rounds.compactMap(\.haltedVerdict).reduce(0) { $0 + $1.deletions }
            result.failure = SyncFailure(kind: .halted, message: DeletionGuard.Verdict(deletions: deletions, limit: verdict.limit, tenantObjects: verdict.tenantObjects).message)
        }
        result.finishedAt = now
        if let runID = result.runID {
            state = .finishingRecord
            return .finishRunRecord(runID: runID, result: result)
        }
        return unlock()
    }

    public mutating func runRecordFinished() -> Action {
        precondition(state == .finishingRecord)
        return unlock()
    }

    private mutating func unlock() -> Action {
        state = .unlocking
        return .unlock
    }

    public mutating func unlocked() -> Action {
        precondition(state == .unlocking)
        state = .done
        return .finish(result)
    }
}
