import Foundation

/// Graph endpoints: delta, `$count`, domains, organization here; the plain reads (`/users`, `/groups`, `/contacts`, a
/// group's `members` in v1.0 and beta, `getByIds`) in `SimulatorState+Lists`. Every authenticated request is charged its
/// resource units first (see ``ResourceUnits``) and, with budgets on, may be answered 429 before it is served.
///
/// Permissions (application roles in the token): users endpoints need `User.Read.All`, `User.ReadWrite.All`,
/// `Directory.Read.All` or `Directory.ReadWrite.All`; groups delta needs `GroupMember.Read.All`, `Group.Read.All`,
/// `Group.ReadWrite.All`, `Directory.Read.All` or `Directory.ReadWrite.All`; contacts need `OrgContact.Read.All`,
/// `Directory.Read.All` or `Directory.ReadWrite.All` (Graph's orgContact delta permissions); `/domains` needs `Domain.Read.All`,
/// `Domain.ReadWrite.All`, `Directory.Read.All` or `Directory.ReadWrite.All`; `/organization` needs
/// `Organization.Read.All`, `Organization.ReadWrite.All`, `Directory.Read.All`, `Directory.ReadWrite.All` or
/// `User.Read.All`. A group's `members` need what groups need; `getByIds` needs `Directory.Read.All` or
/// `Directory.ReadWrite.All`. Roles are fixed when the token is issued, as in Entra.
extension SimulatorState {
    static let userRoles: Set<String> = ["User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"]
    static let groupRoles: Set<String> = ["GroupMember.Read.All", "Group.Read.All", "Group.ReadWrite.All",
                                          "Directory.Read.All", "Directory.ReadWrite.All"]
    static let contactRoles: Set<String> = ["OrgContact.Read.All", "Directory.Read.All", "Directory.ReadWrite.All"]
    static let domainRoles: Set<String> = ["Domain.Read.All", "Domain.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"]
    static let organizationRoles: Set<String> = ["Organization.Read.All", "Organization.ReadWrite.All", "Directory.Read.All",
                                                 "Directory.ReadWrite.All", "User.Read.All"]

    mutating func graph(_ request: SimRequest, now: Double, foreignLinks: Bool) -> SimResponse {
        let unauthorized: [(name: String, value: String)] = [("WWW-Authenticate",
            "Bearer realm=\"\", authorization_uri=\"\(baseURL)/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"")]
        guard let tokenText = bearer(request), !tokenText.isEmpty else {
            return graphError(401, code: "InvalidAuthenticationToken", message: "Access token is empty.", request: request,
                              now: now, extraHeaders: unauthorized)
        }
        guard let token = tokens[tokenText] else {
            return graphError(401, code: "InvalidAuthenticationToken", message: "CompactToken parsing failed with error code: 80049217",
                              request: request, now: now, extraHeaders: unauthorized)
        }
        guard token.expiresAt > now else {
            return graphError(401, code: "InvalidAuthenticationToken", message: "Access token has expired or is not yet valid.",
                              request: request, now: now, extraHeaders: unauthorized)
        }
        // Every authenticated request is charged what it costs, whatever its answer (graph-sim's choice: Graph documents
        // costs per request, not per outcome).
        let cost = ResourceUnits.cost(of: request)
        let tenantId = tenants[token.tenant].id
        stats.resourceUnitsByTenant[tenantId, default: ResourceUnitCounters()].charge(cost, at: now)
        stats.resourceUnitsByApp[token.clientId, default: ResourceUnitCounters()].charge(cost, at: now)
        var usage: Double?
        if let outcome = budget.charge(cost, app: token.clientId, tenant: token.tenant, tenantUsers: tenants[token.tenant].liveUsers, now: now) {
            guard outcome.allowed else {
                var response = graphError(429, code: "TooManyRequests", message: "Please retry again later.", request: request, now: now,
                                          extraHeaders: [("Retry-After", String(outcome.retryAfter)),
                                                         ("x-ms-throttle-scope", "\(outcome.scope.rawValue)/ReadWrite/\(token.clientId)/\(tenantId)"),
                                                         ("x-ms-throttle-information", "ResourceUnitLimitExceeded"),
                                                         ("x-ms-throttle-limit-percentage", Self.percentage(max(1, outcome.usage)))],
                                          throttled: true)
                response.setHeader("x-ms-resource-unit", String(cost))
                return response
            }
            usage = outcome.usage
        }
        var response = route(request, token: token, now: now, foreignLinks: foreignLinks)
        response.setHeader("x-ms-resource-unit", String(cost))
        if let usage, usage > 0.8 { response.headers.append(("x-ms-throttle-limit-percentage", Self.percentage(usage))) }
        return response
    }

    /// `x-ms-throttle-limit-percentage`: the share of a budget in use, 0.8 to 1.8 as Graph documents, two decimals.
    static func percentage(_ usage: Double) -> String {
        String((min(1.8, max(0.8, usage)) * 100).rounded() / 100)
    }

    private mutating func route(_ request: SimRequest, token: IssuedToken, now: Double, foreignLinks: Bool) -> SimResponse {
        let segments = request.path.split(separator: "/").map(String.init)
        let version = segments.first ?? "v1.0"
        let parts = Array(segments.dropFirst())
        func denied() -> SimResponse {
            graphError(403, code: "Authorization_RequestDenied", message: "Insufficient privileges to complete the operation.",
                       request: request, now: now)
        }
        func notFound() -> SimResponse {
            graphError(400, code: "BadRequest", message: "Resource not found for the segment '\(parts.last ?? "")'.", request: request, now: now)
        }
        let t = token.tenant
        if request.method == "POST" && ResourceUnits.isGetByIds(parts) {
            guard !token.roles.isDisjoint(with: Self.getByIdsRoles) else { return denied() }
            return getByIds(request, tenant: t, now: now)
        }
        guard request.method == "GET" else {
            return graphError(405, code: "Request_BadRequest", message: "The simulator serves read operations only.", request: request, now: now)
        }
        if version == "beta" {
            // beta serves what v1.0 lacks for a first load: members with service principals.
            guard parts.count >= 3, parts[0] == "groups", parts[2] == "members" else { return notFound() }
            guard !token.roles.isDisjoint(with: Self.groupRoles) else { return denied() }
            if parts.count == 3 { return members(request, tenant: t, groupID: parts[1], beta: true, roles: token.roles, now: now) }
            if parts.count == 4 && parts[3] == "$count" { return memberCount(request, tenant: t, groupID: parts[1], beta: true, now: now) }
            return notFound()
        }
        switch parts.first {
        case "users", "groups", "contacts":
            let resource: Resource = parts[0] == "users" ? .users : parts[0] == "groups" ? .groups : .contacts
            let roles = resource == .users ? Self.userRoles : resource == .groups ? Self.groupRoles : Self.contactRoles
            guard !token.roles.isDisjoint(with: roles) else { return denied() }
            if parts.count == 2 && ["delta", "microsoft.graph.delta", "delta()", "microsoft.graph.delta()"].contains(parts[1]) {
                return delta(request, tenant: t, resource: resource, now: now, foreignLinks: foreignLinks)
            }
            if parts.count == 1 {
                return list(request, tenant: t, resource: resource, now: now)
            }
            if resource == .groups && parts.count == 3 && parts[2] == "members" {
                return members(request, tenant: t, groupID: parts[1], beta: false, roles: token.roles, now: now)
            }
            if resource == .users && parts.count == 3 && parts[2] == "manager" {
                return manager(request, tenant: t, userID: parts[1], now: now)
            }
            if resource == .groups && parts.count == 4 && parts[2] == "members" && parts[3] == "$count" {
                return memberCount(request, tenant: t, groupID: parts[1], beta: false, now: now)
            }
            if parts.count == 2 && parts[1] == "$count" {
                guard request.headers["consistencylevel"]?.lowercased() == "eventual" else {
                    // Graph's documented answer to a `$count` segment without the advanced query header.
                    return graphError(400, code: "Request_BadRequest", message: "$count is not currently supported.", request: request, now: now)
                }
                let view = readView(t, now: now)
                var response = SimResponse(status: 200, headers: graphHeaders(request),
                                           body: Array(String(tenants[t].listedCount(resource, view: view)).utf8))
                response.headers[0] = ("Content-Type", "text/plain;charset=utf-8")
                return response
            }
        case "domains":
            guard !token.roles.isDisjoint(with: Self.domainRoles) else { return denied() }
            if parts.count == 1 { return domains(request, tenant: t, name: nil, now: now) }
            if parts.count == 2 { return domains(request, tenant: t, name: parts[1], now: now) }
        case "organization":
            guard !token.roles.isDisjoint(with: Self.organizationRoles) else { return denied() }
            if parts.count == 1 { return organization(request, tenant: t) }
        default: break
        }
        return notFound()
    }

    private mutating func delta(_ request: SimRequest, tenant t: Int, resource: Resource, now: Double, foreignLinks: Bool) -> SimResponse {
        let nowMillis = Int64(now * 1000)
        // groups/delta takes `$filter=id eq '…' or id eq '…'` (at most 50 ids), as Graph documents.
        var scope: [Int32]?
        if resource == .groups, let filter = request.option("$filter") {
            guard request.option("$skiptoken") == nil, request.option("$deltatoken") == nil else {
                return graphError(400, code: "Request_UnsupportedQuery", message: "Unsupported query option '$filter' on a delta link.",
                                  request: request, now: now)
            }
            switch ScopedDeltaFilter.ids(filter) {
            case .failure(let problem):
                return graphError(400, code: "Request_UnsupportedQuery", message: problem.message, request: request, now: now)
            case .success(let ids):
                scope = Array(Set(ids.compactMap { id -> Int32? in
                    guard let ref = tenants[t].refs[id], ref.kind == .group, tenants[t].groups[ref.index].lifecycle == .live else { return nil }
                    return Int32(ref.index)
                })).sorted()
            }
        }
        for unsupported in ["$filter", "$expand", "$orderby", "$search"] where request.option(unsupported) != nil && !(unsupported == "$filter" && scope != nil) {
            return graphError(400, code: "Request_UnsupportedQuery", message: "Unsupported query option '\(unsupported)' for delta.",
                              request: request, now: now)
        }
        var round: DeltaToken
        if let skip = request.option("$skiptoken") {
            guard let token = DeltaToken.decode(skip, key: tokenKey), !token.isDelta, token.resource == resource, token.tenant == t else {
                return graphError(400, code: "Request_BadRequest", message: "The skip token is invalid.", request: request, now: now)
            }
            guard token.epoch == epoch else {
                return expiredDelta(request, tenant: t, now: now, resource: resource, selection: token.selection)
            }
            round = token
        } else if let deltaText = request.option("$deltatoken"), !deltaText.isEmpty {
            if deltaText.lowercased() == "latest" {
                switch DeltaSelection.parse(request.option("$select"), resource: resource, extensions: tenants[t].directoryExtensions) {
                case .failure(let problem): return selectProblem(problem, request: request, resource: resource, now: now)
                case .success(let selection):
                    let token = tenants[t].latestDelta(resource, selection: selection, epoch: epoch, nowMillis: nowMillis)
                    var w = JSONWriter()
                    w.beginObject()
                    w.string(odataContext(resource, selection, tenant: t), key: "@odata.context")
                    w.string(baseURL + "/v1.0/\(resource.name)/delta?$deltatoken=" + token.encode(key: tokenKey), key: "@odata.deltaLink")
                    w.beginArray("value"); w.endArray()
                    w.endObject()
                    stats.deltaPages += 1
                    return SimResponse(status: 200, headers: graphHeaders(request), body: w.bytes)
                }
            }
            guard let token = DeltaToken.decode(deltaText, key: tokenKey), token.isDelta, token.resource == resource, token.tenant == t else {
                return graphError(400, code: "Request_BadRequest", message: "The delta token is invalid.", request: request, now: now)
            }
            let age = now - Double(token.issuedAtMillis) / 1000
            guard token.epoch == epoch, age <= tenants[t].settings.deltaTokenLifetime, token.from <= tenants[t].head(resource) else {
                return expiredDelta(request, tenant: t, now: now, resource: resource, selection: token.selection)
            }
            round = tenants[t].incrementalRound(from: token, nowMillis: nowMillis)
        } else {
            switch DeltaSelection.parse(request.option("$select"), resource: resource, extensions: tenants[t].directoryExtensions) {
            case .failure(let problem): return selectProblem(problem, request: request, resource: resource, now: now)
            case .success(let selection):
                round = tenants[t].initialRound(resource, selection: selection, epoch: epoch, nowMillis: nowMillis)
                round.scope = scope
            }
        }
        let prefer = request.headers["prefer"] ?? ""
        let minimal = prefer.lowercased().contains("return=minimal")
        var pageSize = config.pageSize
        if resource != .groups, let asked = Self.maxPageSize(prefer) { pageSize = min(asked, config.maxPageSize, ListQuery.maxTop) }
        let linkBase = (foreignLinks ? foreignBaseURL : baseURL) + "/v1.0/\(resource.name)/delta?"
        let context = DeltaPageContext(odataContext: odataContext(resource, round.selection, tenant: t),
                                       nextLinkPrefix: linkBase + "$skiptoken=", deltaLinkPrefix: linkBase + "$deltatoken=",
                                       tokenKey: tokenKey, pageSize: pageSize, memberBudget: config.membersPerPage,
                                       minimal: minimal, nowMillis: nowMillis)
        let page = tenants[t].deltaPage(round, context: context)
        stats.deltaPages += 1
        stats.pageSizes["\(resource.name)/delta", default: [:]][pageSize, default: 0] += 1
        var headers = graphHeaders(request)
        if minimal { headers.append(("Preference-Applied", "return=minimal")) }
        return SimResponse(status: 200, headers: headers, body: page.body)
    }

    /// The page size a `Prefer: odata.maxpagesize=N` header asks for (nil: none, or not a positive number).
    ///
    /// Honoured on `users/delta` and `contacts/delta` up to 999 objects a page, following a field report that Graph
    /// enlarges users/delta pages this way; Graph documents no page size for directory delta at all. graph-sim's
    /// choices: `groups/delta` ignores it (its pages are bounded by `members@delta` entries as much as by groups, and no
    /// report says Graph honours it there); a larger value is served as 999; no `Preference-Applied` is sent for it (no
    /// source says Graph sends one), so a client measures the pages it gets. Headers are not carried in links, so each
    /// request of a round states it again.
    static func maxPageSize(_ prefer: String) -> Int? {
        for part in prefer.split(whereSeparator: { $0 == "," || $0 == ";" }) {
            let item = part.trimmingCharacters(in: .whitespaces).lowercased()
            guard item.hasPrefix("odata.maxpagesize=") else { continue }
            let value = item.dropFirst("odata.maxpagesize=".count).trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
            if let n = Int(value), n >= 1 { return n }
        }
        return nil
    }

    func odataContext(_ resource: Resource, _ selection: DeltaSelection, tenant t: Int) -> String {
        if let select = selection.selectText(resource: resource, extensions: tenants[t].directoryExtensions) {
            return baseURL + "/v1.0/$metadata#\(resource.name)(\(select))"
        }
        return baseURL + "/v1.0/$metadata#\(resource.name)"
    }

    mutating func selectProblem(_ problem: DeltaSelection.Problem, request: SimRequest, resource: Resource, now: Double) -> SimResponse {
        switch problem {
        case .unknownProperty(let name):
            // graph-sim's choice: Graph's documentation shows no example of this error. The code is the directory's
            // code for a bad request; the message is OData's wording, naming the directory's own type.
            return graphError(400, code: "Request_BadRequest",
                              message: "Could not find a property named '\(name)' on type '\(resource.directoryType)'.", request: request, now: now)
        case .untracked(let name):
            return graphError(501, code: "NotImplemented",
                              message: "Delta query is not supported for property '\(name)'.", request: request, now: now)
        }
    }

    /// The tenant's answer to an expired or unknown deltaLink: 410 `syncStateNotFound` with a `Location` that
    /// restarts the round, or 400 `SyncStateNotFound`.
    mutating func expiredDelta(_ request: SimRequest, tenant t: Int, now: Double, resource: Resource, selection: DeltaSelection?) -> SimResponse {
        let message = "The sync state generation is not found. The delta token is expired and data must be synchronized again."
        switch tenants[t].settings.expiredDeltaStyle {
        case .gone410:
            var location = baseURL + "/v1.0/\(resource.name)/delta?"
            if let select = selection?.selectText(resource: resource, extensions: tenants[t].directoryExtensions) { location += "$select=\(select)&" }
            location += "$deltatoken="
            return graphError(410, code: "syncStateNotFound", message: message, request: request, now: now,
                              extraHeaders: [("Location", location)])
        case .badRequest400:
            return graphError(400, code: "SyncStateNotFound", message: message, request: request, now: now)
        }
    }

    private mutating func domains(_ request: SimRequest, tenant t: Int, name: String?, now: Double) -> SimResponse {
        func write(_ w: inout JSONWriter, _ d: TenantDomain) {
            w.beginObject()
            w.string(d.authenticationType, key: "authenticationType")
            w.null(key: "availabilityStatus")
            w.string(d.name, key: "id")
            w.bool(true, key: "isAdminManaged")
            w.bool(d.isDefault, key: "isDefault")
            w.bool(d.isInitial, key: "isInitial")
            w.bool(d.isVerified && !d.isInitial, key: "isRoot")
            w.bool(d.isVerified, key: "isVerified")
            w.strings(d.supportedServices, key: "supportedServices")
            w.endObject()
        }
        var w = JSONWriter()
        if let name {
            guard let domain = tenants[t].domains.first(where: { $0.name == name.lowercased() }) else {
                return graphError(404, code: "Request_ResourceNotFound",
                                  message: "Resource '\(name)' does not exist or one of its queried reference-property objects are not present.",
                                  request: request, now: now)
            }
            w.beginObject()
            w.string(baseURL + "/v1.0/$metadata#domains/$entity", key: "@odata.context")
            w.endObject()
            var entity = JSONWriter()
            write(&entity, domain)
            // Merge the context into the entity object.
            var bytes = Array(w.bytes.dropLast())
            bytes.append(UInt8(ascii: ","))
            bytes.append(contentsOf: entity.bytes.dropFirst())
            return SimResponse(status: 200, headers: graphHeaders(request), body: bytes)
        }
        w.beginObject()
        w.string(baseURL + "/v1.0/$metadata#domains", key: "@odata.context")
        w.beginArray("value")
        for d in tenants[t].domains { write(&w, d) }
        w.endArray()
        w.endObject()
        return SimResponse(status: 200, headers: graphHeaders(request), body: w.bytes)
    }

    private mutating func organization(_ request: SimRequest, tenant t: Int) -> SimResponse {
        let tenant = tenants[t]
        var w = JSONWriter()
        w.beginObject()
        w.string(baseURL + "/v1.0/$metadata#organization", key: "@odata.context")
        w.beginArray("value")
        w.beginObject()
        w.string(tenant.id, key: "id")
        w.string(tenant.displayName, key: "displayName")
        w.string("AAD", key: "tenantType")
        w.beginArray("verifiedDomains")
        for d in tenant.domains where d.isVerified {
            w.beginObject()
            w.string(d.supportedServices.joined(separator: ", "), key: "capabilities")
            w.bool(d.isDefault, key: "isDefault")
            w.bool(d.isInitial, key: "isInitial")
            w.string(d.name, key: "name")
            w.string("Managed", key: "type")
            w.endObject()
        }
        w.endArray()
        w.endObject()
        w.endArray()
        w.endObject()
        return SimResponse(status: 200, headers: graphHeaders(request), body: w.bytes)
    }
}

/// The `$filter` groups/delta accepts: `id eq '…'` joined by `or`, at most 50 ids (Graph: "There is a
/// limit of 50 filtered objects"). graph-sim's choices: ids match in any case, unknown or deleted ids
/// are left out of the round, and the error wording is graph-sim's own.
enum ScopedDeltaFilter {
    static let limit = 50

    static func ids(_ filter: String) -> Result<[String], ScopeProblem> {
        var ids: [String] = []
        let clauses = filter.components(separatedBy: " or ").flatMap { $0.components(separatedBy: " OR ") }
        for clause in clauses {
            let parts = clause.trimmingCharacters(in: .whitespaces).split(separator: " ", maxSplits: 2).map(String.init)
            guard parts.count == 3, parts[0].lowercased() == "id", parts[1].lowercased() == "eq", parts[2].count >= 2,
                  parts[2].hasPrefix("'"), parts[2].hasSuffix("'") else {
                return .failure(ScopeProblem("Unsupported or invalid query filter clause specified for property 'id' of resource 'Group'."))
            }
            ids.append(String(parts[2].dropFirst().dropLast()).lowercased())
        }
        guard ids.count <= limit else {
            return .failure(ScopeProblem("The number of filtered objects exceeds the limit of \(limit)."))
        }
        return .success(ids)
    }

    struct ScopeProblem: Error {
        var message: String
        init(_ message: String) { self.message = message }
    }
}
