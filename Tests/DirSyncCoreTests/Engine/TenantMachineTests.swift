import DirSyncCore
import Foundation
import Testing

/// The tenant machine's decisions, driven event by event with no database, network or clock.
@Suite("Tenant machine: lock, crashed runs, domains, run record, rounds, result")
struct TenantMachineTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let tenant = UUID(uuidString: "aaaaaaaa-0000-4000-8000-000000000001")!

    static func request(dryRun: Bool = false, full: Bool = false, domains: [DomainRecord]? = nil) -> TenantSyncRequest {
        TenantSyncRequest(tenantID: tenant, domains: domains ?? [DomainRecord(domain: "a.example", tenantID: tenant, verifiedAt: now)],
                          options: RoundOptions(forceFull: full, dryRun: dryRun))
    }

    static func report(_ resource: DirectoryResource, _ completion: RoundCompletion = .completed(objectsDeleted: 0, membershipsSwept: 0),
                       start: RoundStart = .incremental) -> RoundReport {
        var report = RoundReport(resource: resource, start: start, mode: start == .incremental ? .incremental : .full)
        report.completion = completion
        return report
    }

    static func finished(_ action: TenantMachine.Action) -> TenantSyncResult? {
        if case .finish(let result) = action { return result }
        return nil
    }

    @Test("a tenant another run holds is skipped: nothing else happens, not even an unlock")
    func skipped() {
        var machine = TenantMachine(request: Self.request(), startedAt: Self.now)
        #expect(machine.start() == .tryLock)
        let result = Self.finished(machine.locked(false, now: Self.now))
        #expect(result?.state == .skipped)
    }

    static let listed = [GraphDomain(name: "a.example", isVerified: true, supportedServices: ["Email"]),
                         GraphDomain(name: "new.example", isVerified: false), GraphDomain(name: "mail.example", isVerified: true, supportedServices: ["Email"])]

    @Test("a normal run: lock, mark crashed runs, read and store the tenant's domains, record the run, run the rounds, record the end, unlock")
    func normalRun() {
        var machine = TenantMachine(request: Self.request(), startedAt: Self.now)
        #expect(machine.start() == .tryLock)
        #expect(machine.locked(true, now: Self.now) == .markAbandonedRuns)
        #expect(machine.abandonedRunsMarked(1, now: Self.now) == .readTenantDomains)
        #expect(machine.tenantDomainsRead(Self.listed, now: Self.now) == .storeTenantDomains(Self.listed))
        #expect(machine.tenantDomainsStored(now: Self.now) == .startRunRecord(.incremental))
        guard case .firstLoad(let loadOptions) = machine.runRecordStarted(17) else { Issue.record("expected the first-load step"); return }
        #expect(loadOptions.runID == 17)
        guard case .runRounds(let options) = machine.firstLoadFinished(FirstLoadReport(outcome: .notParallel), now: Self.now) else {
            Issue.record("expected rounds")
            return
        }
        #expect(options.runID == 17 && !options.catchingUp)
        let finish = machine.roundsFinished([(.users, .success(Self.report(.users))), (.groups, .success(Self.report(.groups)))], throttled: 2, now: Self.now)
        guard case .finishRunRecord(let runID, let result) = finish else { Issue.record("expected the run record"); return }
        #expect(runID == 17 && result.state == .succeeded && result.throttled == 2 && result.mode == .incremental)
        #expect(machine.runRecordFinished() == .unlock)
        #expect(Self.finished(machine.unlocked())?.state == .succeeded)
    }

    @Test("--full records the run as full from its start")
    func fullRunRecord() {
        var machine = TenantMachine(request: Self.request(full: true), startedAt: Self.now)
        _ = machine.start()
        _ = machine.locked(true, now: Self.now)
        _ = machine.abandonedRunsMarked(0, now: Self.now)
        _ = machine.tenantDomainsRead(Self.listed, now: Self.now)
        #expect(machine.tenantDomainsStored(now: Self.now) == .startRunRecord(.full))
    }

    @Test("a new domain is confirmed from the tenant's list and recorded before the run; an unverified one is reported, the verified one syncs")
    func domainVerification() {
        let domains = [DomainRecord(domain: "new.example", tenantID: Self.tenant), DomainRecord(domain: "old.example", tenantID: Self.tenant, verifiedAt: Self.now)]
        var machine = TenantMachine(request: Self.request(domains: domains), startedAt: Self.now)
        _ = machine.start()
        _ = machine.locked(true, now: Self.now)
        _ = machine.abandonedRunsMarked(0, now: Self.now)
        _ = machine.tenantDomainsRead(Self.listed, now: Self.now)
        guard case .recordVerification("new.example", false, let problem?) = machine.tenantDomainsStored(now: Self.now) else {
            Issue.record("expected the verification to be recorded with its problem")
            return
        }
        #expect(problem.contains("not a verified domain"))
        #expect(machine.verificationRecorded(now: Self.now) == .startRunRecord(.incremental))
        _ = machine.runRecordStarted(1)
        _ = machine.firstLoadFinished(FirstLoadReport(outcome: .notParallel), now: Self.now)
        guard case .finishRunRecord(_, let result) = machine.roundsFinished([], throttled: 0, now: Self.now) else { Issue.record("expected the record"); return }
        #expect(result.unverifiedDomains == ["new.example"])
    }

    @Test("a domain the tenant does not list at all is not verified")
    func unlistedDomain() {
        var machine = TenantMachine(request: Self.request(domains: [DomainRecord(domain: "elsewhere.example", tenantID: Self.tenant)]), startedAt: Self.now)
        _ = machine.start()
        _ = machine.locked(true, now: Self.now)
        _ = machine.abandonedRunsMarked(0, now: Self.now)
        _ = machine.tenantDomainsRead(Self.listed, now: Self.now)
        guard case .recordVerification("elsewhere.example", false, _) = machine.tenantDomainsStored(now: Self.now) else { Issue.record("expected a refusal"); return }
    }

    @Test("when no domain of the tenant is verified, nothing is synced and no run is recorded")
    func noVerifiedDomain() {
        var machine = TenantMachine(request: Self.request(domains: [DomainRecord(domain: "new.example", tenantID: Self.tenant)]), startedAt: Self.now)
        _ = machine.start()
        _ = machine.locked(true, now: Self.now)
        _ = machine.abandonedRunsMarked(0, now: Self.now)
        _ = machine.tenantDomainsRead(Self.listed, now: Self.now)
        _ = machine.tenantDomainsStored(now: Self.now)
        #expect(machine.verificationRecorded(now: Self.now) == .unlock)
        let result = Self.finished(machine.unlocked())
        #expect(result?.state == .failed && result?.failure?.kind == .domainNotVerified && result?.runID == nil)
    }

    @Test("when the domain list cannot be read and a new domain awaits confirmation, the tenant fails with a run record saying why")
    func domainListFailsWithNewDomain() {
        var machine = TenantMachine(request: Self.request(domains: [DomainRecord(domain: "new.example", tenantID: Self.tenant)]), startedAt: Self.now)
        _ = machine.start()
        _ = machine.locked(true, now: Self.now)
        _ = machine.abandonedRunsMarked(0, now: Self.now)
        #expect(machine.tenantDomainsFailed(GraphError(code: .adminConsentRequired, message: "no consent"), now: Self.now) == .startRunRecord(.incremental))
        guard case .finishRunRecord(5, let result) = machine.runRecordStarted(5) else { Issue.record("expected the record"); return }
        #expect(result.state == .failed && result.failure?.kind == .consentMissing)
        #expect(machine.runRecordFinished() == .unlock)
    }

    @Test("when the domain list cannot be read but every domain is confirmed already, the sync goes on")
    func domainListFailsWithConfirmedDomains() {
        var machine = TenantMachine(request: Self.request(), startedAt: Self.now)
        _ = machine.start()
        _ = machine.locked(true, now: Self.now)
        _ = machine.abandonedRunsMarked(0, now: Self.now)
        #expect(machine.tenantDomainsFailed(GraphError(code: .permissionMissing, message: "no Directory.Read.All"), now: Self.now) == .startRunRecord(.incremental))
        guard case .firstLoad = machine.runRecordStarted(5) else { Issue.record("expected the rounds"); return }
    }

    @Test("a dry run writes nothing: no crashed runs marked, no verification or run recorded")
    func dryRun() {
        let domains = [DomainRecord(domain: "new.example", tenantID: Self.tenant), DomainRecord(domain: "old.example", tenantID: Self.tenant, verifiedAt: Self.now)]
        var machine = TenantMachine(request: Self.request(dryRun: true, domains: domains), startedAt: Self.now)
        _ = machine.start()
        #expect(machine.locked(true, now: Self.now) == .readTenantDomains)
        let listed = [GraphDomain(name: "new.example", isVerified: true), GraphDomain(name: "old.example", isVerified: true)]
        guard case .runRounds(let options) = machine.tenantDomainsRead(listed, now: Self.now) else { Issue.record("expected rounds"); return }
        #expect(options.dryRun)
        #expect(machine.roundsFinished([(.users, .success(Self.report(.users)))], throttled: 0, now: Self.now) == .unlock)
        #expect(Self.finished(machine.unlocked())?.dryRun == true)
    }

    @Test("round outcomes: a failure outranks an interruption, a halt is reported with the summed deletions, a resync marks the run")
    func outcomes() {
        func result(_ outcomes: [(DirectoryResource, Result<RoundReport, any Error>)]) -> TenantSyncResult? {
            var machine = TenantMachine(request: Self.request(), startedAt: Self.now)
            _ = machine.start()
            _ = machine.locked(true, now: Self.now)
            _ = machine.abandonedRunsMarked(0, now: Self.now)
            _ = machine.tenantDomainsRead(Self.listed, now: Self.now)
            _ = machine.tenantDomainsStored(now: Self.now)
            _ = machine.runRecordStarted(1)
            _ = machine.firstLoadFinished(FirstLoadReport(outcome: .notParallel), now: Self.now)
            guard case .finishRunRecord(_, let result) = machine.roundsFinished(outcomes, throttled: 0, now: Self.now) else { return nil }
            return result
        }
        let failed = result([(.users, .failure(CancellationError())), (.groups, .failure(GraphError(code: .transport, message: "down")))])
        #expect(failed?.state == .failed && failed?.failure?.kind == .transport)
        let interrupted = result([(.users, .failure(CancellationError())), (.groups, .success(Self.report(.groups)))])
        #expect(interrupted?.state == .interrupted)
        let verdict = DeletionGuard.Verdict(deletions: 30, limit: 20, tenantObjects: 100)
        let halted = result([(.users, .success(Self.report(.users, .halted(verdict)))), (.groups, .success(Self.report(.groups, .halted(verdict))))])
        #expect(halted?.state == .halted && halted?.failure?.message.contains("delete 60 of 100") == true)
        let resync = result([(.users, .success(Self.report(.users, start: .resync))), (.groups, .success(Self.report(.groups)))])
        #expect(resync?.mode == .resync)
    }

    private func machineAtFirstLoad() -> TenantMachine {
        var machine = TenantMachine(request: Self.request(), startedAt: Self.now)
        _ = machine.start()
        _ = machine.locked(true, now: Self.now)
        _ = machine.abandonedRunsMarked(0, now: Self.now)
        _ = machine.tenantDomainsRead(Self.listed, now: Self.now)
        _ = machine.tenantDomainsStored(now: Self.now)
        _ = machine.runRecordStarted(3)
        return machine
    }

    @Test("a parallel first load that loaded the tenant is followed by catch-up rounds from its links, and the run is recorded as full")
    func firstLoadThenCatchUp() {
        var machine = machineAtFirstLoad()
        var report = FirstLoadReport(outcome: .loaded)
        report.requests = 40
        guard case .runRounds(let options) = machine.firstLoadFinished(report, now: Self.now) else { Issue.record("expected the catch-up rounds"); return }
        #expect(options.catchingUp)
        guard case .finishRunRecord(3, let result) = machine.roundsFinished([(.users, .success(Self.report(.users)))], throttled: 0, now: Self.now) else {
            Issue.record("expected the record")
            return
        }
        #expect(result.mode == .full && result.firstLoad?.requests == 40 && result.state == .succeeded)
    }

    @Test("a first load that fell back runs the sequential first rounds and keeps why; one that failed fails the tenant with a record")
    func firstLoadFallsBackOrFails() {
        var fellBack = machineAtFirstLoad()
        guard case .runRounds(let options) = fellBack.firstLoadFinished(FirstLoadReport(outcome: .fellBack("filters refused")), now: Self.now) else {
            Issue.record("expected the sequential rounds")
            return
        }
        #expect(!options.catchingUp)
        var failed = machineAtFirstLoad()
        guard case .finishRunRecord(3, let result) = failed.firstLoadFailed(GraphError(code: .transport, message: "down"), now: Self.now) else {
            Issue.record("expected the record")
            return
        }
        #expect(result.state == .failed && result.failure?.kind == .transport)
    }
}
