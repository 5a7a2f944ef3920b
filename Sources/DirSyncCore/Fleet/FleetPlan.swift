import Foundation

/// Which onboarded domains a `dirsync run` syncs.
public enum DomainSelection: Sendable, Equatable {
    /// Every enabled domain.
    case all
    /// The named domains (normalised names); each must be onboarded and enabled. Their tenants' other
    /// enabled domains come along, because a tenant is synced once for all its domains.
    case named([String])
    /// The enabled tenants of one shard.
    case shard(TenantShard)
}

/// One tenant's part of a run: the domains it syncs for and the options it runs with.
public struct TenantWork: Sendable, Equatable {
    public var tenantID: UUID
    /// The tenant's enabled domains, in name order.
    public var domains: [DomainRecord]
    /// The run's options, with the tenant's own deletion limit applied.
    public var options: RoundOptions
    /// The app registration for this tenant (a domain's `client_id`), or `nil` for the configured default.
    public var clientID: String?

    public init(tenantID: UUID, domains: [DomainRecord], options: RoundOptions, clientID: String?) {
        self.tenantID = tenantID
        self.domains = domains
        self.options = options
        self.clientID = clientID
    }
}

/// What a run will sync: the selected domains grouped by tenant, with per-tenant options.
///
/// Pure: the command line reads the onboarded domains and prints what the plan says; tests check the
/// rules without a database.
public struct FleetPlan: Sendable, Equatable {
    /// Tenants to sync, in tenant id order.
    public var tenants: [TenantWork]
    /// Enabled tenants before a shard filter (for the shard's log line).
    public var enabledTenantCount: Int
    /// When nothing is to be synced: why, in words for the operator.
    public var nothingToDo: String?

    /// A selection that cannot be honoured (an unknown or disabled domain): a usage error.
    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Plans a run.
    /// - Parameters:
    ///   - domains: every onboarded domain.
    ///   - selection: which of them to sync.
    ///   - options: the run's options. Without a run-wide `--max-deletions`, a tenant uses the smallest
    ///     `deletion_limit` among its domains, if any has one.
    /// - Throws: ``Refusal`` when a named domain is not onboarded or is disabled.
    public static func plan(domains: [DomainRecord], selection: DomainSelection, options: RoundOptions) throws(Refusal) -> FleetPlan {
        let enabled = domains.filter(\.enabled)
        var chosen: [DomainRecord]
        switch selection {
        case .all:
            chosen = enabled
        case .named(let names):
            var tenants = Set<UUID>()
            for name in names {
                guard let record = domains.first(where: { $0.domain == name }) else {
                    throw Refusal(message: "\(name) is not onboarded; add it with dirsync domains add \(name)")
                }
                guard record.enabled else {
                    throw Refusal(message: "\(name) is disabled; enable it again with dirsync domains add \(name)")
                }
                tenants.insert(record.tenantID)
            }
            chosen = enabled.filter { tenants.contains($0.tenantID) }
        case .shard(let shard):
            chosen = enabled.filter { shard.owns($0.tenantID) }
        }
        let enabledTenants = Set(enabled.map(\.tenantID)).count
        var nothingToDo: String?
        if chosen.isEmpty {
            if case .shard(let shard) = selection, !enabled.isEmpty {
                nothingToDo = "shard \(shard) owns none of the \(enabledTenants) enabled tenants; nothing to sync"
            } else {
                nothingToDo = "no enabled domains to sync; onboard one with dirsync domains add DOMAIN"
            }
        }
        let tenants = Dictionary(grouping: chosen, by: \.tenantID)
            .sorted { $0.key.uuidString < $1.key.uuidString }
            .map { tenantID, records -> TenantWork in
                let records = records.sorted { $0.domain < $1.domain }
                var tenantOptions = options
                if options.deletionGuard.fixedLimit == nil, let limit = records.compactMap(\.deletionLimit).min() {
                    tenantOptions.deletionGuard.fixedLimit = limit
                }
                return TenantWork(tenantID: tenantID, domains: records, options: tenantOptions,
                                  clientID: records.compactMap(\.clientID).first?.uuidString.lowercased())
            }
        return FleetPlan(tenants: tenants, enabledTenantCount: enabledTenants, nothingToDo: nothingToDo)
    }
}
