import Foundation

/// Resource units spent in a sliding window, against a budget: Graph's throttling budgets are token
/// buckets over summed request costs (per app and tenant, 10 s; per app across tenants, 20 s).
public struct ResourceUnitBudget: Sendable, Equatable {
    /// Units allowed per window (already the share dirsync allows itself).
    public let units: Int
    /// The window, in seconds.
    public let window: TimeInterval
    /// Units spent (or reserved by requests in flight), with when.
    private var spent: [(at: Date, units: Int)] = []

    public init(units: Int, window: TimeInterval) {
        self.units = max(1, units)
        self.window = window
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.units == rhs.units && lhs.window == rhs.window && lhs.spent.map(\.units) == rhs.spent.map(\.units)
            && lhs.spent.map(\.at) == rhs.spent.map(\.at)
    }

    /// Units spent within the window ending at `now`.
    public func used(at now: Date) -> Int {
        spent.reduce(0) { $0 + ($1.at > now.addingTimeInterval(-window) ? $1.units : 0) }
    }

    /// When `cost` more units fit: `now`, or when enough earlier spending has left the window.
    public func available(_ cost: Int, at now: Date) -> Date {
        var used = used(at: now)
        guard used + cost > units else { return now }
        for entry in spent where entry.at > now.addingTimeInterval(-window) {
            used -= entry.units
            if used + cost <= units { return entry.at.addingTimeInterval(window) }
        }
        return now.addingTimeInterval(window)
    }

    /// Records `units` spent at `now` (a negative amount corrects an earlier estimate).
    public mutating func spend(_ units: Int, at now: Date) {
        spent.removeAll { $0.at <= now.addingTimeInterval(-window) }
        spent.append((now, units))
    }

    /// Graph's budget per app and tenant, by the tenant's users (documented: 3,500 / 5,000 / 8,000
    /// resource units per 10 s below 50 / up to 500 / above 500 users), of which dirsync takes `share`.
    public static func tenant(users: Int, share: Double = 0.75) -> ResourceUnitBudget {
        let units = users < 50 ? 3_500 : users <= 500 ? 5_000 : 8_000
        return ResourceUnitBudget(units: Int(Double(units) * share), window: 10)
    }

    /// Graph's budget per app across all tenants (150,000 resource units per 20 s), of which dirsync
    /// takes `share`.
    public static func app(share: Double = 0.75) -> ResourceUnitBudget {
        ResourceUnitBudget(units: Int(150_000 * share), window: 20)
    }
}

/// How many requests a tenant's parallel load keeps in flight, steered by Graph's throttle signals:
/// it grows by one request per round of successes while Graph reports headroom, holds when Graph
/// says a limit is above 80 % (`x-ms-throttle-limit-percentage`), halves at 90 % or on any throttled
/// response and pauses new requests for its `Retry-After`; and it keeps the resource units spent
/// (`x-ms-resource-unit`, estimated until the answer arrives) within the tenant's budget.
public struct RateGovernor: Sendable, Equatable {
    /// What one finished request said about the limits.
    public enum Signal: Sendable, Equatable {
        /// Answered; `limitPercentage` as Graph sent it (nil below 80 %), after `throttled` throttled attempts.
        case answered(resourceUnits: Int?, limitPercentage: Double?, throttled: Int, retryAfter: Double?)
        /// Failed (after the client's retries).
        case failed
    }

    /// What the governor allows now.
    public enum Admission: Sendable, Equatable {
        /// Send it.
        case now
        /// Not before this instant (a pause or the budget).
        case at(Date)
        /// Only after a request in flight finishes.
        case afterACompletion
    }

    public let minimum: Int
    public let maximum: Int
    /// Requests allowed in flight now.
    public private(set) var limit: Int
    /// No new request before this instant (Graph's `Retry-After`).
    public private(set) var pausedUntil: Date?
    public private(set) var budget: ResourceUnitBudget
    /// The most requests ever allowed in flight at once.
    public private(set) var peakLimit: Int
    private var successes = 0

    public init(budget: ResourceUnitBudget, initial: Int = 16, minimum: Int = 2, maximum: Int = 96) {
        self.minimum = minimum
        self.maximum = max(minimum, maximum)
        self.limit = min(max(initial, minimum), self.maximum)
        self.peakLimit = limit
        self.budget = budget
    }

    /// Whether a request of estimated `cost` may leave now, with `inFlight` already out.
    public func admits(inFlight: Int, cost: Int, at now: Date) -> Admission {
        if let pausedUntil, pausedUntil > now { return .at(pausedUntil) }
        guard inFlight < limit else { return .afterACompletion }
        let when = budget.available(cost, at: now)
        return when > now ? .at(when) : .now
    }

    /// A request of estimated `cost` left.
    public mutating func started(cost: Int, at now: Date) {
        budget.spend(cost, at: now)
    }

    /// A request that reserved `estimated` units finished with `signal`.
    public mutating func finished(estimated: Int, _ signal: Signal, at now: Date) {
        switch signal {
        case .failed:
            successes = 0
        case .answered(let units, let percentage, let throttled, let retryAfter):
            if let units, units != estimated { budget.spend(units - estimated, at: now) }
            if throttled > 0 || (percentage ?? 0) >= 0.9 {
                limit = max(minimum, limit / 2)
                successes = 0
                if throttled > 0 {
                    let pause = now.addingTimeInterval(max(1, retryAfter ?? 1))
                    pausedUntil = max(pausedUntil ?? pause, pause)
                }
            } else if (percentage ?? 0) >= 0.8 {
                successes = 0
            } else {
                successes += 1
                if successes >= limit, limit < maximum {
                    limit += 1
                    peakLimit = max(peakLimit, limit)
                    successes = 0
                }
            }
        }
    }
}
