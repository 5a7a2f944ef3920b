import Foundation
import Logging
import Synchronization

/// The resource units every tenant's load spends together, against Graph's budget per app across
/// tenants: shared by the loads of one `dirsync run`.
public final class FleetResourceUnits: Sendable {
    private let budget: Mutex<ResourceUnitBudget>

    public init(_ budget: ResourceUnitBudget = .app()) {
        self.budget = Mutex(budget)
    }

    /// When `cost` more units fit.
    func available(_ cost: Int, at now: Date) -> Date { budget.withLock { $0.available(cost, at: now) } }

    /// Records `units` spent (negative: an estimate corrected downwards).
    func spend(_ units: Int, at now: Date) { budget.withLock { $0.spend(units, at: now) } }

    /// Units spent in the window ending now.
    public func used(at now: Date) -> Int { budget.withLock { $0.used(at: now) } }
}

/// What a parallel first load did, for the log and the run record.
public struct FirstLoadReport: Sendable, Equatable {
    public var outcome: FirstLoadOutcome
    /// Graph requests the load sent (retries not counted), and the resource units they cost.
    public var requests = 0
    public var resourceUnits = 0
    /// Throttled responses the requests met (each waited out).
    public var throttled = 0
    /// The most requests in flight at once.
    public var peakInFlight = 0
    /// Pages read, and streams that started over.
    public var pages = 0
    public var restarts = 0
    public var seconds: Double = 0
    /// What the load wrote.
    public var written = PageWriteResult()

    public init(outcome: FirstLoadOutcome) {
        self.outcome = outcome
    }
}

/// Carries out a ``FirstLoadMachine``'s actions for one tenant: many list and scoped delta requests
/// in flight as the ``RateGovernor`` and the fleet's budget allow, pages written in batches by one
/// writer (each batch one transaction with the streams' positions), so a load killed at any instant
/// resumes from what it committed.
public struct FirstLoadRunner: Sendable {
    let source: any FirstLoadSource
    let store: any FirstLoadStore
    let time: any TimeSource
    let logger: Logger
    let setting: FirstLoadSetting
    let safetyWait: TimeInterval
    let fleet: FleetResourceUnits

    /// Batch items written per transaction, and items fetched but not yet written (memory bound).
    static let itemsPerBatch = 24
    static let itemsBuffered = 48

    public init(source: any FirstLoadSource, store: any FirstLoadStore, time: any TimeSource, logger: Logger,
                setting: FirstLoadSetting, safetyWait: TimeInterval, fleet: FleetResourceUnits) {
        self.source = source
        self.store = store
        self.time = time
        self.logger = logger
        self.setting = setting
        self.safetyWait = safetyWait
        self.fleet = fleet
    }

    public func run() async throws -> FirstLoadReport {
        let started = time.now()
        var machine = FirstLoadMachine(setting: setting, safetyWait: safetyWait, roundID: RoundMachine.roundID(startingAt: started))
        var report = FirstLoadReport(outcome: .notParallel)
        var load: StoredFirstLoad?
        var action = machine.start()
        while true {
            switch action {
            case .readState:
                let stored = try await store.storedLoad()
                load = stored
                action = machine.stored(stored, firstSync: try await store.isFirstSync(), now: time.now())
            case .count:
                // Eventual counts only size the load and check it; a tenant that refuses them still loads.
                let users = try? await source.count(.users)
                let groups = try? await source.count(.groups)
                action = machine.counted(users: users, groups: groups, now: time.now())
            case .probe:
                action = machine.probed(try await probe())
            case .takeLinks:
                try await store.showPhase("tokens", expected: [:])
                var links: [DirectoryResource: String] = [:]
                for resource in DirectoryResource.allCases { links[resource] = try await source.latestDeltaLink(resource) }
                report.requests += links.count
                action = machine.linksTaken(links, streams: LoadScheduler.fresh(endpoints: source.endpoints, schema: source.schema), now: time.now())
            case .begin(let new):
                load = new
                try await store.begin(new)
                logger.info("parallel first load started", metadata: ["counted.users": "\(new.countedUsers.map(String.init) ?? "-")",
                                                                      "counted.groups": "\(new.countedGroups.map(String.init) ?? "-")"])
                action = machine.begun(now: time.now())
            case .wait(let until):
                try await store.showPhase("waiting", expected: expected(load))
                try await time.sleep(seconds: max(0, until.timeIntervalSince(time.now())))
                action = machine.waited(now: time.now())
            case .list(let streams):
                try await store.showPhase("listing", expected: expected(load))
                do {
                    try await list(streams, roundID: load!.roundID, countedUsers: load?.countedUsers, report: &report)
                    action = machine.listed()
                } catch let refused as LoadRefused {
                    action = machine.listRefused(refused.reason)
                }
            case .verify:
                try await store.markVerifying()
                try await store.showPhase("verifying", expected: expected(load))
                action = machine.checked(try await store.completeness(roundID: load!.roundID))
            case .fill(let users, let groups):
                try await fill(users: users, groups: groups, roundID: load!.roundID, countedUsers: load?.countedUsers, report: &report)
                action = machine.filled()
            case .complete(let done):
                try await store.complete(done)
                action = machine.completed()
            case .abandon(let reason):
                logger.warning("parallel first load given up", metadata: ["reason": "\(reason)"])
                try await store.abandon(reason: reason)
                action = machine.abandoned()
            case .finish(let outcome):
                report.outcome = outcome
                report.seconds = time.now().timeIntervalSince(started)
                if case .fellBack(let why) = outcome { logger.warning("\(why)") }
                if outcome != .notParallel {
                    logger.info("parallel first load finished", metadata: [
                        "outcome": "\(outcome)", "requests": "\(report.requests)", "resource_units": "\(report.resourceUnits)",
                        "throttled": "\(report.throttled)", "in_flight.peak": "\(report.peakInFlight)", "pages": "\(report.pages)",
                    ])
                }
                return report
            }
        }
    }

    private func expected(_ load: StoredFirstLoad?) -> [DirectoryResource: Int] {
        var counts: [DirectoryResource: Int] = [:]
        counts[.users] = load?.countedUsers
        counts[.groups] = load?.countedGroups
        return counts
    }

    /// One partition's first object: `nil` when Graph serves the filter, or what it said.
    private func probe() async throws -> String? {
        let url = source.endpoints.listURL(source.schema.users, filter: FirstLoadPlan.userFilter(prefix: "a"), top: 1)
        do {
            _ = try await source.listPage(.users, link: url, idsOnly: false)
            return nil
        } catch let error as GraphError where error.code == .unsupportedQuery || error.code == .badRequest || error.code == .notFound {
            return error.description
        }
    }

    /// A partition filter Graph refused while listing.
    struct LoadRefused: Error {
        var reason: String
    }

    /// What one request brought.
    private enum Fetched: Sendable {
        case list(ListPage, GraphResponseInfo)
        case delta(DeltaPage, GraphResponseInfo)

        var info: GraphResponseInfo {
            switch self {
            case .list(_, let info), .delta(_, let info): info
            }
        }
    }

    private enum Completion: Sendable {
        case page(LoadRequest, Result<Fetched, any Error>)
        case tick
    }

    /// Reads every stream to its end: as many requests in flight as the governor and the fleet's
    /// budget allow, each answer handed to the writer with the stream's new position.
    private func list(_ streams: [StreamProgress], roundID: Int64, countedUsers: Int?, report: inout FirstLoadReport) async throws {
        let queue = LoadQueue()
        let source = self.source, store = self.store, logger = self.logger, time = self.time, fleet = self.fleet
        enum Part: Sendable { case fetched(FirstLoadReport), written(PageWriteResult) }
        let result = try await withThrowingTaskGroup(of: Part.self) { tasks -> FirstLoadReport in
            tasks.addTask {
                var written = PageWriteResult()
                while let items = await queue.take(max: Self.itemsPerBatch) {
                    written += try await store.write(Self.batch(items), roundID: roundID)
                    queue.written(items.count)
                }
                return .written(written)
            }
            tasks.addTask {
                defer { queue.finish() }
                return .fetched(try await Self.fetch(streams, source: source, queue: queue, time: time, logger: logger, fleet: fleet, countedUsers: countedUsers))
            }
            var fetched = FirstLoadReport(outcome: .notParallel)
            var written = PageWriteResult()
            do {
                for try await part in tasks {
                    switch part {
                    case .fetched(let report): fetched = report
                    case .written(let result): written = result
                    }
                }
            } catch {
                queue.finish()
                throw error
            }
            fetched.written = written
            return fetched
        }
        report.written += result.written
        report.requests += result.requests
        report.resourceUnits += result.resourceUnits
        report.throttled += result.throttled
        report.peakInFlight = max(report.peakInFlight, result.peakInFlight)
        report.pages += result.pages
        report.restarts += result.restarts
    }

    /// The fetch loop of ``list(_:roundID:countedUsers:report:)``.
    private static func fetch(_ streams: [StreamProgress], source: any FirstLoadSource, queue: LoadQueue, time: any TimeSource, logger: Logger,
                              fleet: FleetResourceUnits, countedUsers: Int?) async throws -> FirstLoadReport {
        var scheduler = LoadScheduler(progress: streams, endpoints: source.endpoints, schema: source.schema)
        var governor = RateGovernor(budget: .tenant(users: countedUsers ?? 1_000))
        var stats = FirstLoadReport(outcome: .notParallel)
        try await withThrowingTaskGroup(of: Completion.self) { group in
            var inFlight = 0
            var timerArmed = false
            while true {
                try Task.checkCancellation()
                var wakeAt: Date?
                while queue.buffered < Self.itemsBuffered {
                    let now = time.now()
                    let admission = governor.admits(inFlight: inFlight, cost: 2, at: now)
                    if case .at(let when) = admission { wakeAt = when; break }
                    if admission == .afterACompletion { break }
                    let fleetAt = fleet.available(2, at: now)
                    if fleetAt > now { wakeAt = fleetAt; break }
                    guard let request = scheduler.next() else { break }
                    governor.started(cost: request.estimatedCost, at: now)
                    fleet.spend(request.estimatedCost, at: now)
                    inFlight += 1
                    stats.requests += 1
                    stats.peakInFlight = max(stats.peakInFlight, inFlight)
                    group.addTask {
                        do {
                            switch request.kind {
                            case .objects, .ids:
                                let (page, info) = try await source.listPage(request.stream.resource, link: request.link, idsOnly: request.kind == .ids)
                                return .page(request, .success(.list(page, info)))
                            case .groupsDelta:
                                let (page, info) = try await source.fetchDeltaPage(resource: .groups, link: request.link)
                                return .page(request, .success(.delta(page, info)))
                            }
                        } catch {
                            return .page(request, .failure(error))
                        }
                    }
                }
                if inFlight == 0 {
                    if scheduler.isListed { break }
                    if let wakeAt {
                        try await time.sleep(seconds: max(0.001, wakeAt.timeIntervalSince(time.now())))
                        continue
                    }
                    if queue.buffered >= Self.itemsBuffered {
                        await queue.waitForRoom(below: Self.itemsBuffered)
                        continue
                    }
                    break
                }
                if let wakeAt, !timerArmed {
                    timerArmed = true
                    let delay = max(0.001, wakeAt.timeIntervalSince(time.now()))
                    group.addTask {
                        try? await time.sleep(seconds: delay)
                        return .tick
                    }
                }
                guard let completion = try await group.next() else { break }
                guard case .page(let request, let result) = completion else {
                    timerArmed = false
                    continue
                }
                inFlight -= 1
                let now = time.now()
                switch result {
                case .success(let fetched):
                    let info = fetched.info
                    governor.finished(estimated: request.estimatedCost, .answered(resourceUnits: info.resourceUnits, limitPercentage: info.limitPercentage,
                                                                                  throttled: info.throttledAttempts, retryAfter: info.retryAfter), at: now)
                    if let units = info.resourceUnits { fleet.spend(units - request.estimatedCost, at: now) }
                    stats.resourceUnits += info.resourceUnits ?? request.estimatedCost
                    stats.throttled += info.throttledAttempts
                    stats.pages += 1
                    queue.push(Self.item(for: request, fetched, scheduler: &scheduler))
                case .failure(let error):
                    governor.finished(estimated: request.estimatedCost, .failed, at: now)
                    let graph = error as? GraphError
                    let chainLost: Bool = switch request.kind {
                    case .objects, .ids: graph?.code == .expiredPageToken
                    case .groupsDelta: graph?.code == .resyncRequired
                    }
                    if chainLost {
                        logger.notice("a first-load stream starts over", metadata: ["stream": "\(request.stream)", "error": "\(graph!.description)"])
                        stats.restarts += 1
                        var item = LoadItem()
                        item.progress = [scheduler.restart(request.stream)]
                        queue.push(item)
                    } else if graph?.code == .unsupportedQuery || graph?.code == .badRequest {
                        // A query Graph does not serve (a partition filter, a scoped chain's id filter):
                        // the load gives way to the sequential rounds.
                        scheduler.failed(request.stream)
                        throw LoadRefused(reason: graph!.description)
                    } else {
                        scheduler.failed(request.stream)
                        throw error
                    }
                }
            }
            group.cancelAll()
        }
        return stats
    }

    /// What a page adds to the next batch, and where its stream stands after it.
    private static func item(for request: LoadRequest, _ fetched: Fetched, scheduler: inout LoadScheduler) -> LoadItem {
        var item = LoadItem()
        switch fetched {
        case .list(let page, _):
            let ids = page.objects.map(\.id)
            if request.kind == .ids {
                item.ids = (request.stream.resource, ids)
            } else {
                item.objects = (request.stream.resource, page.objects)
            }
            let (progress, chunks) = scheduler.received(request.stream, objects: page.objects.count, nextLink: page.nextLink,
                                                        groupIDs: request.stream == .groupIDs ? ids : [])
            item.progress = [progress] + chunks
        case .delta(let page, _):
            item.deltaPages = [page]
            let next: String? = if case .next(let link) = page.continuation { link } else { nil }
            item.progress = [scheduler.received(request.stream, objects: page.objects.count, nextLink: next).0]
        }
        return item
    }

    /// Items merged into one batch: objects and ids appended, group pages planned together, each
    /// stream's latest position.
    static func batch(_ items: [LoadItem]) -> LoadBatch {
        var batch = LoadBatch()
        var pages: [DeltaPage] = []
        var positions: [LoadStream: Int] = [:]
        for item in items {
            if let (resource, objects) = item.objects { batch.objects[resource, default: []] += objects }
            if let (resource, ids) = item.ids { batch.ids[resource, default: []] += ids }
            pages += item.deltaPages
            for progress in item.progress {
                if let index = positions[progress.stream] {
                    batch.progress[index] = progress
                } else {
                    positions[progress.stream] = batch.progress.count
                    batch.progress.append(progress)
                }
            }
        }
        if !pages.isEmpty { batch.groups = DeltaPlanner.plan(.groups, pages: pages) }
        return batch
    }

    /// Fetches users the partitions missed (by id, with their managers one by one) and reads again
    /// the groups no chunk brought, as new chunks.
    private func fill(users: [UUID], groups: [UUID], roundID: Int64, countedUsers: Int?, report: inout FirstLoadReport) async throws {
        if !users.isEmpty {
            logger.notice("filling users the partitions missed", metadata: ["users": "\(users.count)"])
            let table = source.schema.users
            let managerIndex = table.contractFields.firstIndex { $0.kind == .reference }
            var start = 0
            while start < users.count {
                let ids = Array(users[start..<min(start + 1_000, users.count)])
                var (objects, info) = try await source.objects(.users, ids: ids)
                report.requests += 1
                report.resourceUnits += info.resourceUnits ?? 2
                if let managerIndex {
                    for index in objects.indices {
                        objects[index][managerIndex] = try await source.manager(of: objects[index].id).map { .value(.reference($0)) } ?? .null
                        report.requests += 1
                    }
                }
                var batch = LoadBatch()
                batch.objects[.users] = objects
                report.written += try await store.write(batch, roundID: roundID)
                start += 1_000
            }
        }
        if !groups.isEmpty {
            logger.notice("reading groups again that no chunk brought", metadata: ["groups": "\(groups.count)"])
            // Numbered after every chunk the listing formed (a load forms far fewer than a million).
            var scheduler = LoadScheduler(progress: [], endpoints: source.endpoints, schema: source.schema, firstChunk: 1_000_000)
            let chunks = scheduler.chunks(of: groups)
            var batch = LoadBatch()
            batch.progress = chunks
            _ = try await store.write(batch, roundID: roundID)
            try await list(batch.progress, roundID: roundID, countedUsers: countedUsers, report: &report)
        }
    }
}

/// One answered page as the writer takes it.
struct LoadItem: Sendable {
    var objects: (DirectoryResource, [ObjectChange])?
    var ids: (DirectoryResource, [UUID])?
    var deltaPages: [DeltaPage] = []
    var progress: [StreamProgress] = []
}

/// The pages between the fetch loop and the writer: the writer takes what is there, the fetch loop
/// holds back while too much waits.
final class LoadQueue: Sendable {
    private struct State {
        var items: [LoadItem] = []
        /// Items pushed and not yet written.
        var outstanding = 0
        var finished = false
        var taker: CheckedContinuation<Void, Never>?
        var roomWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// Items fetched and not yet written.
    var buffered: Int { state.withLock { $0.outstanding } }

    func push(_ item: LoadItem) {
        let taker = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.items.append(item)
            state.outstanding += 1
            defer { state.taker = nil }
            return state.taker
        }
        taker?.resume()
    }

    func finish() {
        let taker = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.finished = true
            defer { state.taker = nil }
            return state.taker
        }
        taker?.resume()
    }

    /// Up to `max` items, waiting for one; `nil` once finished and empty.
    func take(max: Int) async -> [LoadItem]? {
        while true {
            let taken = state.withLock { state -> [LoadItem]?? in
                if !state.items.isEmpty {
                    let count = min(max, state.items.count)
                    let items = Array(state.items.prefix(count))
                    state.items.removeFirst(count)
                    return .some(items)
                }
                return state.finished ? .some(nil) : nil
            }
            if let taken { return taken }
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if !state.items.isEmpty || state.finished { return true }
                    state.taker = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }

    /// `count` taken items were written.
    func written(_ count: Int) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.outstanding -= count
            defer { state.roomWaiters = [] }
            return state.roomWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Waits until fewer than `limit` items are outstanding.
    func waitForRoom(below limit: Int) async {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state -> Bool in
                if state.outstanding < limit || state.finished { return true }
                state.roomWaiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }
}
