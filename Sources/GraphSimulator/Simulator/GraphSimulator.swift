import Foundation
import Synchronization

/// An access token the simulated identity platform issued.
struct IssuedToken: Sendable {
    var tenant: Int
    var clientId: String
    var expiresAt: Double
    var roles: Set<String>
}

/// All mutable simulator state, guarded by one `Mutex` in ``GraphSimulator``.
struct SimulatorState: Sendable {
    var config: SimulatorConfiguration
    var tenants: [Tenant]
    var tokens: [String: IssuedToken] = [:]
    var faults: [FaultRule] = []
    var nextFaultId = 1
    var faultRandom: SeededRandom
    var stats = SimulatorStats()
    var budget = ResourceBudget()
    var baseURL = "http://127.0.0.1:0"
    var usedAssertionIds: Set<String> = []
    let epoch: UInt32
    let tokenKey: UInt64

    /// `host:port` of the base URL.
    var baseAuthority: String {
        var rest = Substring(baseURL)
        if let range = rest.range(of: "://") { rest = rest[range.upperBound...] }
        return String(rest.prefix { $0 != "/" })
    }

    /// The base URL with another host name that still reaches this server (for the foreign-link fault).
    var foreignBaseURL: String {
        let authority = baseAuthority
        let port = authority.split(separator: ":").last.map(String.init) ?? "80"
        let host = authority.hasPrefix("localhost") ? "127.0.0.1" : "localhost"
        return "http://\(host):\(port)"
    }

    func tenantIndex(named name: String) -> Int? {
        let lower = name.lowercased()
        if let t = tenants.first(where: { $0.id == lower || $0.domains.contains { $0.name == lower } }) { return t.index }
        if let number = Int(name), tenants.indices.contains(number) { return number }
        return nil
    }
}

/// A faithful, fault-injecting stand-in for Microsoft Graph (users, groups, memberships and contacts via delta and via
/// plain paged reads, with Graph's resource-unit costs and budgets) and the Microsoft identity platform
/// (client-credentials tokens, OpenID configuration), with no sockets.
///
/// ``handle(_:)`` takes a ``SimRequest`` and returns a ``SimResponse``; `GraphSimulatorServer` puts it on
/// loopback HTTP. All state sits behind one `Mutex`, so the simulator can be shared by any number of tasks.
public final class GraphSimulator: Sendable {
    let state: Mutex<SimulatorState>
    let clock: @Sendable () -> Double

    /// Builds the tenants described by `configuration`.
    /// - Parameters:
    ///   - clock: Seconds since 1970; tests pass a controllable clock to expire tokens without waiting.
    public init(configuration: SimulatorConfiguration, clock: @escaping @Sendable () -> Double = { SystemClock.now() }) {
        self.clock = clock
        var tenants: [Tenant] = []
        let defaultApp = AppRegistration(clientId: configuration.clientId, secrets: [configuration.clientSecret])
        if configuration.scenarioTenants.isEmpty {
            for i in 0..<max(1, configuration.tenantCount) {
                var tenant = TenantGenerator.generate(index: i, seed: configuration.seed, spec: configuration.spec, apps: [defaultApp])
                tenant.settings.deltaTokenLifetime = configuration.deltaTokenLifetime
                tenant.settings.duplicateRate = configuration.duplicateRate
                tenant.settings.listLagMillis = configuration.listLagMillis
                tenants.append(tenant)
            }
        } else {
            for (i, scenario) in configuration.scenarioTenants.enumerated() {
                var tenant = TenantGenerator.generate(index: i, seed: configuration.seed, spec: scenario.spec,
                                                      apps: scenario.apps ?? [defaultApp], domains: scenario.domains,
                                                      displayName: scenario.displayName)
                tenant.settings = scenario.settings ?? {
                    var s = TenantSettings()
                    s.deltaTokenLifetime = configuration.deltaTokenLifetime
                    s.duplicateRate = configuration.duplicateRate
                    s.listLagMillis = configuration.listLagMillis
                    return s
                }()
                tenants.append(tenant)
            }
        }
        var system = SystemRandomNumberGenerator()
        var initial = SimulatorState(config: configuration, tenants: tenants,
                                     faultRandom: SeededRandom(seed: configuration.seed, stream: 777),
                                     epoch: UInt32(truncatingIfNeeded: system.next()), tokenKey: system.next())
        initial.budget.settings = configuration.ruBudget
        state = Mutex(initial)
    }

    /// Sets the base URL written into links and expected as `Host` (call once the server listens).
    public func setBaseURL(_ url: String) {
        let trimmed = url.hasSuffix("/") ? String(url.dropLast()) : url
        state.withLock { $0.baseURL = trimmed }
    }

    /// The base URL in use.
    public var baseURL: String { state.withLock { $0.baseURL } }

    /// A snapshot of one tenant (by index).
    public func tenant(_ index: Int) -> Tenant { state.withLock { $0.tenants[index] } }

    /// Number of tenants.
    public var tenantCount: Int { state.withLock { $0.tenants.count } }

    /// A snapshot of the counters.
    public var stats: SimulatorStats { state.withLock { $0.stats } }

    /// Every access token the identity platform has issued so far (expired ones included), so tests can
    /// prove a client never writes them to logs or error text.
    public var issuedAccessTokens: [String] { state.withLock { Array($0.tokens.keys) } }

    /// Runs `body` on a tenant under the lock (for tests and embedding code that mutate directly). Mutations are made
    /// at the simulator's clock, as the control API's are.
    public func withTenant<T: Sendable>(_ index: Int, _ body: (inout Tenant) throws(SimulatorInputError) -> T) throws(SimulatorInputError) -> T {
        let now = clock()
        return try state.withLock { (s: inout SimulatorState) throws(SimulatorInputError) -> T in
            s.tenants[index].setMutationClock(now)
            return try body(&s.tenants[index])
        }
    }

    /// The resource-unit budgets in force.
    public var ruBudget: ResourceBudgetSettings { state.withLock { $0.budget.settings } }

    /// Answers one request.
    public func handle(_ request: SimRequest) -> SimResponse {
        let now = clock()
        return state.withLock { $0.handle(request, now: now) }
    }
}

/// Wall-clock time without Foundation's `Date` in the pure core's hot paths.
public enum SystemClock {
    /// Seconds since 1970.
    public static func now() -> Double {
        let d = ContinuousClockReference.wallNow()
        return d
    }
}
