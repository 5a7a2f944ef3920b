/// Which resource-unit budgets graph-sim enforces, and how large they are.
///
/// Off by default: responses still carry `x-ms-resource-unit`, but nothing is throttled for spending.
public struct ResourceBudgetSettings: Sendable, Equatable {
    /// Whether requests over a budget are answered 429.
    public var enabled = false
    /// Multiplies the app+tenant budgets (3,500 / 5,000 / 8,000 RU per 10 s); tests use small values such as 0.01.
    public var scale = 1.0
    /// Multiplies the app budget (150,000 RU per 20 s); nil: ``scale``.
    public var appScale: Double?

    /// Budgets off, at Graph's size.
    public init(enabled: Bool = false, scale: Double = 1, appScale: Double? = nil) {
        self.enabled = enabled
        self.scale = scale
        self.appScale = appScale
    }
}

/// A token bucket: holds up to `capacity` resource units and refills at `capacity / window` per second.
struct TokenBucket: Sendable {
    /// Size, RU.
    var capacity: Double
    /// Seconds a full refill takes.
    var window: Double
    /// Units available now; negative while requests made over the limit are being paid back.
    var tokens: Double
    /// When `tokens` was last brought up to date (seconds since 1970).
    var updatedAt: Double

    /// Refill rate, RU per second.
    var rate: Double { capacity / window }

    /// Brings `tokens` up to `now` (a smaller `capacity` from a shrunken tenant applies from now on).
    mutating func refill(now: Double, capacity newCapacity: Double) {
        if now > updatedAt { tokens += (now - updatedAt) * rate }
        updatedAt = max(updatedAt, now)
        capacity = newCapacity
        tokens = min(tokens, capacity)
    }

    /// Fraction of the bucket in use (1 - available / capacity).
    var usage: Double { (capacity - tokens) / capacity }
}

/// Graph's identity and access resource-unit limits, as token buckets on the simulator's clock: per app and tenant
/// 3,500, 5,000 or 8,000 RU per 10 seconds by tenant size (under 50 users, 50 to 500, over 500), and per app across all
/// tenants 150,000 RU per 20 seconds.
///
/// Graph documents that the limits are token buckets over summed request costs, that every request, throttled ones
/// included, accrues against them, and that `x-ms-throttle-limit-percentage` is returned once more than 0.8 of a limit
/// is used. graph-sim's choices where Graph is silent: a throttled request is charged its cost too, but a bucket's debt
/// never exceeds one full bucket; `Retry-After` is the whole number of seconds (at least 1) until every exceeded bucket
/// holds the request's cost again; a bucket never holds less than 5 RU (the dearest request), so any request can pass
/// once it is full; the tenant's size is its live users when the request arrives; `x-ms-throttle-scope` names the
/// request's tenant in its last part for the Application scope too (Graph's format asks for a tenant, user or
/// resource id there).
struct ResourceBudget: Sendable {
    /// Which bucket a 429 names in `x-ms-throttle-scope`.
    enum Scope: String, Sendable {
        /// The app+tenant bucket.
        case tenantApplication = "Tenant_Application"
        /// The app bucket.
        case application = "Application"
    }

    /// The outcome of charging one request.
    struct Outcome: Sendable {
        /// Whether the request may be served.
        var allowed: Bool
        /// Throttled: seconds until it may be retried.
        var retryAfter: Int
        /// Throttled: the bucket that holds it back longest.
        var scope: Scope
        /// The largest fraction of a bucket in use after the charge.
        var usage: Double
    }

    /// Settings in force.
    var settings = ResourceBudgetSettings()
    /// App+tenant buckets by app id and tenant index.
    var tenantBuckets: [String: TokenBucket] = [:]
    /// App buckets by app id.
    var appBuckets: [String: TokenBucket] = [:]

    /// Graph's app+tenant budget for a tenant of `users` live users, RU per 10 seconds.
    static func tenantBudget(users: Int) -> Double { users < 50 ? 3_500 : users <= 500 ? 5_000 : 8_000 }
    /// Graph's app budget, RU per 20 seconds.
    static let appBudget = 150_000.0
    /// The smallest bucket graph-sim builds: the dearest request's cost.
    static let smallestBucket = 5.0

    /// Charges `cost` to the app+tenant and app buckets; nil when budgets are off.
    mutating func charge(_ cost: Int, app: String, tenant: Int, tenantUsers: Int, now: Double) -> Outcome? {
        guard settings.enabled else { return nil }
        let units = Double(cost)
        let tenantCapacity = max(Self.smallestBucket, Self.tenantBudget(users: tenantUsers) * settings.scale)
        let appCapacity = max(Self.smallestBucket, Self.appBudget * (settings.appScale ?? settings.scale))
        let tenantKey = "\(app)|\(tenant)"
        var pair = tenantBuckets[tenantKey] ?? TokenBucket(capacity: tenantCapacity, window: 10, tokens: tenantCapacity, updatedAt: now)
        var whole = appBuckets[app] ?? TokenBucket(capacity: appCapacity, window: 20, tokens: appCapacity, updatedAt: now)
        pair.refill(now: now, capacity: tenantCapacity)
        whole.refill(now: now, capacity: appCapacity)
        // A hair of tolerance, so a client that waited exactly `Retry-After` is not refused over rounding.
        let allowed = pair.tokens + 1e-9 >= units && whole.tokens + 1e-9 >= units
        pair.tokens = max(-pair.capacity, pair.tokens - units)
        whole.tokens = max(-whole.capacity, whole.tokens - units)
        tenantBuckets[tenantKey] = pair
        appBuckets[app] = whole
        let usage = max(pair.usage, whole.usage)
        guard !allowed else { return Outcome(allowed: true, retryAfter: 0, scope: .tenantApplication, usage: usage) }
        let pairWait = pair.tokens < units ? (units - pair.tokens) / pair.rate : 0
        let appWait = whole.tokens < units ? (units - whole.tokens) / whole.rate : 0
        let wait = max(pairWait, appWait)
        let seconds = Int((wait - 1e-9).rounded(.up))
        return Outcome(allowed: false, retryAfter: max(1, seconds), scope: appWait > pairWait ? .application : .tenantApplication, usage: usage)
    }

    /// Every bucket as `(scope, app, tenant index or nil, bucket)` brought up to `now`, for the control API.
    func snapshot(now: Double) -> [(scope: Scope, app: String, tenant: Int?, bucket: TokenBucket)] {
        var result: [(scope: Scope, app: String, tenant: Int?, bucket: TokenBucket)] = []
        for key in tenantBuckets.keys.sorted() {
            var bucket = tenantBuckets[key]!
            bucket.refill(now: now, capacity: bucket.capacity)
            let parts = key.split(separator: "|")
            result.append((.tenantApplication, String(parts[0]), Int(parts[1]), bucket))
        }
        for key in appBuckets.keys.sorted() {
            var bucket = appBuckets[key]!
            bucket.refill(now: now, capacity: bucket.capacity)
            result.append((.application, key, nil, bucket))
        }
        return result
    }
}
