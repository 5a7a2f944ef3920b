/// The control API, served under `/_graphsim/` on loopback only (no real Graph client uses that path).
///
/// - `GET /_graphsim/tenants` → `{"baseURL","tenants":[{"index","id","displayName","domains":[{"name","isVerified","isInitial",
///   "isDefault","supportedServices","authenticationType"}],"apps":[{"clientId","displayName","state","secretState",
///   "certificateState","secrets","certificates","federated":[{"issuer","subject","audience"}]}],"directoryExtensions":[{"name",
///   "dataType"}],"users","groups","contacts","settings":{…}}]}` (`users`/`groups`/`contacts` count live objects).
/// - `GET /_graphsim/tenants/{tid}/truth` → see ``Tenant/truthJSON()``. `{tid}` is a tenant id, a domain or an index.
/// - `POST /_graphsim/tenants/{tid}/mutations` with `{"operations":[…], "random":{"seed":S,"count":N}}` (either or both).
///   Operations: `{"op":"createUser","user":{props}}`, `{"op":"updateUser","id","set":{props, null clears}}`,
///   `softDeleteUser|hardDeleteUser|restoreUser` with `"id"`, the same five for groups (`"group"` instead of `"user"`),
///   `{"op":"createContact","contact":{props}}`, `{"op":"updateContact","id","set"}`, `{"op":"deleteContact","id"}`
///   (contacts are deleted for good: Graph keeps no deleted contacts to restore),
///   `{"op":"setManager","id","managerId"}`, `{"op":"removeManager","id"}`,
///   `{"op":"addMember","groupId","memberId","memberType"?}`, `{"op":"removeMember","groupId","memberId"}`.
///   A user's `set` may name directory extension properties, `onPremisesExtensionAttributes` (merged key by key)
///   and `manager` (an id or null).
///   → `{"applied":n,"counts":{op:n},"createdUsers":[ids],"createdGroups":[ids],"createdContacts":[ids]}`. Operations
///   run in order; on the first invalid one the answer is 400 `{"error","index","applied"}` and earlier ones stay applied.
/// - `POST /_graphsim/tenants/{tid}/config` with any of `{"permissions":[…],"grantPermissions":[…],"revokePermissions":[…],
///   "consent":bool,"appState":"enabled"|"disabled"|"deleted","secretState":"valid"|"expired"|"removed",
///   "certificateState":"valid"|"expired"|"removed","clientId":…,"deltaTokenLifetimeSeconds":n,
///   "expiredDeltaStyle":"gone410"|"badRequest400","duplicateRate":p,"emptyPageRate":p,"listLagMillis":n,"listFilters":bool,
///   "verifiedDomains":[{"name","verified","supportedServices"?}],"directoryExtensions":[{"name","dataType"}]}` → the tenant
///   summary. The app states apply to the app `clientId` names, or to every app of the tenant. Permission, consent and app
///   changes apply to token requests from then on; tokens already issued keep their roles until they expire, as in
///   Entra (the `tokenExpiry` fault ends them at once). Unknown keys are refused.
/// - `POST /_graphsim/faults` with a rule (see ``FaultRule/init(json:)``) or `{"faults":[rules]}` → `{"faults":[rules with ids]}`;
///   `GET /_graphsim/faults` lists rules; `DELETE /_graphsim/faults` removes all.
/// - `GET /_graphsim/budget` → `{"enabled","scale","appScale","buckets":[{"scope","appId","tenantId","capacity",
///   "windowSeconds","available","usage"}]}`: the resource-unit budgets and each bucket's state now.
///   `POST /_graphsim/budget` with any of `{"enabled":bool,"scale":x,"appScale":x|null}` changes them and refills every
///   bucket; unknown keys are refused.
/// - `GET /_graphsim/stats` → counters (with `resourceUnits` per tenant and app, and `pageSizes`) and `tokenLeaks`;
///   `POST /_graphsim/stats/reset`.
/// - `GET /_graphsim/tokens` → `{"accessTokens":[…]}`: every access token issued so far (expired ones too),
///   so end-to-end tests can scan a client's logs and records for them. Read-only.
/// - `POST /_graphsim/shutdown` → `{"stopping":true}`, then the server stops.
extension SimulatorState {
    mutating func control(_ request: SimRequest, now: Double) -> SimResponse {
        let parts = request.path.split(separator: "/").dropFirst().map(String.init)
        func ok(_ body: [UInt8]) -> SimResponse { SimResponse.json(200, body) }
        func fail(_ status: Int, _ message: String) -> SimResponse {
            var w = JSONWriter()
            w.beginObject(); w.string(message, key: "error"); w.endObject()
            return SimResponse.json(status, w.bytes)
        }
        let body: JSONValue
        if request.body.isEmpty {
            body = .object([:])
        } else {
            do { body = try JSONValue.parse(request.body) } catch { return fail(400, error.message) }
        }
        switch (request.method, parts) {
        case ("GET", ["tenants"]):
            var w = JSONWriter()
            w.beginObject()
            w.string(baseURL, key: "baseURL")
            w.beginArray("tenants")
            for t in tenants.indices { writeSummary(&w, t) }
            w.endArray()
            w.endObject()
            return ok(w.bytes)
        case ("GET", let p) where p.count == 3 && p[0] == "tenants" && p[2] == "truth":
            guard let t = tenantIndex(named: p[1]) else { return fail(404, "no tenant '\(p[1])'") }
            return ok(tenants[t].truthJSON())
        case ("POST", let p) where p.count == 3 && p[0] == "tenants" && p[2] == "mutations":
            guard let t = tenantIndex(named: p[1]) else { return fail(404, "no tenant '\(p[1])'") }
            return mutate(t, body, now: now)
        case ("POST", let p) where p.count == 3 && p[0] == "tenants" && p[2] == "config":
            guard let t = tenantIndex(named: p[1]) else { return fail(404, "no tenant '\(p[1])'") }
            do { try configure(t, body) } catch { return fail(400, error.message) }
            var w = JSONWriter()
            writeSummary(&w, t)
            return ok(w.bytes)
        case ("POST", ["faults"]):
            let list = body["faults"]?.arrayValue ?? [body]
            var added: [FaultRule] = []
            for json in list {
                do {
                    var rule = try FaultRule(json: json)
                    rule.id = nextFaultId
                    nextFaultId += 1
                    added.append(rule)
                } catch {
                    return fail(400, error.message)
                }
            }
            faults.append(contentsOf: added)
            return ok(faultList(added))
        case ("GET", ["faults"]):
            return ok(faultList(faults))
        case ("DELETE", ["faults"]):
            faults.removeAll()
            return ok(faultList([]))
        case ("GET", ["tokens"]):
            var w = JSONWriter()
            w.beginObject()
            w.beginArray("accessTokens")
            for token in tokens.keys.sorted() { w.string(token) }
            w.endArray()
            w.endObject()
            return ok(w.bytes)
        case ("GET", ["budget"]):
            return ok(budgetJSON(now: now))
        case ("POST", ["budget"]):
            do { try configureBudget(body) } catch { return fail(400, error.message) }
            return ok(budgetJSON(now: now))
        case ("GET", ["stats"]):
            var w = JSONWriter()
            stats.write(&w, now: now)
            return ok(w.bytes)
        case ("POST", ["stats", "reset"]):
            stats = SimulatorStats()
            var w = JSONWriter()
            stats.write(&w, now: now)
            return ok(w.bytes)
        case ("POST", ["shutdown"]):
            var response = ok(Array("{\"stopping\":true}".utf8))
            response.shutdown = true
            return response
        default:
            return fail(404, "no control endpoint \(request.method) \(request.path)")
        }
    }

    private func budgetJSON(now: Double) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.bool(budget.settings.enabled, key: "enabled")
        w.double(budget.settings.scale, key: "scale")
        if let appScale = budget.settings.appScale { w.double(appScale, key: "appScale") } else { w.null(key: "appScale") }
        w.beginArray("buckets")
        for entry in budget.snapshot(now: now) {
            w.beginObject()
            w.string(entry.scope.rawValue, key: "scope")
            w.string(entry.app, key: "appId")
            if let t = entry.tenant, tenants.indices.contains(t) { w.string(tenants[t].id, key: "tenantId") } else { w.null(key: "tenantId") }
            w.double(entry.bucket.capacity, key: "capacity")
            w.double(entry.bucket.window, key: "windowSeconds")
            w.double((entry.bucket.tokens * 1000).rounded() / 1000, key: "available")
            w.double((entry.bucket.usage * 1000).rounded() / 1000, key: "usage")
            w.endObject()
        }
        w.endArray()
        w.endObject()
        return w.bytes
    }

    /// Applies a `budget` body: everything is checked before anything changes; the buckets start full again.
    private mutating func configureBudget(_ body: JSONValue) throws(SimulatorInputError) {
        guard let members = body.objectValue else { throw SimulatorInputError("budget must be a JSON object") }
        let known: Set<String> = ["enabled", "scale", "appScale"]
        if let unknown = members.keys.sorted().first(where: { !known.contains($0) }) {
            throw SimulatorInputError("unknown budget key '\(unknown)'; known: \(known.sorted().joined(separator: ", "))")
        }
        var settings = budget.settings
        if let value = body["enabled"] {
            guard let enabled = value.boolValue else { throw SimulatorInputError("enabled must be true or false") }
            settings.enabled = enabled
        }
        if let value = body["scale"] {
            guard let scale = value.doubleValue, scale > 0 else { throw SimulatorInputError("scale must be a positive number") }
            settings.scale = scale
        }
        if let value = body["appScale"] {
            if value.isNull {
                settings.appScale = nil
            } else {
                guard let scale = value.doubleValue, scale > 0 else { throw SimulatorInputError("appScale must be a positive number or null") }
                settings.appScale = scale
            }
        }
        budget = ResourceBudget()
        budget.settings = settings
    }

    private func faultList(_ rules: [FaultRule]) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.beginArray("faults")
        for rule in rules { rule.write(&w) }
        w.endArray()
        w.endObject()
        return w.bytes
    }

    private func writeSummary(_ w: inout JSONWriter, _ t: Int) {
        let tenant = tenants[t]
        w.beginObject()
        w.int(t, key: "index")
        w.string(tenant.id, key: "id")
        w.string(tenant.displayName, key: "displayName")
        w.beginArray("domains")
        for d in tenant.domains {
            w.beginObject()
            w.string(d.name, key: "name")
            w.bool(d.isVerified, key: "isVerified")
            w.bool(d.isInitial, key: "isInitial")
            w.bool(d.isDefault, key: "isDefault")
            w.strings(d.supportedServices, key: "supportedServices")
            w.string(d.authenticationType, key: "authenticationType")
            w.endObject()
        }
        w.endArray()
        w.beginArray("apps")
        for app in tenant.apps {
            w.beginObject()
            w.string(app.clientId, key: "clientId")
            w.string(app.displayName, key: "displayName")
            w.string(app.state.rawValue, key: "state")
            w.string(app.secretState.rawValue, key: "secretState")
            w.string(app.certificateState.rawValue, key: "certificateState")
            w.int(app.secrets.count, key: "secrets")
            w.strings(app.certificates.map(\.x5tS256), key: "certificates")
            w.beginArray("federated")
            for f in app.federated {
                w.beginObject()
                w.string(f.issuer, key: "issuer"); w.string(f.subject, key: "subject"); w.string(f.audience, key: "audience")
                w.endObject()
            }
            w.endArray()
            w.endObject()
        }
        w.endArray()
        w.beginArray("directoryExtensions")
        for definition in tenant.directoryExtensions {
            w.beginObject()
            w.string(definition.name, key: "name")
            w.string(definition.dataType.rawValue, key: "dataType")
            w.endObject()
        }
        w.endArray()
        w.int(tenant.liveUsers, key: "users")
        w.int(tenant.liveGroups, key: "groups")
        w.int(tenant.liveContacts, key: "contacts")
        w.beginObject("settings")
        w.strings(tenant.settings.permissions.sorted(), key: "permissions")
        w.bool(tenant.settings.consent, key: "consent")
        w.double(tenant.settings.deltaTokenLifetime, key: "deltaTokenLifetimeSeconds")
        w.string(tenant.settings.expiredDeltaStyle.rawValue, key: "expiredDeltaStyle")
        w.double(tenant.settings.duplicateRate, key: "duplicateRate")
        w.double(tenant.settings.emptyPageRate, key: "emptyPageRate")
        w.int(tenant.settings.listLagMillis, key: "listLagMillis")
        w.bool(tenant.settings.listFilters, key: "listFilters")
        w.endObject()
        w.endObject()
    }

    static let configKeys: Set<String> = [
        "permissions", "grantPermissions", "revokePermissions", "consent", "appState", "secretState", "certificateState",
        "clientId", "deltaTokenLifetimeSeconds", "expiredDeltaStyle", "duplicateRate", "emptyPageRate", "verifiedDomains",
        "directoryExtensions", "listLagMillis", "listFilters",
    ]

    /// Applies a `config` body: everything is checked before anything changes.
    private mutating func configure(_ t: Int, _ body: JSONValue) throws(SimulatorInputError) {
        guard let members = body.objectValue else { throw SimulatorInputError("config must be a JSON object") }
        if let unknown = members.keys.sorted().first(where: { !Self.configKeys.contains($0) }) {
            throw SimulatorInputError("unknown config key '\(unknown)'; known: \(Self.configKeys.sorted().joined(separator: ", "))")
        }
        var tenant = tenants[t]
        func strings(_ key: String) throws(SimulatorInputError) -> [String]? {
            guard let value = body[key] else { return nil }
            guard let list = value.arrayValue, list.allSatisfy({ $0.stringValue != nil }) else {
                throw SimulatorInputError("\(key) must be an array of strings")
            }
            return list.compactMap(\.stringValue)
        }
        if let list = try strings("permissions") { tenant.settings.permissions = Set(list) }
        if let list = try strings("grantPermissions") { tenant.settings.permissions.formUnion(list) }
        if let list = try strings("revokePermissions") { tenant.settings.permissions.subtract(list) }
        if let consent = body["consent"] {
            guard let value = consent.boolValue else { throw SimulatorInputError("consent must be true or false") }
            tenant.settings.consent = value
        }
        var appIndices = Array(tenant.apps.indices)
        if let clientId = body["clientId"] {
            guard let id = clientId.stringValue?.lowercased(), let i = tenant.apps.firstIndex(where: { $0.clientId.lowercased() == id }) else {
                throw SimulatorInputError("no app '\(clientId.stringValue ?? "")' in this tenant")
            }
            appIndices = [i]
        }
        func state<T: RawRepresentable & CaseIterable>(_ key: String, _: T.Type) throws(SimulatorInputError) -> T? where T.RawValue == String {
            guard let value = body[key] else { return nil }
            guard let text = value.stringValue, let parsed = T(rawValue: text) else {
                throw SimulatorInputError("\(key) must be one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return parsed
        }
        if let value = try state("appState", AppState.self) { for i in appIndices { tenant.apps[i].state = value } }
        if let value = try state("secretState", CredentialState.self) { for i in appIndices { tenant.apps[i].secretState = value } }
        if let value = try state("certificateState", CredentialState.self) { for i in appIndices { tenant.apps[i].certificateState = value } }
        if let seconds = body["deltaTokenLifetimeSeconds"] {
            guard let value = seconds.doubleValue else { throw SimulatorInputError("deltaTokenLifetimeSeconds must be a number") }
            tenant.settings.deltaTokenLifetime = value
        }
        if let style = body["expiredDeltaStyle"] {
            guard let value = style.stringValue.flatMap(ExpiredDeltaStyle.init(rawValue:)) else {
                throw SimulatorInputError("expiredDeltaStyle must be gone410 or badRequest400")
            }
            tenant.settings.expiredDeltaStyle = value
        }
        if let rate = body["duplicateRate"] {
            guard let value = rate.doubleValue else { throw SimulatorInputError("duplicateRate must be a number") }
            tenant.settings.duplicateRate = value
        }
        if let rate = body["emptyPageRate"] {
            guard let value = rate.doubleValue else { throw SimulatorInputError("emptyPageRate must be a number") }
            tenant.settings.emptyPageRate = value
        }
        if let filters = body["listFilters"] {
            guard case .bool(let value) = filters else { throw SimulatorInputError("listFilters must be true or false") }
            tenant.settings.listFilters = value
        }
        if let lag = body["listLagMillis"] {
            guard let value = lag.intValue, value >= 0 else { throw SimulatorInputError("listLagMillis must be a whole number of milliseconds, 0 or more") }
            tenant.settings.listLagMillis = value
        }
        if let domains = body["verifiedDomains"] {
            guard let list = domains.arrayValue else { throw SimulatorInputError("verifiedDomains must be an array") }
            for entry in list {
                guard let name = entry["name"]?.stringValue?.lowercased(), let verified = entry["verified"]?.boolValue else {
                    throw SimulatorInputError("verifiedDomains entries need \"name\" and \"verified\"")
                }
                var services: [String]?
                if let given = entry["supportedServices"] {
                    guard let items = given.arrayValue, items.allSatisfy({ $0.stringValue != nil }) else {
                        throw SimulatorInputError("supportedServices must be an array of strings")
                    }
                    services = items.compactMap(\.stringValue)
                }
                if let i = tenant.domains.firstIndex(where: { $0.name == name }) {
                    tenant.domains[i].isVerified = verified
                    if let services { tenant.domains[i].supportedServices = services }
                } else {
                    tenant.domains.append(TenantDomain(name: name, isVerified: verified, supportedServices: services))
                }
            }
        }
        if let extensions = body["directoryExtensions"] {
            guard let list = extensions.arrayValue else { throw SimulatorInputError("directoryExtensions must be an array") }
            for entry in list {
                guard let name = entry["name"]?.stringValue, !name.isEmpty,
                      let type = entry["dataType"]?.stringValue.flatMap(DirectoryExtension.DataType.init(rawValue:)) else {
                    throw SimulatorInputError("directoryExtensions entries need \"name\" and \"dataType\" (\(DirectoryExtension.DataType.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                if name.hasPrefix("extension_") {
                    try tenant.registerExtension(DirectoryExtension(name: name, dataType: type))
                } else {
                    guard let app = tenant.apps.first else { throw SimulatorInputError("a directory extension needs an app to register it on") }
                    try tenant.registerExtension(DirectoryExtension(app: app.clientId, shortName: name, dataType: type))
                }
            }
        }
        tenants[t] = tenant
    }

    private mutating func mutate(_ t: Int, _ body: JSONValue, now: Double) -> SimResponse {
        tenants[t].setMutationClock(now)
        var counts: [String: Int] = [:]
        var createdUsers: [String] = []
        var createdGroups: [String] = []
        var createdContacts: [String] = []
        var applied = 0
        let operations = body["operations"]?.arrayValue ?? []
        for (index, op) in operations.enumerated() {
            do throws(SimulatorInputError) {
                let name = op["op"]?.stringValue ?? ""
                func id(_ key: String = "id") throws(SimulatorInputError) -> String {
                    guard let value = op[key]?.stringValue else { throw SimulatorInputError("\(name) needs \"\(key)\"") }
                    return value
                }
                switch name {
                case "createUser": createdUsers.append(try tenants[t].create(.users, props: op["user"]?.objectValue ?? [:], now: now))
                case "createGroup": createdGroups.append(try tenants[t].create(.groups, props: op["group"]?.objectValue ?? [:], now: now))
                case "createContact": createdContacts.append(try tenants[t].create(.contacts, props: op["contact"]?.objectValue ?? [:], now: now))
                case "updateContact": try tenants[t].update(.contacts, id: try id(), props: op["set"]?.objectValue ?? op["contact"]?.objectValue ?? [:])
                case "deleteContact": try tenants[t].hardDelete(.contacts, id: try id())
                case "setManager": try tenants[t].setManager(userId: try id(), managerId: try id("managerId"))
                case "removeManager": try tenants[t].removeManager(userId: try id())
                case "updateUser": try tenants[t].update(.users, id: try id(), props: op["set"]?.objectValue ?? op["user"]?.objectValue ?? [:])
                case "updateGroup": try tenants[t].update(.groups, id: try id(), props: op["set"]?.objectValue ?? op["group"]?.objectValue ?? [:])
                case "softDeleteUser": try tenants[t].softDelete(.users, id: try id())
                case "softDeleteGroup": try tenants[t].softDelete(.groups, id: try id())
                case "hardDeleteUser": try tenants[t].hardDelete(.users, id: try id())
                case "hardDeleteGroup": try tenants[t].hardDelete(.groups, id: try id())
                case "restoreUser": try tenants[t].restore(.users, id: try id())
                case "restoreGroup": try tenants[t].restore(.groups, id: try id())
                case "addMember": try tenants[t].addMember(groupId: try id("groupId"), memberId: try id("memberId"), memberType: op["memberType"]?.stringValue)
                case "removeMember": try tenants[t].removeMember(groupId: try id("groupId"), memberId: try id("memberId"))
                default: throw SimulatorInputError("unknown op '\(name)'")
                }
                counts[name, default: 0] += 1
                applied += 1
            } catch {
                var w = JSONWriter()
                w.beginObject()
                w.string(error.message, key: "error")
                w.int(index, key: "index")
                w.int(applied, key: "applied")
                w.endObject()
                return SimResponse.json(400, w.bytes)
            }
        }
        if let random = body["random"], let seed = random["seed"]?.doubleValue, let count = random["count"]?.intValue {
            let usersBefore = tenants[t].users.count, groupsBefore = tenants[t].groups.count, contactsBefore = tenants[t].contacts.count
            for (op, n) in tenants[t].applyRandomMutations(seed: UInt64(seed), count: count, now: now) {
                counts[op, default: 0] += n
                applied += n
            }
            createdUsers.append(contentsOf: tenants[t].users[usersBefore...].map(\.id))
            createdGroups.append(contentsOf: tenants[t].groups[groupsBefore...].map(\.id))
            createdContacts.append(contentsOf: tenants[t].contacts[contactsBefore...].map(\.id))
        }
        var w = JSONWriter()
        w.beginObject()
        w.int(applied, key: "applied")
        w.beginObject("counts")
        for key in counts.keys.sorted() { w.int(counts[key]!, key: key) }
        w.endObject()
        w.strings(createdUsers, key: "createdUsers")
        w.strings(createdGroups, key: "createdGroups")
        w.strings(createdContacts, key: "createdContacts")
        w.endObject()
        return SimResponse.json(200, w.bytes)
    }
}
