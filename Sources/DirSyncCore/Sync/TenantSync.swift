import Foundation
import Logging

/// What to sync for one tenant.
public struct TenantSyncRequest: Sendable {
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

    public init(tenantID: UUID, domains: [String], state: State, mode: RunMode, dryRun: Bool, startedAt: Date, finishedAt: Date) {
        self.tenantID = tenantID
        self.domains = domains
        self.state = state
        self.mode = mode
        self.dryRun = dryRun
        self.startedAt = startedAt
        self.finishedAt = finishedAt
    }

    public var pages: Int { rounds.reduce(0) { $0 + $1.pages } }
    public var requests: Int { rounds.reduce(0) { $0 + $1.requests } }
    public var objectsUpserted: Int { rounds.reduce(0) { $0 + $1.written.objectsUpserted } }
    public var objectsDeleted: Int { rounds.reduce(0) { $0 + $1.objectsDeleted } }
    public var membershipsAdded: Int { rounds.reduce(0) { $0 + $1.written.membershipsAdded } }
    public var membershipsRemoved: Int { rounds.reduce(0) { $0 + $1.written.membershipsRemoved + $1.membershipsSwept } }
    public var deletionsPlanned: Int { rounds.reduce(0) { $0 + $1.deletionsPlanned } }
}

/// Syncs one tenant: takes its lock, recovers from crashed runs, checks its domains, records the
/// run, and runs the users and groups rounds side by side.
public struct TenantSync: Sendable {
    let ledger: any SyncLedger
    let source: any DeltaSource
    let time: any TimeSource
    let logger: Logger
    /// Reads the throttled-response count of this tenant's Graph client (for the run record).
    let throttledCount: @Sendable () -> Int

    public init(ledger: any SyncLedger, source: any DeltaSource, time: any TimeSource, logger: Logger,
                throttledCount: @escaping @Sendable () -> Int = { 0 }) {
        self.ledger = ledger
        self.source = source
        self.time = time
        self.logger = logger
        self.throttledCount = throttledCount
    }

    public func run(_ request: TenantSyncRequest, progress: @escaping @Sendable (RoundReport) -> Void = { _ in }) async throws -> TenantSyncResult {
        var logger = self.logger
        logger[metadataKey: "tenant.id"] = "\(request.tenantID.uuidString.lowercased())"
        let startedAt = time.now()
        var result = TenantSyncResult(tenantID: request.tenantID, domains: request.domains.map(\.domain), state: .succeeded,
                                      mode: .incremental, dryRun: request.options.dryRun, startedAt: startedAt, finishedAt: startedAt)

        guard try await ledger.tryLockTenant(request.tenantID) else {
            logger.notice("tenant is being synced by another run; skipped")
            result.state = .skipped
            result.finishedAt = time.now()
            return result
        }
        do {
            result = try await locked(request, result: result, logger: logger, progress: progress)
        } catch {
            try? await ledger.unlockTenant(request.tenantID)
            throw error
        }
        try await ledger.unlockTenant(request.tenantID)
        return result
    }

    private func locked(_ request: TenantSyncRequest, result initial: TenantSyncResult, logger: Logger,
                        progress: @escaping @Sendable (RoundReport) -> Void) async throws -> TenantSyncResult {
        var result = initial
        if !request.options.dryRun {
            let abandoned = try await ledger.markAbandonedRuns(tenantID: request.tenantID)
            if abandoned > 0 { logger.warning("earlier run ended without finishing; marked interrupted", metadata: ["runs": "\(abandoned)"]) }
        }

        // Before a tenant's data is written on a domain's behalf, the domain must be one the tenant verified.
        do {
            result.unverifiedDomains = try await verifyDomains(request, logger: logger)
        } catch {
            result.state = .failed
            result.failure = SyncFailure.classify(error)
            result.finishedAt = time.now()
            if !request.options.dryRun {
                let runID = try await ledger.startRun(tenantID: request.tenantID, mode: .incremental)
                result.runID = runID
                try await ledger.finishRun(runID, result: result)
            }
            return result
        }
        if result.unverifiedDomains.count == request.domains.count {
            result.state = .failed
            result.failure = SyncFailure(kind: .domainNotVerified, message: "no domain of this tenant is verified in it (\(result.unverifiedDomains.joined(separator: ", "))): verify the domain in the Entra admin center (Settings → Domain names) or onboard it with the right --tenant-id")
            result.finishedAt = time.now()
            return result
        }

        var options = request.options
        if !options.dryRun {
            result.runID = try await ledger.startRun(tenantID: request.tenantID, mode: .incremental)
            options.runID = result.runID!
        }
        let throttledBefore = throttledCount()
        let roundOptions = options
        let outcomes = await withTaskGroup(of: (DirectoryResource, Result<RoundReport, any Error>).self) { group in
            for resource in DirectoryResource.allCases {
                group.addTask {
                    var roundLogger = logger
                    roundLogger[metadataKey: "resource"] = "\(resource)"
                    do {
                        let store = try await ledger.roundStore(tenantID: request.tenantID, resource: resource, runID: roundOptions.dryRun ? nil : roundOptions.runID)
                        let runner = RoundRunner(resource: resource, source: source, store: store, time: time, logger: roundLogger)
                        do {
                            let report = try await runner.run(roundOptions, progress: progress)
                            await store.close()
                            return (resource, .success(report))
                        } catch {
                            await store.close()
                            throw error
                        }
                    } catch {
                        return (resource, .failure(error))
                    }
                }
            }
            var collected: [(DirectoryResource, Result<RoundReport, any Error>)] = []
            for await outcome in group { collected.append(outcome) }
            return collected.sorted { $0.0 < $1.0 }
        }
        result.throttled = throttledCount() - throttledBefore
        for (_, outcome) in outcomes {
            switch outcome {
            case .success(let report): result.rounds.append(report)
            case .failure(let error):
                let failure = SyncFailure.classify(error)
                // The first failure decides; an interruption is reported as such only if nothing failed.
                if result.failure == nil || result.failure?.kind == .interrupted { result.failure = failure }
                logger.error("round failed", metadata: ["error.class": "\(failure.kind.rawValue)", "error": "\(failure.message)"])
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
        result.finishedAt = time.now()
        if let runID = result.runID { try await ledger.finishRun(runID, result: result) }
        return result
    }

    /// Checks domains not yet confirmed; returns those that are not verified in the tenant.
    private func verifyDomains(_ request: TenantSyncRequest, logger: Logger) async throws -> [String] {
        var unverified: [String] = []
        for domain in request.domains where domain.verifiedAt == nil {
            var verified = false
            do {
                verified = try await source.domain(name: domain.domain).isVerified
            } catch let error as GraphError where error.code == .notFound {
                verified = false
            }
            let problem = verified ? nil : "\(domain.domain) is not a verified domain of tenant \(request.tenantID): verify it in the Entra admin center (Settings → Domain names), or onboard it with the tenant that owns it"
            if !request.options.dryRun { try await ledger.recordVerification(domain: domain.domain, verified: verified, problem: problem) }
            if !verified {
                unverified.append(domain.domain)
                logger.error("domain is not verified in its tenant", metadata: ["domain": "\(domain.domain)"])
            }
        }
        return unverified
    }
}
