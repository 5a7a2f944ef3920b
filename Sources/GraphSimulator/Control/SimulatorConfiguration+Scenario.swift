/// Scenario files: JSON describing tenants, domains, apps, credentials, permissions and sizes.
///
/// ```json
/// {"seed": 7, "pageSize": 200, "membersPerPage": 500, "nesting": "standard", "listLagMillis": 0,
///  "ruBudget": {"enabled": true, "scale": 0.01, "appScale": 0.001},
///  "tenants": [{"displayName": "Contoso", "users": 500, "groups": 40, "membersPerGroup": 15, "nesting": "deep",
///    "domains": [{"name": "contoso.example", "verified": true, "default": true,
///                 "supportedServices": ["Email", "OfficeCommunicationsOnline"]},
///                {"name": "contoso.onmicrosoft.com", "verified": true, "initial": true},
///                {"name": "fabrikam.example", "verified": true, "authenticationType": "Federated"},
///                {"name": "pending.example", "verified": false}],
///    "apps": [{"clientId": "…", "secrets": ["…"], "certificates": ["-----BEGIN CERTIFICATE-----…"],
///              "federated": [{"issuer": "https://issuer.example/", "subject": "system:serviceaccount:ns:sa",
///                             "audience": "api://AzureADTokenExchange"}]}],
///    "permissions": ["User.Read.All", "GroupMember.Read.All"], "consent": true,
///    "deltaTokenLifetimeSeconds": 604800, "expiredDeltaStyle": "gone410", "duplicateRate": 0.01, "emptyPageRate": 0,
///    "listLagMillis": 2000}]}
/// ```
/// `ruBudget` turns the resource-unit budgets on (unless it says `"enabled": false`) with the scales given; `listLagMillis`
/// is the replication lag of plain reads of every tenant that does not set its own.
/// Omitted tenant fields take the command-line values (sizes, nesting, default app, lifetimes); omitted domains follow
/// the generated naming for the tenant's position; a domain without `supportedServices` gets what a tenant usually has
/// (see ``TenantDomain/init(name:isVerified:isInitial:isDefault:supportedServices:authenticationType:)``).
extension SimulatorConfiguration {
    /// Applies a parsed scenario document on top of the current values.
    /// - Throws: `SimulatorInputError` naming the first field that cannot be used.
    public mutating func apply(scenario: JSONValue) throws(SimulatorInputError) {
        if let seed = scenario["seed"]?.doubleValue { self.seed = UInt64(seed) }
        if let size = scenario["pageSize"]?.intValue { pageSize = size }
        if let size = scenario["membersPerPage"]?.intValue { membersPerPage = size }
        if let name = scenario["nesting"] {
            guard let value = name.stringValue.flatMap(GroupNesting.init(rawValue:)) else {
                throw SimulatorInputError("nesting must be one of \(GroupNesting.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            spec.nesting = value
        }
        if let lag = scenario["listLagMillis"] {
            guard let value = lag.intValue, value >= 0 else { throw SimulatorInputError("listLagMillis must be 0 or more") }
            listLagMillis = value
        }
        if let budget = scenario["ruBudget"] {
            guard budget.objectValue != nil else { throw SimulatorInputError("ruBudget must be an object") }
            ruBudget.enabled = budget["enabled"]?.boolValue ?? true
            if let scale = budget["scale"] {
                guard let value = scale.doubleValue, value > 0 else { throw SimulatorInputError("ruBudget.scale must be a positive number") }
                ruBudget.scale = value
            }
            if let scale = budget["appScale"] {
                guard let value = scale.doubleValue, value > 0 else { throw SimulatorInputError("ruBudget.appScale must be a positive number") }
                ruBudget.appScale = value
            }
        }
        guard let tenants = scenario["tenants"]?.arrayValue else { return }
        scenarioTenants = []
        for (i, t) in tenants.enumerated() {
            var nesting = self.spec.nesting
            if let name = t["nesting"] {
                guard let value = name.stringValue.flatMap(GroupNesting.init(rawValue:)) else {
                    throw SimulatorInputError("tenant \(i): nesting must be one of \(GroupNesting.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                nesting = value
            }
            let spec = TenantSpec(users: t["users"]?.intValue ?? self.spec.users, groups: t["groups"]?.intValue ?? self.spec.groups,
                                  membersPerGroup: t["membersPerGroup"]?.intValue ?? self.spec.membersPerGroup, nesting: nesting)
            var domains: [TenantDomain]?
            if let list = t["domains"]?.arrayValue {
                domains = try list.map { (d: JSONValue) throws(SimulatorInputError) -> TenantDomain in
                    guard let name = d["name"]?.stringValue else { throw SimulatorInputError("tenant \(i): every domain needs a name") }
                    var services: [String]?
                    if let list = d["supportedServices"] {
                        guard let items = list.arrayValue, items.allSatisfy({ $0.stringValue != nil }) else {
                            throw SimulatorInputError("tenant \(i): supportedServices of \(name) must be an array of strings")
                        }
                        services = items.compactMap(\.stringValue)
                    }
                    return TenantDomain(name: name, isVerified: d["verified"]?.boolValue ?? true,
                                        isInitial: d["initial"]?.boolValue ?? false, isDefault: d["default"]?.boolValue ?? false,
                                        supportedServices: services, authenticationType: d["authenticationType"]?.stringValue ?? "Managed")
                }
                guard !(domains ?? []).isEmpty else { throw SimulatorInputError("tenant \(i): domains must not be empty") }
            }
            var apps: [AppRegistration]?
            if let list = t["apps"]?.arrayValue {
                var parsed: [AppRegistration] = []
                for a in list {
                    guard let clientId = a["clientId"]?.stringValue else { throw SimulatorInputError("tenant \(i): every app needs a clientId") }
                    var certificates: [RegisteredCertificate] = []
                    for pem in a["certificates"]?.arrayValue ?? [] {
                        guard let text = pem.stringValue else { throw SimulatorInputError("tenant \(i): certificates are PEM strings") }
                        certificates.append(try RegisteredCertificate(pem: text))
                    }
                    var federated: [FederatedCredential] = []
                    for f in a["federated"]?.arrayValue ?? [] {
                        guard let issuer = f["issuer"]?.stringValue, let subject = f["subject"]?.stringValue else {
                            throw SimulatorInputError("tenant \(i): federated credentials need issuer and subject")
                        }
                        federated.append(FederatedCredential(issuer: issuer, subject: subject,
                                                             audience: f["audience"]?.stringValue ?? "api://AzureADTokenExchange"))
                    }
                    parsed.append(AppRegistration(clientId: clientId.lowercased(), secrets: a["secrets"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                                                  certificates: certificates, federated: federated))
                }
                apps = parsed
            }
            var settings = TenantSettings()
            settings.deltaTokenLifetime = t["deltaTokenLifetimeSeconds"]?.doubleValue ?? deltaTokenLifetime
            settings.duplicateRate = t["duplicateRate"]?.doubleValue ?? duplicateRate
            settings.emptyPageRate = t["emptyPageRate"]?.doubleValue ?? 0
            if let lag = t["listLagMillis"] {
                guard let value = lag.intValue, value >= 0 else { throw SimulatorInputError("tenant \(i): listLagMillis must be 0 or more") }
                settings.listLagMillis = value
            } else {
                settings.listLagMillis = listLagMillis
            }
            if let permissions = t["permissions"]?.arrayValue { settings.permissions = Set(permissions.compactMap(\.stringValue)) }
            if let consent = t["consent"]?.boolValue { settings.consent = consent }
            if let style = t["expiredDeltaStyle"]?.stringValue {
                guard let value = ExpiredDeltaStyle(rawValue: style) else { throw SimulatorInputError("tenant \(i): expiredDeltaStyle must be gone410 or badRequest400") }
                settings.expiredDeltaStyle = value
            }
            scenarioTenants.append(ScenarioTenant(displayName: t["displayName"]?.stringValue,
                                                  domains: domains ?? TenantGenerator.domains(number: i + 1),
                                                  spec: spec, apps: apps, settings: settings))
        }
    }
}
