import DirSyncCore
import Foundation
import Synchronization
import Testing

@Suite("Fleet: which tenants a run syncs, how many at once, and how the run ends")
struct FleetTests {
    private static let tenantA = UUID(uuidString: "aaaaaaaa-0000-0000-0000-000000000001")!
    private static let tenantB = UUID(uuidString: "bbbbbbbb-0000-0000-0000-000000000002")!
    private static let tenantC = UUID(uuidString: "cccccccc-0000-0000-0000-000000000003")!
    private static let app = UUID(uuidString: "11111111-2222-3333-4444-555555555555")!

    private let domains = [
        DomainRecord(domain: "b.example", tenantID: tenantA, deletionLimit: 40),
        DomainRecord(domain: "a.example", tenantID: tenantA, clientID: app, deletionLimit: 25),
        DomainRecord(domain: "c.example", tenantID: tenantB),
        DomainRecord(domain: "off.example", tenantID: tenantC, enabled: false),
    ]

    @Test("all: enabled domains grouped by tenant, in tenant order; disabled domains are left out")
    func all() throws {
        let plan = try FleetPlan.plan(domains: domains, selection: .all, options: RoundOptions())
        #expect(plan.tenants.map(\.tenantID) == [Self.tenantA, Self.tenantB])
        #expect(plan.tenants[0].domains.map(\.domain) == ["a.example", "b.example"])
        #expect(plan.enabledTenantCount == 2)
        #expect(plan.nothingToDo == nil)
    }

    @Test("a named domain brings its tenant's other enabled domains, since a tenant syncs once for all of them")
    func namedBringsTenant() throws {
        let plan = try FleetPlan.plan(domains: domains, selection: .named(["b.example"]), options: RoundOptions())
        #expect(plan.tenants.map(\.tenantID) == [Self.tenantA])
        #expect(plan.tenants[0].domains.map(\.domain) == ["a.example", "b.example"])
    }

    @Test("naming a domain that is not onboarded or is disabled is refused with the fix", arguments: [
        ("nope.example", "is not onboarded; add it with dirsync domains add nope.example"),
        ("off.example", "is disabled; enable it again with dirsync domains add off.example"),
    ])
    func namedRefusals(name: String, message: String) {
        #expect { try FleetPlan.plan(domains: domains, selection: .named([name]), options: RoundOptions()) } throws: { error in
            (error as? FleetPlan.Refusal)?.message == "\(name) \(message)"
        }
    }

    @Test("a shard syncs exactly the tenants it owns, and says so when it owns none")
    func shard() throws {
        var owned: [UUID] = []
        for index in 0..<3 {
            let plan = try FleetPlan.plan(domains: domains, selection: .shard(try TenantShard(index: index, count: 3)), options: RoundOptions())
            #expect(plan.tenants.allSatisfy { TenantShard.index(ofTenant: $0.tenantID, count: 3) == index })
            if plan.tenants.isEmpty {
                #expect(plan.nothingToDo == "shard \(index)/3 owns none of the 2 enabled tenants; nothing to sync")
            }
            owned += plan.tenants.map(\.tenantID)
        }
        #expect(owned.sorted { $0.uuidString < $1.uuidString } == [Self.tenantA, Self.tenantB])
    }

    @Test("with no enabled domain the run has nothing to do and says how to onboard one")
    func nothingEnabled() throws {
        let plan = try FleetPlan.plan(domains: [domains[3]], selection: .all, options: RoundOptions())
        #expect(plan.tenants.isEmpty)
        #expect(plan.nothingToDo == "no enabled domains to sync; onboard one with dirsync domains add DOMAIN")
    }

    @Test("a tenant takes the smallest deletion limit of its domains and a domain's client id, unless --max-deletions is given")
    func perTenantOptions() throws {
        let plan = try FleetPlan.plan(domains: domains, selection: .all, options: RoundOptions())
        #expect(plan.tenants[0].options.deletionGuard.fixedLimit == 25)
        #expect(plan.tenants[0].clientID == "11111111-2222-3333-4444-555555555555")
        #expect(plan.tenants[1].options.deletionGuard.fixedLimit == nil)
        #expect(plan.tenants[1].clientID == nil)
        let explicit = try FleetPlan.plan(domains: domains, selection: .all, options: RoundOptions(deletionGuard: DeletionGuard(fixedLimit: 7)))
        #expect(explicit.tenants.map(\.options.deletionGuard.fixedLimit) == [7, 7])
    }

    @Test("the runner keeps at most `concurrency` tenants in flight and returns every result in tenant order")
    func boundedConcurrency() async throws {
        let many = (0..<9).map { DomainRecord(domain: "d\($0).example", tenantID: UUID()) }
        let plan = try FleetPlan.plan(domains: many, selection: .all, options: RoundOptions())
        let gauge = Mutex((now: 0, peak: 0))
        let results = await FleetRunner(concurrency: 3).run(plan) { work in
            gauge.withLock { $0.now += 1; $0.peak = max($0.peak, $0.now) }
            await Task.yield()
            gauge.withLock { $0.now -= 1 }
            return Self.result(work, .succeeded)
        }
        #expect(results.map(\.tenantID) == plan.tenants.map(\.tenantID))
        #expect(gauge.withLock { $0.peak } <= 3)
    }

    @Test("a tenant whose sync throws gets a failed result with the error's class; the other tenants still sync")
    func errorsBecomeResults() async throws {
        let plan = try FleetPlan.plan(domains: domains, selection: .all, options: RoundOptions())
        let results = await FleetRunner(concurrency: 1).run(plan) { work in
            if work.tenantID == Self.tenantA { throw GraphError(code: .transport, message: "no response from Graph") }
            return Self.result(work, .succeeded)
        }
        #expect(results.map(\.state) == [.failed, .succeeded])
        #expect(results[0].failure?.kind == .transport)
        #expect(results[0].domains == ["a.example", "b.example"])
    }

    @Test("once the run is cancelled, tenants not yet started end as interrupted without being started")
    func cancellation() async throws {
        let many = (0..<4).map { DomainRecord(domain: "d\($0).example", tenantID: UUID()) }
        let plan = try FleetPlan.plan(domains: many, selection: .all, options: RoundOptions())
        let started = Mutex(0)
        let (entered, enteredSignal) = AsyncStream<Void>.makeStream()
        let task = Task {
            await FleetRunner(concurrency: 1).run(plan) { work in
                started.withLock { $0 += 1 }
                enteredSignal.yield()
                // Wait for the cancellation: a stream that never yields ends when the task is cancelled.
                for await _ in AsyncStream<Void> { _ in } {}
                throw CancellationError()
            }
        }
        for await _ in entered { break }
        task.cancel()
        let results = await task.value
        #expect(started.withLock { $0 } == 1)
        #expect(results.count == 4)
        #expect(results.allSatisfy { $0.state == .interrupted })
    }

    @Test("the exit policy: any failure (or unverified domain) outranks a halt, which outranks success", arguments: [
        ([TenantSyncResult.State.succeeded, .skipped], false, RunOutcome.succeeded),
        ([.succeeded, .halted], false, .halted),
        ([.halted, .failed], false, .failed),
        ([.interrupted], false, .failed),
        ([.succeeded], true, .failed),
    ])
    func outcome(states: [TenantSyncResult.State], unverified: Bool, expected: RunOutcome) {
        var results = states.map { Self.result(TenantWork(tenantID: UUID(), domains: [], options: RoundOptions(), clientID: nil), $0) }
        if unverified { results[0].unverifiedDomains = ["x.example"] }
        #expect(RunOutcome(results) == expected)
        #expect((RunOutcome.headline(results) == nil) == (expected == .succeeded))
    }

    @Test("tenant resolution: the flag, else the onboarded record, else discovery (asked only then)")
    func tenantResolution() async throws {
        let record = domains[0]
        let asked = Mutex(0)
        let discover: (String) async throws -> UUID = { _ in asked.withLock { $0 += 1 }; return Self.tenantC }
        let fromFlag = try await TenantResolution.resolve(domain: "b.example", flag: Self.tenantB, record: record, discover: discover)
        #expect(fromFlag.id == Self.tenantB && fromFlag.source == .option)
        let fromRecord = try await TenantResolution.resolve(domain: "b.example", flag: nil, record: record, discover: discover)
        #expect(fromRecord.id == Self.tenantA && fromRecord.source == .onboarded)
        #expect(asked.withLock { $0 } == 0)
        let discovered = try await TenantResolution.resolve(domain: "new.example", flag: nil, record: nil, discover: discover)
        #expect(discovered.id == Self.tenantC && discovered.source == .discovery)
        #expect(asked.withLock { $0 } == 1)
    }

    private static func result(_ work: TenantWork, _ state: TenantSyncResult.State) -> TenantSyncResult {
        TenantSyncResult(tenantID: work.tenantID, domains: work.domains.map(\.domain), state: state, mode: .incremental, dryRun: false,
                         startedAt: Date(timeIntervalSince1970: 0), finishedAt: Date(timeIntervalSince1970: 1))
    }
}
