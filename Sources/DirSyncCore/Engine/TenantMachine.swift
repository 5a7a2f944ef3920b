import Foundation

/// The decisions of one tenant's sync, as a value: take the tenant's lock or skip the tenant, mark
/// runs that died as interrupted, confirm that each new domain is verified in the tenant, record the
/// run, run the resources' rounds side by side, and turn their outcomes into the tenant's result.
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
        /// Ask the tenant whether it verified `domain`; report with ``domainChecked(_:verified:now:)``.
        case verifyDomain(String)
        /// Store a domain's verification; report with ``verificationRecorded()``.
        case recordVerification(domain: String, verified: Bool, problem: String?)
        /// Record the run's start; report with ``runRecordStarted(_:)``.
        case startRunRecord(RunMode)
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
        case idle, locking, markingAbandoned, verifying, recordingVerification, startingRecord, running, finishingRecord, unlocking, done
    }

    public let request: TenantSyncRequest
    private var state = State.idle
    /// The tenant's result so far.
    public private(set) var result: TenantSyncResult
    /// Domains still to be checked for verification.
    private var toVerify: [String]
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
        if dryRun { return nextVerification(now: now) }
        state = .markingAbandoned
        return .markAbandonedRuns
    }

    /// Runs that died were marked interrupted (`count` of them).
    public mutating func abandonedRunsMarked(_ count: Int, now: Date) -> Action {
        precondition(state == .markingAbandoned)
        return nextVerification(now: now)
    }

    /// The tenant answered whether it verified `domain` (`false` also when it has no such domain).
    public mutating func domainChecked(_ domain: String, verified: Bool, now: Date) -> Action {
        precondition(state == .verifying)
        toVerify.removeFirst()
        if !verified { result.unverifiedDomains.append(domain) }
        if dryRun { return nextVerification(now: now) }
        state = .recordingVerification
        let problem = verified ? nil
            : "\(domain) is not a verified domain of tenant \(request.tenantID): verify it in the Entra admin center (Settings → Domain names), or onboard it with the tenant that owns it"
        return .recordVerification(domain: domain, verified: verified, problem: problem)
    }

    /// Checking a domain failed (Graph unreachable, consent missing …): the tenant fails with a run
    /// record that says why.
    public mutating func domainCheckFailed(_ error: any Error, now: Date) -> Action {
        precondition(state == .verifying)
        result.state = .failed
        result.failure = SyncFailure.classify(error)
        result.finishedAt = now
        if dryRun { return unlock() }
        state = .startingRecord
        return .startRunRecord(result.mode)
    }

    public mutating func verificationRecorded(now: Date) -> Action {
        precondition(state == .recordingVerification)
        return nextVerification(now: now)
    }

    private mutating func nextVerification(now: Date) -> Action {
        if let domain = toVerify.first {
            state = .verifying
            return .verifyDomain(domain)
        }
        if result.unverifiedDomains.count == request.domains.count {
            // Before a tenant's data is written on a domain's behalf, the domain must be one the tenant verified.
            result.state = .failed
            result.failure = SyncFailure(kind: .domainNotVerified, message: "no domain of this tenant is verified in it (\(result.unverifiedDomains.joined(separator: ", "))): verify the domain in the Entra admin center (Settings → Domain names) or onboard it with the right --tenant-id")
            result.finishedAt = now
            return unlock()
        }
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
        state = .running
        return .runRounds(options)
    }

    /// Every resource's rounds ended.
    /// - Parameters:
    ///   - outcomes: each resource's report, or the error that ended its rounds.
    ///   - throttled: responses Graph throttled during the rounds.
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
        result.mode = starts.contains(.resync) ? .resync : result.rounds.contains { $0.mode == .full } ? .full : .incremental
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
