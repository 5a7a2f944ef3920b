import DirSyncCore
import DirSyncTestDoubles
import Foundation
import Testing

/// The parallel first load's decisions, with no network, database or clock.
@Suite("Parallel first load: governor, scheduler, machine, list pages")
struct FirstLoadDecisionsTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let endpoints = GraphEndpoints(graphBaseURL: "https://graph.microsoft.com", authorityHost: "https://login.microsoftonline.com")

    // MARK: - Governor

    @Test("the governor grows by one request per round of clean answers, holds above 80 %, halves at 90 % or on a throttled answer and pauses for its Retry-After")
    func governorSteers() {
        var governor = RateGovernor(budget: ResourceUnitBudget(units: 1_000_000, window: 10), initial: 4, minimum: 2, maximum: 8)
        for _ in 0..<4 { governor.finished(estimated: 1, .answered(resourceUnits: 1, limitPercentage: nil, throttled: 0, retryAfter: nil), at: Self.now) }
        #expect(governor.limit == 5)
        for _ in 0..<20 { governor.finished(estimated: 1, .answered(resourceUnits: 1, limitPercentage: 0.85, throttled: 0, retryAfter: nil), at: Self.now) }
        #expect(governor.limit == 5, "above 80 % it holds")
        governor.finished(estimated: 1, .answered(resourceUnits: 1, limitPercentage: 0.93, throttled: 0, retryAfter: nil), at: Self.now)
        #expect(governor.limit == 2)
        #expect(governor.admits(inFlight: 1, cost: 1, at: Self.now) == .now)
        #expect(governor.admits(inFlight: 2, cost: 1, at: Self.now) == .afterACompletion)
        governor.finished(estimated: 1, .answered(resourceUnits: 1, limitPercentage: nil, throttled: 1, retryAfter: 7), at: Self.now)
        #expect(governor.admits(inFlight: 0, cost: 1, at: Self.now.addingTimeInterval(3)) == .at(Self.now.addingTimeInterval(7)))
        #expect(governor.admits(inFlight: 0, cost: 1, at: Self.now.addingTimeInterval(7)) == .now)
        for _ in 0..<200 { governor.finished(estimated: 1, .answered(resourceUnits: 1, limitPercentage: nil, throttled: 0, retryAfter: nil), at: Self.now) }
        #expect(governor.limit == 8 && governor.peakLimit == 8, "never above its maximum")
    }

    @Test("the budget holds requests back until spending leaves the window, and corrects estimates by what Graph charged")
    func budgetWindow() {
        var governor = RateGovernor(budget: ResourceUnitBudget(units: 10, window: 10), initial: 50)
        for second in 0..<5 { governor.started(cost: 2, at: Self.now.addingTimeInterval(Double(second))) }
        let later = Self.now.addingTimeInterval(5)
        #expect(governor.admits(inFlight: 5, cost: 2, at: later) == .at(Self.now.addingTimeInterval(10)), "the window is full until the first spend leaves it")
        governor.finished(estimated: 2, .answered(resourceUnits: 1, limitPercentage: nil, throttled: 0, retryAfter: nil), at: later)
        #expect(governor.budget.used(at: later) == 9)
        #expect(governor.admits(inFlight: 4, cost: 1, at: later) == .now)
        #expect(ResourceUnitBudget.tenant(users: 49).units == 2_625 && ResourceUnitBudget.tenant(users: 500).units == 3_750
                && ResourceUnitBudget.tenant(users: 501).units == 6_000 && ResourceUnitBudget.app().units == 112_500)
    }

    // MARK: - Scheduler

    @Test("the scheduler reads group ids first, turns each page of ids into chunks of scoped chains, and is listed only when every chain is done")
    func schedulerChunks() throws {
        var scheduler = LoadScheduler(progress: LoadScheduler.fresh(endpoints: Self.endpoints, schema: .standard), endpoints: Self.endpoints, schema: .standard)
        let next = scheduler.next()
        let first = try #require(next)
        #expect(first.stream == .groupIDs && first.kind == .ids && first.link.hasSuffix("/groups?$select=id&$top=999"))
        let ids = (0..<45).map { _ in UUID() }
        let (progress, chunks) = scheduler.received(.groupIDs, objects: 45, nextLink: nil, groupIDs: ids)
        #expect(progress.done && chunks.count == 3 && chunks.map(\.groupIDs.count) == [20, 20, 5])
        let nextChunk = scheduler.next()
        let chunkRequest = try #require(nextChunk)
        #expect(chunkRequest.stream == .groups(0) && chunkRequest.kind == .groupsDelta)
        #expect(chunkRequest.link.contains("/groups/delta?$select=") && chunkRequest.link.contains("&$filter=id%20eq%20%27\(ids[0].uuidString.lowercased())%27%20or%20id%20eq"))
        var requests = [chunkRequest]
        while let next = scheduler.next() { requests.append(next) }
        #expect(requests.count == 3 + FirstLoadPlan.userPrefixes.count + 2, "every stream once: chains have one request in flight")
        #expect(Set(requests.map(\.stream)).count == requests.count)
        let none = scheduler.next()
        #expect(none == nil && !scheduler.isListed)
        let partition = try #require(requests.first { if case .users("#") = $0.stream { true } else { false } })
        #expect(partition.link.contains("$filter=startswith%28userPrincipalName%2C%27%23%27%29") == false, "parentheses and commas stay readable")
        #expect(partition.link.contains("$filter=startswith(userPrincipalName,%27%23%27)") && partition.link.contains("$expand=manager($select=id)&$top=100"))
        for request in requests { _ = scheduler.received(request.stream, objects: 1, nextLink: nil) }
        #expect(scheduler.isListed && scheduler.chunkCounts == (3, 3))
    }

    @Test("a stream whose page token expired starts over from its first link and counts the restart; a killed load resumes from stored positions")
    func schedulerRestartsAndResumes() throws {
        var scheduler = LoadScheduler(progress: LoadScheduler.fresh(endpoints: Self.endpoints, schema: .standard), endpoints: Self.endpoints, schema: .standard)
        var contacts: LoadRequest?
        while let request = scheduler.next() { if request.stream == .contacts { contacts = request } }
        let firstLink = try #require(contacts).link
        _ = scheduler.received(.contacts, objects: 999, nextLink: "https://graph.microsoft.com/v1.0/contacts?$skiptoken=x")
        let restarted = scheduler.restart(.contacts)
        #expect(restarted.link == firstLink && restarted.restarts == 1 && restarted.pages == 1)
        let again = scheduler.next()
        #expect(again?.link == firstLink)

        let stored = [StreamProgress(stream: .userIDs, link: "https://graph.microsoft.com/v1.0/users?$skiptoken=y", pages: 4),
                      StreamProgress(stream: .groups(7), link: nil, groupIDs: [UUID()]), StreamProgress(stream: .contacts, link: nil)]
        var resumed = LoadScheduler(progress: stored, endpoints: Self.endpoints, schema: .standard)
        #expect(resumed.nextChunk == 8)
        let resumedNext = resumed.next(), resumedNone = resumed.next()
        #expect(resumedNext?.link == "https://graph.microsoft.com/v1.0/users?$skiptoken=y")
        #expect(resumedNone == nil)
    }

    // MARK: - Machine

    static func machine(_ setting: FirstLoadSetting = .auto, wait: TimeInterval = 60) -> FirstLoadMachine {
        FirstLoadMachine(setting: setting, safetyWait: wait, roundID: 9)
    }

    @Test("auto loads in parallel only a large tenant's first sync; delta never; a tenant with delta state never")
    func machineDecides() {
        var small = Self.machine()
        _ = small.start()
        #expect(small.stored(nil, firstSync: true, now: Self.now) == .count)
        #expect(small.counted(users: 900, groups: 100, now: Self.now) == .finish(.notParallel))
        var large = Self.machine()
        _ = large.start()
        _ = large.stored(nil, firstSync: true, now: Self.now)
        #expect(large.counted(users: 19_000, groups: 1_000, now: Self.now) == .probe)
        var synced = Self.machine(.parallel)
        _ = synced.start()
        #expect(synced.stored(nil, firstSync: false, now: Self.now) == .finish(.notParallel))
        var delta = Self.machine(.delta)
        _ = delta.start()
        #expect(delta.stored(nil, firstSync: true, now: Self.now) == .finish(.notParallel))
    }

    @Test("a parallel load: probe, links first, wait, list, check, fill once, complete; the stored load carries links, wait and streams")
    func machineRuns() throws {
        var machine = Self.machine(.parallel, wait: 60)
        _ = machine.start()
        _ = machine.stored(nil, firstSync: true, now: Self.now)
        #expect(machine.counted(users: nil, groups: nil, now: Self.now) == .probe)
        #expect(machine.probed(nil) == .takeLinks)
        let streams = LoadScheduler.fresh(endpoints: Self.endpoints, schema: .standard)
        guard case .begin(let load) = machine.linksTaken([.users: "u", .groups: "g", .contacts: "c"], streams: streams, now: Self.now) else {
            Issue.record("expected the load to be stored")
            return
        }
        #expect(load.roundID == 9 && load.waitUntil == Self.now.addingTimeInterval(60) && load.streams == streams && load.phase == .listing)
        #expect(machine.begun(now: Self.now) == .wait(until: Self.now.addingTimeInterval(60)))
        #expect(machine.waited(now: Self.now.addingTimeInterval(60)) == .list(streams))
        #expect(machine.listed() == .verify)
        let missing = LoadCompleteness(missingUsers: [UUID()], missingGroups: [], loadedUsers: 10, loadedGroups: 2)
        #expect(machine.checked(missing) == .fill(users: missing.missingUsers, groups: []))
        #expect(machine.filled() == .verify)
        // Still missing after the fill: deleted meanwhile; the counts decide.
        #expect(machine.checked(missing) == .complete(load))
        #expect(machine.completed() == .finish(.loaded))
    }

    @Test("a refused partition filter falls back at once; counts far from Graph's give the load up; a stored load resumes or is given up when set to delta")
    func machineFallsBack() {
        var refused = Self.machine(.parallel)
        _ = refused.start()
        _ = refused.stored(nil, firstSync: true, now: Self.now)
        _ = refused.counted(users: 10, groups: 1, now: Self.now)
        guard case .finish(.fellBack(let why)) = refused.probed("Request_UnsupportedQuery") else { Issue.record("expected a fallback"); return }
        #expect(why.contains("Request_UnsupportedQuery"))

        let stored = StoredFirstLoad(roundID: 4, phase: .listing, links: [:], linksTakenAt: Self.now, waitUntil: Self.now, countedUsers: 1_000,
                                     countedGroups: 100, streams: [])
        var resumed = Self.machine(.auto)
        _ = resumed.start()
        #expect(resumed.stored(stored, firstSync: true, now: Self.now) == .list([]))
        _ = resumed.listed()
        guard case .abandon(let reason) = resumed.checked(LoadCompleteness(missingUsers: [], missingGroups: [], loadedUsers: 700, loadedGroups: 100)) else {
            Issue.record("expected the load to be given up")
            return
        }
        #expect(reason.contains("700 users where Graph counted 1000"))
        guard case .finish(.fellBack) = resumed.abandoned() else { Issue.record("expected the fallback"); return }

        var setToDelta = Self.machine(.delta)
        _ = setToDelta.start()
        guard case .abandon = setToDelta.stored(stored, firstSync: true, now: Self.now) else { Issue.record("expected the load to be given up"); return }
        var after = Self.machine(.parallel)
        _ = after.start()
        var abandoned = stored
        abandoned.phase = .abandoned
        #expect(after.stored(abandoned, firstSync: true, now: Self.now) == .finish(.notParallel), "a given-up load is not tried again")
        #expect(LoadCompleteness.agrees(loaded: 980, counted: 1_000) && !LoadCompleteness.agrees(loaded: 970, counted: 1_000))
    }

    // MARK: - List pages

    @Test("a list page reads objects with the manager expanded, an id-only page reads ids, the last page has no link, a deltaLink is refused")
    func listPages() throws {
        let manager = "aaaaaaaa-0000-4000-8000-000000000009"
        let page = try DeltaPageDecoder.decodeList(Array("""
            {"@odata.nextLink": "https://graph.microsoft.com/v1.0/users?$skiptoken=a", "value": [
              {"id": "aaaaaaaa-0000-4000-8000-000000000001", "displayName": "Ann", "manager": {"@odata.type": "#microsoft.graph.user", "id": "\(manager)"}},
              {"id": "aaaaaaaa-0000-4000-8000-000000000002", "displayName": "Bo", "manager": null},
              {"id": "aaaaaaaa-0000-4000-8000-000000000003", "displayName": "Cy"}]}
            """.utf8), table: .users)
        #expect(page.nextLink == "https://graph.microsoft.com/v1.0/users?$skiptoken=a" && page.objects.count == 3)
        let managerIndex = try #require(FieldTable.users.index(of: "manager"))
        #expect(page.objects[0][managerIndex] == .value(.reference(UUID(uuidString: manager)!)))
        #expect(page.objects[1][managerIndex] == .null && page.objects[2][managerIndex] == .absent)
        let ids = try DeltaPageDecoder.decodeList(Array(#"{"value": [{"id": "aaaaaaaa-0000-4000-8000-000000000001"}]}"#.utf8),
                                                  table: FieldTable(resource: .users, fields: []))
        #expect(ids.nextLink == nil && ids.objects.map(\.id) == [UUID(uuidString: "aaaaaaaa-0000-4000-8000-000000000001")!])
        #expect(throws: MalformedPageError.self) {
            try DeltaPageDecoder.decodeList(Array(#"{"value": [], "@odata.deltaLink": "https://graph.microsoft.com/d"}"#.utf8), table: .users)
        }
    }
}
