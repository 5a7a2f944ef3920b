import Foundation

/// Where a check took the domain's tenant from.
public enum TenantSource: String, Sendable, Equatable {
    case option = "--tenant-id"
    case onboarded = "the onboarded domain"
    case discovery = "the domain's OpenID configuration"
}

/// How getting an app-only token for the tenant went.
public enum TokenOutcome: Sendable, Equatable {
    /// A token was issued; `roles` are its granted permissions, `nil` when the token is not readable.
    case acquired(roles: Set<String>?)
    /// The identity platform refused: the app is not in the tenant (admin consent never granted).
    case consentMissing(String)
    /// The identity platform refused for another reason (credential, cloud, conditional access…).
    case failed(String)
}

/// What `GET /domains/{domain}` said.
public enum DomainLookup: Sendable, Equatable {
    case verified
    case unverified
    case notInTenant
    case denied
    case failed(String)
}

/// Everything a preflight learned about one domain; ``DomainCheckReport/evaluate(_:)`` judges it.
public struct DomainCheckFacts: Sendable, Equatable {
    public var domain: String
    public var clientID: String
    public var tenantID: UUID?
    public var tenantSource: TenantSource?
    /// Why the tenant could not be found (one line, with the fix).
    public var tenantFailure: String?
    public var token: TokenOutcome?
    public var domainLookup: DomainLookup?
    public var probes: [GraphPermission: ProbeResult] = [:]
    /// Reading org contacts (`/contacts`), which Directory.Read.All allows besides the tenant's domains.
    public var contactsProbe: ProbeResult?
    /// The admin-consent link for the tenant, once the tenant is known.
    public var consentURL: String?

    public init(domain: String, clientID: String) {
        self.domain = domain
        self.clientID = clientID
    }
}

/// The outcome of `dirsync domains check` for one domain: one line per check, and what `status` records.
public struct DomainCheckReport: Sendable, Equatable {
    /// One check's verdict.
    public enum Outcome: String, Sendable, Equatable {
        case passed, failed, skipped

        /// `✓`, `✗` or `–`.
        public var symbol: String {
            switch self {
            case .passed: "✓"
            case .failed: "✗"
            case .skipped: "–"
            }
        }
    }

    /// One printed line.
    public struct Line: Sendable, Equatable {
        /// `tenant`, `token`, `consent`, `domain` or a permission name.
        public var check: String
        public var outcome: Outcome
        /// What was found, in plain words.
        public var detail: String
        /// What to do about a failure.
        public var fix: String?

        public init(_ check: String, _ outcome: Outcome, _ detail: String, fix: String? = nil) {
            self.check = check
            self.outcome = outcome
            self.detail = detail
            self.fix = fix
        }
    }

    public var domain: String
    public var tenantID: UUID?
    public var lines: [Line]
    /// No admin of the tenant has consented to the app.
    public var consentMissing: Bool
    /// Permissions Graph refused or the token lacks.
    public var missingPermissions: [GraphPermission]
    /// Whether the domain is verified in the tenant; `nil` when it could not be checked.
    public var domainVerified: Bool?
    public var consentURL: String?
    /// The one line `dirsync status` shows for a failed check; `nil` when every check passed.
    public var statusMessage: String?

    /// Whether no check failed.
    public var ok: Bool { !lines.contains { $0.outcome == .failed } }

    /// Judges the facts: one line per check, in a fixed order, and the status message.
    public static func evaluate(_ facts: DomainCheckFacts) -> DomainCheckReport {
        let domain = facts.domain
        let tenantText = facts.tenantID.map { $0.uuidString.lowercased() } ?? domain
        let consentFix = facts.consentURL.map { "a Global Administrator (or Privileged Role Administrator) of the tenant opens \($0)" }
            ?? "a Global Administrator of the tenant grants admin consent (dirsync domains consent-url \(domain) prints the link)"
        var report = DomainCheckReport(domain: domain, tenantID: facts.tenantID, lines: [], consentMissing: false,
                                       missingPermissions: [], domainVerified: nil, consentURL: facts.consentURL, statusMessage: nil)
        func skipRest(from check: String, _ reason: String) {
            let names = ["token", "consent", "domain"] + GraphPermission.allCases.map(\.rawValue)
            let start = names.firstIndex(of: check) ?? names.count
            for name in names[start...] { report.lines.append(Line(name, .skipped, "not checked: \(reason)")) }
        }

        // Tenant.
        guard let tenantID = facts.tenantID else {
            let failure = facts.tenantFailure ?? "the tenant of \(domain) is unknown"
            report.lines.append(Line("tenant", .failed, failure,
                                     fix: "check the spelling and the cloud; if the domain is added but not yet verified, pass --tenant-id"))
            skipRest(from: "token", "the tenant is unknown")
            report.statusMessage = "check failed: \(failure)"
            return report
        }
        report.lines.append(Line("tenant", .passed, "\(tenantID.uuidString.lowercased()) (from \((facts.tenantSource ?? .option).rawValue))"))

        // Token and consent.
        var roles: Set<String>?
        switch facts.token {
        case .acquired(let granted)?:
            roles = granted
            report.lines.append(Line("token", .passed, "application \(facts.clientID) got an app-only token"))
        case .consentMissing(let message)?:
            report.lines.append(Line("token", .failed, message))
            report.lines.append(Line("consent", .failed, "admin consent has not been granted in tenant \(tenantText)", fix: consentFix))
            report.consentMissing = true
            report.missingPermissions = GraphPermission.allCases
            skipRest(from: "domain", "awaiting admin consent")
            report.statusMessage = awaitingConsent(domain: domain, tenant: tenantText)
            return report
        case .failed(let message)?:
            report.lines.append(Line("token", .failed, message))
            skipRest(from: "consent", "no token")
            report.statusMessage = "check failed: \(message)"
            return report
        case nil:
            skipRest(from: "token", "no token was requested")
            report.statusMessage = "check failed: no token was requested"
            return report
        }
        let relevantRoles = roles.map { $0.intersection(GraphPermission.allCases.map(\.rawValue)) }
        let domainAllowed = directoryProbe(facts.domainLookup) == .allowed
        let anyAllowed = domainAllowed || facts.probes.values.contains(.allowed)
        let anyDenied = facts.domainLookup == .denied || facts.probes.values.contains(.denied)
        // No role of ours in a readable token, or (token unreadable) every probe refused: nobody consented.
        let noConsent = relevantRoles.map(\.isEmpty) ?? (!anyAllowed && anyDenied)
        if noConsent {
            report.lines.append(Line("consent", .failed, "the token carries no application permissions: admin consent has not been granted in tenant \(tenantText)", fix: consentFix))
            report.consentMissing = true
            report.missingPermissions = GraphPermission.allCases
            skipRest(from: "domain", "awaiting admin consent")
            report.statusMessage = awaitingConsent(domain: domain, tenant: tenantText)
            return report
        }
        let grantedCount = relevantRoles.map { "\($0.count) of \(GraphPermission.allCases.count) permissions" } ?? "Graph answers the app"
        report.lines.append(Line("consent", .passed, "admin consent granted (\(grantedCount))"))

        // Domain.
        switch facts.domainLookup {
        case .verified?:
            report.domainVerified = true
            report.lines.append(Line("domain", .passed, "\(domain) is a verified domain of the tenant"))
        case .unverified?:
            report.domainVerified = false
            report.lines.append(Line("domain", .failed, "\(domain) is added to tenant \(tenantText) but not verified",
                                     fix: "in the Entra admin center (Settings → Domain names) add the DNS TXT record shown for \(domain) and select Verify"))
        case .notInTenant?:
            report.domainVerified = false
            report.lines.append(Line("domain", .failed, "\(domain) is not a domain of tenant \(tenantText)",
                                     fix: "add and verify it in that tenant, or onboard it with the tenant that owns it (--tenant-id)"))
        case .denied?:
            report.lines.append(Line("domain", .skipped, "not checked: reading domains needs Directory.Read.All"))
        case .failed(let message)?:
            report.lines.append(Line("domain", .failed, "could not be checked: \(message)"))
        case nil:
            report.lines.append(Line("domain", .skipped, "not checked"))
        }

        // Permissions.
        let reconsent = "have an admin of the tenant grant admin consent again (it adds what is missing): "
            + (facts.consentURL ?? "dirsync domains consent-url \(domain) prints the link")
        for permission in GraphPermission.allCases {
            let name = permission.rawValue
            let inToken = relevantRoles.map { $0.contains(name) }
            let probe = permission == .directoryReadAll ? directoryProbe(facts.domainLookup, contacts: facts.contactsProbe)
                : (facts.probes[permission] ?? .notProbed("no probe ran"))
            switch (probe, inToken) {
            case (.denied, _):
                report.missingPermissions.append(permission)
                report.lines.append(Line(name, .failed, "not granted: Graph refused the request that needs it (403)", fix: reconsent))
            case (_, false?):
                report.missingPermissions.append(permission)
                let works = probe == .allowed ? " (the read works today only through a broader permission)" : ""
                report.lines.append(Line(name, .failed, "not granted in this tenant: the token's roles lack it\(works)", fix: reconsent))
            case (.failed(let message), _):
                report.lines.append(Line(name, .failed, "could not be checked: \(message)"))
            case (.allowed, _):
                report.lines.append(Line(name, .passed, "granted: can \(permission.reason)"))
            case (.notProbed(let reason), true?):
                report.lines.append(Line(name, .passed, "granted (in the token's roles; not probed: \(reason))"))
            case (.notProbed(let reason), nil):
                report.lines.append(Line(name, .skipped, "not probed: \(reason)"))
            }
        }

        if !report.missingPermissions.isEmpty {
            let names = report.missingPermissions.map(\.rawValue).joined(separator: ", ")
            report.statusMessage = "permission missing: \(names): have the tenant's admin grant admin consent again (dirsync domains consent-url \(domain) prints the link), then run dirsync domains check \(domain)"
        } else if report.domainVerified == false, let line = report.lines.first(where: { $0.check == "domain" }) {
            report.statusMessage = "domain not verified: \(line.detail); \(line.fix ?? "")"
        } else if let failed = report.lines.first(where: { $0.outcome == .failed }) {
            report.statusMessage = "check failed: \(failed.check): \(failed.detail)"
        }
        return report
    }

    /// Directory.Read.All as both its probes saw it: refused by either is refused.
    private static func directoryProbe(_ lookup: DomainLookup?, contacts: ProbeResult? = nil) -> ProbeResult {
        let domains: ProbeResult = switch lookup {
        case .verified?, .unverified?, .notInTenant?: .allowed
        case .denied?: .denied
        case .failed(let message)?: .failed(message)
        case nil: .notProbed("the domain was not looked up")
        }
        guard let contacts else { return domains }
        if domains == .denied || contacts == .denied { return .denied }
        if case .failed = domains { return domains }
        if case .failed = contacts { return contacts }
        return domains
    }

    private static func awaitingConsent(domain: String, tenant: String) -> String {
        "awaiting consent: no admin of tenant \(tenant) has granted the dirsync app its permissions yet; send them the link from dirsync domains consent-url \(domain), then run dirsync domains check \(domain)"
    }
}
