import DirSyncCore
import DirSyncTestDoubles
import Foundation
import Logging
import Testing

/// The executors (``RoundRunner``, ``TenantSync``) carrying the machines' actions out against an
/// in-memory directory with the store's semantics and a scripted Graph: no PostgreSQL, no network,
/// no sleep.
@Suite("Engine executors over an in-memory directory")
struct EngineExecutorTests {
    static let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
    static let tenant = UUID(uuidString: "aaaaaaaa-0000-4000-8000-000000000001")!
    static let ids = (0..<40).map { UUID(uuidString: String(format: "00000000-0000-4000-8000-%012d", $0))! }

    static func user(_ index: Int, _ name: String) -> ObjectChange {
        .user(ids[index]) { $0.user.displayName = .value(.text(name)); $0.user.mail = .value(.text("u\(index)@contoso.example")) }
    }

    /// A first round of `pages` pages of 3 users each.
    static func firstRound(pages: Int = 6) -> [[ObjectChange]] {
        (0..<pages).map { page in (0..<3).map { user(page * 3 + $0, "user \(page * 3 + $0)") } }
    }

    static func runner(_ directory: InMemoryDirectory, _ source: ScriptedDeltaSource, clock: ManualClock) async throws -> RoundRunner {
        try await directory.withRoundStore(tenantID: tenant, resource: .users, runID: 1) { store in
            RoundRunner(resource: .users, source: source, store: store, time: clock, logger: logger)
        }
    }

    static func round(_ directory: InMemoryDirectory, _ source: ScriptedDeltaSource, clock: ManualClock,
                      options: RoundOptions = RoundOptions(deletionGuard: DeletionGuard(allowDeletes: true))) async throws -> RoundReport {
        var options = options
        options.maxPagesPerTransaction = 1
        return try await runner(directory, source, clock: clock).run(options)
    }

    @Test("a process killed mid-round resumes after the last committed page, catches up, and ends where an uninterrupted run ends")
    func killedRoundResumes() async throws {
        let pages = Self.firstRound()
        let changes: [[[ObjectChange]]] = [[[Self.user(0, "renamed"), .user(Self.ids[1]) { $0.removed = .deleted }]]]
        for killAt in 1...6 {
            let clock = ManualClock()
            let reference = InMemoryDirectory(clock: clock)
            _ = try await Self.round(reference, ScriptedDeltaSource(pages: pages, laterRounds: changes), clock: clock)
            _ = try await Self.round(reference, ScriptedDeltaSource(pages: pages, laterRounds: changes), clock: clock)

            let directory = InMemoryDirectory(clock: clock)
            directory.crash(inWrite: killAt + 1)  // the round's start is write 1
            await #expect(throws: InMemoryDirectory.Crash.self) {
                _ = try await Self.round(directory, ScriptedDeltaSource(pages: pages, laterRounds: changes), clock: clock)
            }
            #expect(directory.snapshot.cursors[.users]?.roundPages == killAt - 1, "kill at write \(killAt + 1)")
            let resumed = try await Self.round(directory, ScriptedDeltaSource(pages: pages, laterRounds: changes), clock: clock)
            // Killed before its first page committed, the round starts over; later, it resumes and catches up at once.
            #expect(resumed.start == (killAt == 1 ? RoundStart.full : .resumed), "kill at write \(killAt + 1)")
            if killAt == 1 { _ = try await Self.round(directory, ScriptedDeltaSource(pages: pages, laterRounds: changes), clock: clock) }
            #expect(directory.live(.users) == reference.live(.users), "kill at write \(killAt + 1)")
            #expect(directory.snapshot.cursors[.users]?.deltaLink == ScriptedDeltaSource.finalDeltaLink)
        }
    }

    @Test("Graph's 410 mid-round restarts the round once as a full round, whose sweep catches what disappeared")
    func resyncSweeps() async throws {
        let clock = ManualClock()
        let directory = InMemoryDirectory(clock: clock)
        _ = try await Self.round(directory, ScriptedDeltaSource(pages: Self.firstRound()), clock: clock)
        clock.advance(3600)
        // The tenant lost its last page's users while no delta state existed; the next round's link is gone.
        let remaining = Array(Self.firstRound().dropLast())
        let report = try await Self.round(directory, ScriptedDeltaSource(pages: remaining, failOnceAt: 2), clock: clock,
                                          options: RoundOptions(forceFull: true, deletionGuard: DeletionGuard(allowDeletes: true)))
        #expect(report.start == .resync && report.objectsDeleted == 3)
        #expect(directory.live(.users).count == 15)
        #expect(directory.snapshot.objects[.users]?[Self.ids[17]]?.deletedReason == .notInFullSync)
    }

    @Test("a dry run takes the real path (a 410 included) and writes nothing")
    func dryRunWritesNothing() async throws {
        let clock = ManualClock()
        let directory = InMemoryDirectory(clock: clock)
        _ = try await Self.round(directory, ScriptedDeltaSource(pages: Self.firstRound()), clock: clock)
        let before = directory.snapshot
        clock.advance(3600)
        let remaining = Array(Self.firstRound().dropLast())
        let report = try await Self.round(directory, ScriptedDeltaSource(pages: remaining, failOnceAt: 1), clock: clock,
                                          options: RoundOptions(forceFull: true, dryRun: true))
        #expect(report.start == .resync)
        #expect(report.deletionsPlanned == 3 && report.objectsDeleted == 3)
        let after = directory.snapshot
        #expect(after.commits == before.commits)
        #expect(after.objects[.users] == before.objects[.users] && after.cursors == before.cursors)
    }

    @Test("a dry run over a halted round reports whether the guard would now let it through, and releases nothing")
    func dryRunOverHaltedRound() async throws {
        let clock = ManualClock()
        let directory = InMemoryDirectory(clock: clock)
        let doomed = (0..<15).map { ObjectChange.user(Self.ids[$0]) { $0.removed = .deleted } }
        let graph = ScriptedDeltaSource(pages: Self.firstRound(), laterRounds: [[doomed], [[]]])
        _ = try await Self.round(directory, graph, clock: clock)
        let halted = try await Self.round(directory, graph, clock: clock, options: RoundOptions(deletionGuard: DeletionGuard(fixedLimit: 5)))
        #expect(halted.haltedVerdict?.deletions == 15)
        let held = directory.snapshot
        let dry = try await Self.round(directory, graph, clock: clock, options: RoundOptions(dryRun: true, deletionGuard: DeletionGuard(allowDeletes: true)))
        #expect(dry.start == .haltedRelease && dry.objectsDeleted == 15)
        #expect(directory.snapshot.commits == held.commits && directory.live(.users).count == 18)
    }

    @Test("the tenant executor skips a tenant whose lock another run holds, and writes nothing for it")
    func skippedTenant() async throws {
        let clock = ManualClock()
        let directory = InMemoryDirectory(clock: clock, lockedElsewhere: true)
        let sync = TenantSync(ledger: directory, source: ScriptedDeltaSource(pages: Self.firstRound()), time: clock, logger: Self.logger)
        let result = try await sync.run(TenantSyncRequest(tenantID: Self.tenant, domains: [DomainRecord(domain: "a.example", tenantID: Self.tenant, verifiedAt: clock.now())],
                                                          options: RoundOptions()))
        #expect(result.state == .skipped)
        #expect(directory.snapshot.commits == 0 && directory.snapshot.runs.isEmpty)
    }

    @Test("the tenant executor records the run, syncs every resource, and releases the lock")
    func tenantRun() async throws {
        let clock = ManualClock()
        let directory = InMemoryDirectory(clock: clock)
        let sync = TenantSync(ledger: directory, source: ScriptedDeltaSource(pages: Self.firstRound()), time: clock, logger: Self.logger)
        let request = TenantSyncRequest(tenantID: Self.tenant, domains: [DomainRecord(domain: "a.example", tenantID: Self.tenant, verifiedAt: clock.now())],
                                        options: RoundOptions())
        let result = try await sync.run(request)
        #expect(result.state == .succeeded && result.runID == 1)
        #expect(directory.snapshot.runs[1]?.result?.state == .succeeded)
        #expect(!directory.snapshot.locked)
        #expect(directory.live(.users).count == 18)
    }

    @Test("a tenant's rounds send their first requests while its domains are read, and take those answers instead of asking again")
    func firstRequestsGoOutWithTheDomainRead() async throws {
        let clock = ManualClock()
        let directory = InMemoryDirectory(clock: clock)
        let source = ScriptedDeltaSource(pages: Self.firstRound(), holdsDomains: true)
        let sync = TenantSync(ledger: directory, source: source, time: clock, logger: Self.logger)
        var options = RoundOptions()
        options.firstLoad = .delta
        let request = TenantSyncRequest(tenantID: Self.tenant, domains: [DomainRecord(domain: "a.example", tenantID: Self.tenant, verifiedAt: clock.now())],
                                        options: options)
        let run = Task { try await sync.run(request) }
        // Every resource's first page is asked for while the domain list is still unanswered.
        try await source.waitForLog("each resource's first request before the domain list is answered") { log in
            log.contains("domains") && log.filter { $0 == "fetch 0" }.count == DirectoryResource.allCases.count
        }
        #expect(directory.snapshot.commits == 0)
        source.releaseDomains()
        let result = try await run.value
        #expect(result.state == .succeeded)
        #expect(source.fetchedLinks.filter { $0 == ScriptedDeltaSource.link(0) }.count == DirectoryResource.allCases.count)
        #expect(directory.live(.users).count == 18)
    }

    @Test("a tenant whose new domain it has not verified writes nothing, though its first requests went out")
    func unverifiedDomainWritesNothingFetchedAhead() async throws {
        let clock = ManualClock()
        let directory = InMemoryDirectory(clock: clock)
        let source = ScriptedDeltaSource(pages: Self.firstRound(), domains: [GraphDomain(name: "a.example", isVerified: false)])
        let sync = TenantSync(ledger: directory, source: source, time: clock, logger: Self.logger)
        var options = RoundOptions()
        options.firstLoad = .delta
        let result = try await sync.run(TenantSyncRequest(tenantID: Self.tenant, domains: [DomainRecord(domain: "a.example", tenantID: Self.tenant)],
                                                          options: options))
        #expect(result.state == .failed && result.failure?.kind == .domainNotVerified)
        #expect(directory.live(.users).isEmpty && directory.snapshot.cursors.isEmpty)
        #expect(!directory.snapshot.locked)
    }

}
