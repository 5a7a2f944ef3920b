import Foundation

/// A tenant's parallel first load as it is stored, so a killed load resumes where it stopped.
public struct StoredFirstLoad: Sendable, Equatable {
    public enum Phase: String, Sendable, Equatable, CaseIterable {
        /// Listing the tenant (after the safety wait, which `waitUntil` tells).
        case listing
        /// Listed; checking completeness and filling gaps.
        case verifying
        /// Done: the cursors hold the links taken at the start.
        case completed
        /// Given up (filters refused, checks failed): the sequential first rounds run instead.
        case abandoned
    }

    /// Stamped on every row the load writes (as a full round stamps the rows it sees).
    public var roundID: Int64
    public var phase: Phase
    /// The "sync from now" deltaLinks taken before listing, by resource.
    public var links: [DirectoryResource: String]
    /// When they were taken (the delta state's age counts from here).
    public var linksTakenAt: Date
    /// Listing starts no earlier than this (replication of changes made before the links).
    public var waitUntil: Date
    /// Users and groups Graph counted at the start (`$count`, eventual), if it did.
    public var countedUsers: Int?
    public var countedGroups: Int?
    public var streams: [StreamProgress]
    /// Why the load was abandoned.
    public var reason: String?

    public init(roundID: Int64, phase: Phase, links: [DirectoryResource: String], linksTakenAt: Date, waitUntil: Date,
                countedUsers: Int?, countedGroups: Int?, streams: [StreamProgress], reason: String? = nil) {
        self.roundID = roundID
        self.phase = phase
        self.links = links
        self.linksTakenAt = linksTakenAt
        self.waitUntil = waitUntil
        self.countedUsers = countedUsers
        self.countedGroups = countedGroups
        self.streams = streams
        self.reason = reason
    }
}

/// What a parallel first load found when it checked itself before counting as done.
public struct LoadCompleteness: Sendable, Equatable {
    /// Users the id-only stream listed that no partition brought (to fetch by id).
    public var missingUsers: [UUID]
    /// Groups the id list named that no scoped chain brought (to read again).
    public var missingGroups: [UUID]
    /// Live users and groups the load wrote.
    public var loadedUsers: Int
    public var loadedGroups: Int

    public init(missingUsers: [UUID], missingGroups: [UUID], loadedUsers: Int, loadedGroups: Int) {
        self.missingUsers = missingUsers
        self.missingGroups = missingGroups
        self.loadedUsers = loadedUsers
        self.loadedGroups = loadedGroups
    }

    /// Whether `loaded` is within Graph's eventual `$count` of `counted`: objects come and go while
    /// a load runs, and the count is read from an index that lags, so a little difference is normal.
    public static func agrees(loaded: Int, counted: Int?) -> Bool {
        guard let counted else { return true }
        return abs(loaded - counted) <= max(20, counted / 50)
    }
}

/// The decisions of a tenant's parallel first load, as a value: whether it runs at all (only a first
/// sync, only when the setting and the tenant's size say so), the order of its steps (count, probe a
/// partition filter, take "sync from now" links, wait, list, check, fill gaps, complete), resuming a
/// load a killed run left, and when to give up and fall back to the sequential first rounds — never
/// to a partial mirror: the sequential rounds' sweep sets the tables right.
///
/// It performs nothing: each event returns the next ``Action``, which ``FirstLoadRunner`` carries out.
public struct FirstLoadMachine: Sendable {
    public enum Action: Sendable, Equatable {
        /// Read the stored load and whether the tenant is on its first sync; report with ``stored(_:firstSync:now:)``.
        case readState
        /// Count users and groups (`$count`); report with ``counted(users:groups:now:)``.
        case count
        /// Ask one partition's first page, to learn whether Graph serves the filter; report with ``probed(_:)``.
        case probe
        /// Take a "sync from now" deltaLink for every resource; report with ``linksTaken(_:now:)``.
        case takeLinks
        /// Store the new load (its links, wait, streams); report with ``begun()``.
        case begin(StoredFirstLoad)
        /// Wait until the instant (replication); report with ``waited(now:)``.
        case wait(until: Date)
        /// List every stream to its end, writing as pages arrive; report with ``listed()``.
        case list([StreamProgress])
        /// Check completeness; report with ``checked(_:)``.
        case verify
        /// Fetch these users by id and read these groups again; report with ``filled()``.
        case fill(users: [UUID], groups: [UUID])
        /// Store the links as the cursors, complete the first rounds; report with ``completed()``.
        case complete(StoredFirstLoad)
        /// Give the load up (why); report with ``abandoned()``.
        case abandon(String)
        /// Done.
        case finish(FirstLoadOutcome)
    }

    private enum State: Sendable { case idle, reading, counting, probing, taking, beginning, waiting, listing, verifying, filling, completing, abandoning, done }

    public let setting: FirstLoadSetting
    /// Seconds to wait after taking the links before listing.
    public let safetyWait: TimeInterval
    private var state = State.idle
    private var record: StoredFirstLoad?
    private var counted: (users: Int?, groups: Int?) = (nil, nil)
    /// Fill rounds done: the second check after a fill decides.
    private var fills = 0
    private let roundID: Int64

    public init(setting: FirstLoadSetting, safetyWait: TimeInterval, roundID: Int64) {
        self.setting = setting
        self.safetyWait = safetyWait
        self.roundID = roundID
    }

    public mutating func start() -> Action {
        precondition(state == .idle)
        state = .reading
        return .readState
    }

    /// The stored load (if any) and whether no resource of the tenant has delta state or a round in progress.
    public mutating func stored(_ stored: StoredFirstLoad?, firstSync: Bool, now: Date) -> Action {
        precondition(state == .reading)
        // A load given up before is not tried again: the sequential first rounds took over.
        if stored?.phase == .abandoned { return finish(.notParallel) }
        if let stored, stored.phase == .listing || stored.phase == .verifying {
            if setting == .delta { return abandon("the first load is set to delta (--first-load delta)") }
            record = stored
            return stored.phase == .verifying ? verify() : waitOrList(now: now)
        }
        guard firstSync, setting != .delta else { return finish(.notParallel) }
        state = .counting
        return .count
    }

    /// Graph's counts (nil when it would not count).
    public mutating func counted(users: Int?, groups: Int?, now: Date) -> Action {
        precondition(state == .counting)
        counted = (users, groups)
        let total = users.flatMap { u in groups.map { u + $0 } }
        guard FirstLoadPlan.loadsInParallel(setting, counted: total) else { return finish(.notParallel) }
        state = .probing
        return .probe
    }

    /// Whether Graph served a partition filter (`nil`), or why not.
    public mutating func probed(_ refusal: String?) -> Action {
        precondition(state == .probing)
        if let refusal { return finish(.fellBack("Graph refused the partition filter (\(refusal)); running the sequential first rounds instead")) }
        state = .taking
        return .takeLinks
    }

    /// The "sync from now" links of every resource, and the fresh streams to list.
    public mutating func linksTaken(_ links: [DirectoryResource: String], streams: [StreamProgress], now: Date) -> Action {
        precondition(state == .taking)
        let load = StoredFirstLoad(roundID: roundID, phase: .listing, links: links, linksTakenAt: now, waitUntil: now.addingTimeInterval(safetyWait),
                                   countedUsers: counted.users, countedGroups: counted.groups, streams: streams)
        record = load
        state = .beginning
        return .begin(load)
    }

    public mutating func begun(now: Date) -> Action {
        precondition(state == .beginning)
        return waitOrList(now: now)
    }

    public mutating func waited(now: Date) -> Action {
        precondition(state == .waiting)
        return waitOrList(now: now)
    }

    private mutating func waitOrList(now: Date) -> Action {
        if let record, record.waitUntil > now {
            state = .waiting
            return .wait(until: record.waitUntil)
        }
        state = .listing
        return .list(record?.streams ?? [])
    }

    /// Every stream read its last page.
    public mutating func listed() -> Action {
        precondition(state == .listing)
        return verify()
    }

    /// Graph refused a partition's filter while listing (`reason`): the load is given up.
    public mutating func listRefused(_ reason: String) -> Action {
        precondition(state == .listing)
        return abandon("Graph refused a partition filter: \(reason)")
    }

    private mutating func verify() -> Action {
        state = .verifying
        return .verify
    }

    /// What the check found.
    public mutating func checked(_ found: LoadCompleteness) -> Action {
        precondition(state == .verifying)
        if !found.missingUsers.isEmpty || !found.missingGroups.isEmpty {
            // Fill once; what is still missing after that no longer exists in Graph (deleted while the
            // load ran), which the catch-up rounds report anyway.
            if fills == 0 {
                fills += 1
                state = .filling
                return .fill(users: found.missingUsers, groups: found.missingGroups)
            }
        }
        guard let record else { return abandon("the load's state was lost") }
        guard LoadCompleteness.agrees(loaded: found.loadedUsers, counted: record.countedUsers) else {
            return abandon("the load holds \(found.loadedUsers) users where Graph counted \(record.countedUsers ?? 0)")
        }
        guard LoadCompleteness.agrees(loaded: found.loadedGroups, counted: record.countedGroups) else {
            return abandon("the load holds \(found.loadedGroups) groups where Graph counted \(record.countedGroups ?? 0)")
        }
        state = .completing
        return .complete(record)
    }

    public mutating func filled() -> Action {
        precondition(state == .filling)
        return verify()
    }

    public mutating func completed() -> Action {
        precondition(state == .completing)
        return finish(.loaded)
    }

    private mutating func abandon(_ reason: String) -> Action {
        state = .abandoning
        record?.reason = reason
        return .abandon(reason)
    }

    public mutating func abandoned() -> Action {
        precondition(state == .abandoning)
        return finish(.fellBack("the parallel first load was given up (\(record?.reason ?? "no reason")); running the sequential first rounds instead"))
    }

    private mutating func finish(_ outcome: FirstLoadOutcome) -> Action {
        state = .done
        return .finish(outcome)
    }
}

/// How a tenant's first load went.
public enum FirstLoadOutcome: Sendable, Equatable {
    /// Not a first sync, or the setting or the tenant's size chose the sequential rounds.
    case notParallel
    /// Loaded: the rounds continue from the links taken at the start.
    case loaded
    /// Given up for the sequential first rounds, and why.
    case fellBack(String)
}
