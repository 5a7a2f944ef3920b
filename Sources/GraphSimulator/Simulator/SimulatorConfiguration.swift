/// Everything needed to build a simulator: tenants (generated or from a scenario) and service limits.
public struct SimulatorConfiguration: Sendable {
    /// Seed for tenants, duplicates, random mutations and probabilistic faults.
    public var seed: UInt64 = 1
    /// Number of generated tenants (ignored when `scenario` has tenants).
    public var tenantCount: Int = 1
    /// Sizes and nesting shape of each generated tenant.
    public var spec = TenantSpec(users: 1000, groups: 100, membersPerGroup: 20)
    /// Client id registered in every generated tenant.
    public var clientId = "11111111-2222-3333-4444-555555555555"
    /// Client secret of that app.
    public var clientSecret = "graph-sim-secret"
    /// `expires_in` of issued access tokens, seconds.
    public var tokenLifetime: Int = 3599
    /// Default deltaLink lifetime, seconds (Graph: 7 days).
    public var deltaTokenLifetime: Double = 7 * 24 * 3600
    /// Objects per delta page (Graph is observed to send about 200 users per page).
    public var pageSize: Int = 200
    /// The most objects per page a `Prefer: odata.maxpagesize` may ask for (at most 999).
    public var maxPageSize: Int = 999
    /// `members@delta` entries per page before a group is split across pages.
    public var membersPerPage: Int = 500
    /// Default probability of a duplicate object at a page start.
    public var duplicateRate: Double = 0.01
    /// Default replication lag of plain reads, milliseconds (see ``TenantSettings/listLagMillis``).
    public var listLagMillis: Int = 0
    /// Resource-unit budgets (off by default).
    public var ruBudget = ResourceBudgetSettings()
    /// Tenants described explicitly (from `--scenario`); overrides generation when non-empty.
    public var scenarioTenants: [ScenarioTenant] = []

    /// Defaults: one tenant of 1,000 users and 100 groups.
    public init() {}
}

/// A tenant described by a scenario file.
public struct ScenarioTenant: Sendable {
    /// Display name.
    public var displayName: String?
    /// Domains (nil: the generated naming).
    public var domains: [TenantDomain]?
    /// Sizes and nesting shape.
    public var spec: TenantSpec
    /// App registrations (nil: the default app).
    public var apps: [AppRegistration]?
    /// Settings.
    public var settings: TenantSettings?

    /// Creates a scenario tenant.
    public init(displayName: String? = nil, domains: [TenantDomain]? = nil, spec: TenantSpec,
                apps: [AppRegistration]? = nil, settings: TenantSettings? = nil) {
        self.displayName = displayName
        self.domains = domains
        self.spec = spec
        self.apps = apps
        self.settings = settings
    }
}
