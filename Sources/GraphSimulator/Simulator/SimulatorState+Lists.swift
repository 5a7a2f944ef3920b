import Foundation

/// Plain reads: `GET /v1.0/users`, `/groups`, `/contacts`; `GET /v1.0/groups/{id}/members` and
/// `/beta/groups/{id}/members`; `POST /v1.0/directoryObjects/getByIds`.
///
/// - Lists: `$select` (the property rules of delta, but a property kept outside the main store is accepted and never
///   returned), `$top` (default 100, 1...999), `@odata.nextLink` paging with `$skiptoken` (the link repeats the request's
///   other options), `$filter=startswith(property,'prefix')` (see ``ListQuery/filter(_:resource:)``), and `$count=true`
///   with `ConsistencyLevel: eventual` for `@odata.count` on the first page (without the header `$count=true` is ignored,
///   as Graph documents). Live objects only.
/// - Members: `@odata.type` on every member; the app sees users, contacts and groups in full only with a permission
///   that reads them (otherwise `@odata.type` and `id`, as Graph documents for inaccessible members); devices and
///   service principals always come that way (graph-sim does not model them further). v1.0 does not list service
///   principals (Graph's known issue); beta does. 404 `Request_ResourceNotFound` for an unknown or deleted group.
/// - `getByIds`: `{"ids":[≤1000],"types":[…]?}`, `$select` in the query; the objects found (live ones), in the order
///   asked, each with `@odata.type`; needs `Directory.Read.All` or `Directory.ReadWrite.All`, the application
///   permissions Graph documents.
///
/// - `GET /users?$expand=manager($select=id)`: each user with its manager as `{"@odata.type","id"}` (left out when
///   it has none), at most 100 users a page (Graph's limit for expanded directory objects; graph-sim serves a larger
///   `$top` as 100). `GET /users/{id}/manager`: the manager, or 404 when there is none. graph-sim's choice: managers
///   are read current, not through the replication lag.
///
/// All three read through the tenant's replication lag (``TenantSettings/listLagMillis``).
extension SimulatorState {
    static let getByIdsRoles: Set<String> = ["Directory.Read.All", "Directory.ReadWrite.All"]

    /// Query options graph-sim does not serve on plain reads.
    private mutating func unservedOption(_ request: SimRequest, now: Double, also: [String] = []) -> SimResponse? {
        if request.option("$skip") != nil {
            // Graph documents that users and groups lists do not support `$skip`; the wording is graph-sim's choice.
            return graphError(400, code: "Request_BadRequest", message: "'$skip' is not supported by the service.", request: request, now: now)
        }
        if request.option("$search") != nil && request.headers["consistencylevel"]?.lowercased() != "eventual" {
            return graphError(400, code: "Request_UnsupportedQuery",
                              message: "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'",
                              request: request, now: now)
        }
        for name in ["$orderby", "$search", "$expand"] + also where request.option(name) != nil {
            return graphError(400, code: "Request_UnsupportedQuery", message: "graph-sim does not serve the query option '\(name)' here.",
                              request: request, now: now)
        }
        return nil
    }

    private mutating func problem(_ p: ListQueryProblem, _ request: SimRequest, now: Double) -> SimResponse {
        graphError(p.status, code: p.code, message: p.message, request: request, now: now)
    }

    /// 400 `Directory_ExpiredPageToken`, Graph's answer to a page token it no longer holds.
    mutating func expiredPageToken(_ request: SimRequest, now: Double) -> SimResponse {
        graphError(400, code: "Directory_ExpiredPageToken",
                   message: "The specified page token value has expired and can no longer be included in your request.",
                   request: request, now: now)
    }

    /// Whether `$count=true` asks for `@odata.count` and the advanced query header is present (first pages only).
    private func wantsCount(_ request: SimRequest) -> Bool {
        request.option("$count")?.lowercased() == "true" && request.headers["consistencylevel"]?.lowercased() == "eventual"
            && request.option("$skiptoken") == nil
    }

    /// `(name,…)` for `@odata.context`: the `$select` names as the request gave them ("" without `$select`).
    private func selectSuffix(_ request: SimRequest) -> String {
        let names = (request.option("$select") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return names.isEmpty ? "" : "(" + names.joined(separator: ",") + ")"
    }

    /// The request's query options except `$skiptoken`, each `name=value&`, for a nextLink.
    private func linkQuery(_ request: SimRequest) -> String {
        var text = ""
        for item in request.query where item.name.lowercased() != "$skiptoken" {
            text += ListQuery.encode(item.name) + "=" + ListQuery.encode(item.value) + "&"
        }
        return text
    }

    /// Reads a `$skiptoken` of kind `kind`: nil when there is none, or the error to answer.
    private mutating func pageToken(_ request: SimRequest, kind: PageToken.Kind, resource: Resource, tenant t: Int, query: UInt64,
                                    now: Double) -> Result<PageToken?, SimResponseBox> {
        guard let text = request.option("$skiptoken") else { return .success(nil) }
        // graph-sim's choice: a token that is not one of this chain's answers 400 with the wording delta uses; Graph
        // documents only that a `$skiptoken` must not be moved to another request.
        guard let token = PageToken.decode(text, key: tokenKey), token.kind == kind, token.resource == resource, token.tenant == t,
              token.query == query else {
            return .failure(SimResponseBox(graphError(400, code: "Request_BadRequest", message: "The skip token is invalid.", request: request, now: now)))
        }
        guard token.epoch == epoch else { return .failure(SimResponseBox(expiredPageToken(request, now: now))) }
        return .success(token)
    }

    private mutating func countPage(_ stream: String, size: Int) {
        stats.pageSizes[stream, default: [:]][size, default: 0] += 1
    }

    /// The view plain reads of tenant `t` get now.
    mutating func readView(_ t: Int, now: Double) -> ListView {
        let millis = Int64((now * 1000).rounded())
        tenants[t].pruneReplicaLog(nowMillis: millis)
        return tenants[t].listView(nowMillis: millis)
    }

    // MARK: Lists

    /// `GET /users`, `/groups` or `/contacts`.
    mutating func list(_ request: SimRequest, tenant t: Int, resource: Resource, now: Double) -> SimResponse {
        // Users may expand their manager; any other expansion is refused like the other unserved options.
        let expandsManager = resource == .users && Self.expandsManager(request.option("$expand"))
        if let refused = unservedOption(expandsManager ? request.without("$expand") : request, now: now) { return refused }
        var top: Int
        switch ListQuery.top(request.option("$top")) {
        case .success(let value): top = value
        case .failure(let p): return problem(p, request, now: now)
        }
        if expandsManager { top = min(top, 100) }
        var selection: DeltaSelection
        switch DeltaSelection.parse(request.option("$select"), resource: resource, extensions: tenants[t].directoryExtensions, mode: .read) {
        case .success(let value): selection = value
        case .failure(let p): return selectProblem(p, request: request, resource: resource, now: now)
        }
        selection.members = false
        selection.manager = false
        var filter: PrefixFilter?
        if request.option("$filter") != nil, !tenants[t].settings.listFilters {
            return graphError(400, code: "Request_UnsupportedQuery", message: "Unsupported or invalid query filter clause specified for property 'userPrincipalName' of resource 'User'.",
                              request: request, now: now)
        }
        if let text = request.option("$filter") {
            switch ListQuery.filter(text, resource: resource) {
            case .success(let value): filter = value
            case .failure(let p): return problem(p, request, now: now)
            }
        }
        let query = PageToken.fingerprint("list|\(resource.name)|" + (filter.map { "\($0.ordinal)|\($0.prefix)" } ?? "-"))
        let previous: PageToken?
        switch pageToken(request, kind: .list, resource: resource, tenant: t, query: query, now: now) {
        case .success(let value): previous = value
        case .failure(let box): return box.response
        }
        let view = readView(t, now: now)
        let page: ListPage
        if let filter {
            let after = previous.flatMap { token in token.afterKey.map { (key: $0, index: Int(token.after)) } }
            page = tenants[t].filteredPage(resource, filter: filter, after: after, top: top, view: view)
        } else {
            page = tenants[t].unfilteredPage(resource, after: previous.map { Int($0.after) }, top: top, view: view)
        }
        var w = JSONWriter()
        w.beginObject()
        w.string(baseURL + "/v1.0/$metadata#\(resource.name)" + selectSuffix(request), key: "@odata.context")
        if wantsCount(request) {
            let count = filter.map { tenants[t].listedCount(resource, filter: $0, view: view) } ?? tenants[t].listedCount(resource, view: view)
            w.int(count, key: "@odata.count")
        }
        if page.hasMore, let last = page.items.last {
            let token = PageToken(kind: .list, resource: resource, tenant: t, epoch: epoch, query: query,
                                  pagesServed: (previous?.pagesServed ?? 0) + 1,
                                  startedMillis: previous?.startedMillis ?? Int64((now * 1000).rounded()),
                                  after: UInt32(last), afterKey: filter == nil ? nil : page.keys.last)
            w.string(baseURL + "/v1.0/\(resource.name)?" + linkQuery(request) + "$skiptoken=" + token.encode(key: tokenKey),
                     key: "@odata.nextLink")
        }
        w.beginArray("value")
        for index in page.items {
            tenants[t].writeListed(&w, resource, index, view: view, selection: selection, odataType: false, expandManager: expandsManager)
        }
        w.endArray()
        w.endObject()
        countPage(resource.name, size: top)
        return SimResponse(status: 200, headers: graphHeaders(request), body: w.bytes)
    }

    // MARK: Members

    /// `$select` over several types (members, getByIds): one selection per modelled type, and the names as given.
    private mutating func mixedSelection(_ request: SimRequest, tenant t: Int, now: Double)
        -> Result<(selections: [Resource: DeltaSelection], names: [String]), SimResponseBox> {
        let text = request.option("$select")
        let extensions = tenants[t].directoryExtensions
        let names = (text ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        for name in names where !Resource.allCases.contains(where: { DeltaSelection.knows(name, resource: $0, extensions: extensions) }) {
            // graph-sim's choice, as for one type: OData's wording, naming the directory's base type.
            return .failure(SimResponseBox(graphError(400, code: "Request_BadRequest",
                                                      message: "Could not find a property named '\(name)' on type 'Microsoft.DirectoryServices.DirectoryObject'.",
                                                      request: request, now: now)))
        }
        var selections: [Resource: DeltaSelection] = [:]
        for resource in Resource.allCases {
            if case .success(var selection) = DeltaSelection.parse(text, resource: resource, extensions: extensions, mode: .lenient) {
                selection.members = false
                selection.manager = false
                selections[resource] = selection
            }
        }
        return .success((selections, names))
    }

    /// Writes one member or getByIds result: in full when `readable`, otherwise as a limited object.
    private func writeDirectoryObject(_ w: inout JSONWriter, _ ref: MemberRef, tenant t: Int, view: ListView,
                                      selections: [Resource: DeltaSelection], names: [String], readable: (MemberKind) -> Bool) {
        let resource: Resource
        switch ref.kind {
        case .user: resource = .users
        case .group: resource = .groups
        case .orgContact: resource = .contacts
        case .device, .servicePrincipal:
            tenants[t].writeLimited(&w, ref, selected: names)
            return
        }
        guard readable(ref.kind), let selection = selections[resource] else {
            tenants[t].writeLimited(&w, ref, selected: names)
            return
        }
        tenants[t].writeListed(&w, resource, ref.index, view: view, selection: selection, odataType: true)
    }

    /// `GET /{v1.0|beta}/groups/{id}/members`.
    mutating func members(_ request: SimRequest, tenant t: Int, groupID: String, beta: Bool, roles: Set<String>, now: Double) -> SimResponse {
        if let refused = unservedOption(request, now: now, also: ["$filter"]) { return refused }
        let top: Int
        switch ListQuery.top(request.option("$top")) {
        case .success(let value): top = value
        case .failure(let p): return problem(p, request, now: now)
        }
        let mixed: (selections: [Resource: DeltaSelection], names: [String])
        switch mixedSelection(request, tenant: t, now: now) {
        case .success(let value): mixed = value
        case .failure(let box): return box.response
        }
        let view = readView(t, now: now)
        guard let g = listedGroup(groupID, tenant: t, view: view) else { return groupNotFound(groupID, request, now: now) }
        let version = beta ? "beta" : "v1.0"
        let query = PageToken.fingerprint("members|\(version)|\(g)")
        let previous: PageToken?
        switch pageToken(request, kind: .members, resource: .groups, tenant: t, query: query, now: now) {
        case .success(let value): previous = value
        case .failure(let box): return box.response
        }
        let page = tenants[t].membersPage(group: g, after: previous.map { MemberRef(raw: $0.after) }, top: top,
                                          servicePrincipals: beta, view: view)
        var w = JSONWriter()
        w.beginObject()
        w.string(baseURL + "/\(version)/$metadata#directoryObjects" + selectSuffix(request), key: "@odata.context")
        if wantsCount(request) {
            w.int(tenants[t].listedMemberCount(group: g, servicePrincipals: beta, view: view), key: "@odata.count")
        }
        if page.hasMore, let last = page.items.last {
            let token = PageToken(kind: .members, resource: .groups, tenant: t, epoch: epoch, query: query,
                                  pagesServed: (previous?.pagesServed ?? 0) + 1,
                                  startedMillis: previous?.startedMillis ?? Int64((now * 1000).rounded()), after: last.raw, afterKey: nil)
            w.string(baseURL + "/\(version)/groups/\(tenants[t].groups[g].id)/members?" + linkQuery(request) + "$skiptoken="
                     + token.encode(key: tokenKey), key: "@odata.nextLink")
        }
        w.beginArray("value")
        let canRead: (MemberKind) -> Bool = { kind in
            switch kind {
            case .user: return !roles.isDisjoint(with: Self.userRoles)
            case .orgContact: return !roles.isDisjoint(with: Self.contactRoles)
            case .group: return !roles.isDisjoint(with: Self.groupRoles)
            case .device, .servicePrincipal: return false
            }
        }
        for ref in page.items {
            writeDirectoryObject(&w, ref, tenant: t, view: view, selections: mixed.selections, names: mixed.names, readable: canRead)
        }
        w.endArray()
        w.endObject()
        countPage(beta ? "beta/groups/{id}/members" : "groups/{id}/members", size: top)
        return SimResponse(status: 200, headers: graphHeaders(request), body: w.bytes)
    }

    /// `GET /{v1.0|beta}/groups/{id}/members/$count` (needs `ConsistencyLevel: eventual`, like every directory `$count`).
    mutating func memberCount(_ request: SimRequest, tenant t: Int, groupID: String, beta: Bool, now: Double) -> SimResponse {
        guard request.headers["consistencylevel"]?.lowercased() == "eventual" else {
            return graphError(400, code: "Request_BadRequest", message: "$count is not currently supported.", request: request, now: now)
        }
        let view = readView(t, now: now)
        guard let g = listedGroup(groupID, tenant: t, view: view) else { return groupNotFound(groupID, request, now: now) }
        var response = SimResponse(status: 200, headers: graphHeaders(request),
                                   body: Array(String(tenants[t].listedMemberCount(group: g, servicePrincipals: beta, view: view)).utf8))
        response.headers[0] = ("Content-Type", "text/plain;charset=utf-8")
        return response
    }

    /// The index of group `id` if reads see it live.
    /// Whether `$expand` asks for the manager: `manager`, or `manager($select=…)`.
    static func expandsManager(_ expand: String?) -> Bool {
        guard let expand = expand?.trimmingCharacters(in: .whitespaces).lowercased() else { return false }
        return expand == "manager" || (expand.hasPrefix("manager($select=") && expand.hasSuffix(")"))
    }

    /// `GET /users/{id}/manager`: the manager (`@odata.type` and `id`), or 404 when the user has none.
    mutating func manager(_ request: SimRequest, tenant t: Int, userID: String, now: Double) -> SimResponse {
        guard let ref = tenants[t].refs[userID.lowercased()], ref.kind == .user, tenants[t].users[ref.index].lifecycle == .live else {
            return graphError(404, code: "Request_ResourceNotFound",
                              message: "Resource '\(userID)' does not exist or one of its queried reference-property objects are not present.",
                              request: request, now: now)
        }
        let manager = tenants[t].manager(of: ref.index)
        guard !manager.isNone else {
            return graphError(404, code: "Request_ResourceNotFound",
                              message: "Resource 'manager' does not exist or one of its queried reference-property objects are not present.",
                              request: request, now: now)
        }
        var w = JSONWriter()
        w.beginObject()
        w.string(baseURL + "/v1.0/$metadata#directoryObjects/$entity", key: "@odata.context")
        w.string(manager.kind.odataType, key: "@odata.type")
        w.string(tenants[t].id(of: manager), key: "id")
        w.endObject()
        return SimResponse(status: 200, headers: graphHeaders(request), body: w.bytes)
    }

    private func listedGroup(_ id: String, tenant t: Int, view: ListView) -> Int? {
        guard let ref = tenants[t].refs[id.lowercased()], ref.kind == .group, tenants[t].isListedLive(.groups, ref.index, in: view) else { return nil }
        return ref.index
    }

    private mutating func groupNotFound(_ id: String, _ request: SimRequest, now: Double) -> SimResponse {
        graphError(404, code: "Request_ResourceNotFound",
                   message: "Resource '\(id)' does not exist or one of its queried reference-property objects are not present.",
                   request: request, now: now)
    }

    // MARK: getByIds

    /// The largest number of ids Graph accepts in one `getByIds` request.
    static let getByIdsLimit = 1000

    /// `POST /directoryObjects/getByIds`.
    ///
    /// graph-sim's choices where Graph's documentation is silent: an id that is not a GUID answers 400
    /// `Request_BadRequest` "Invalid object identifier '…'."; more than 1,000 ids, a body without `ids`, or a type that is
    /// not a directory object type answers 400 `Request_BadRequest`; results come in the order asked, each id once;
    /// devices and service principals come as `@odata.type` and `id`.
    mutating func getByIds(_ request: SimRequest, tenant t: Int, now: Double) -> SimResponse {
        func bad(_ message: String) -> SimResponse { graphError(400, code: "Request_BadRequest", message: message, request: request, now: now) }
        let body: JSONValue
        do { body = try JSONValue.parse(request.body) } catch { return bad("The request body is not valid JSON.") }
        guard let list = body["ids"]?.arrayValue, list.allSatisfy({ $0.stringValue != nil }) else {
            return bad("The request body needs 'ids', an array of strings.")
        }
        guard list.count <= Self.getByIdsLimit else { return bad("Too many ids: at most \(Self.getByIdsLimit) may be requested at once.") }
        var kinds = Set(MemberKind.allCases)
        if let types = body["types"] {
            guard let names = types.arrayValue?.compactMap(\.stringValue), names.count == types.arrayValue?.count else {
                return bad("'types' must be an array of strings.")
            }
            if !names.isEmpty {
                kinds = []
                for name in names {
                    var lower = name.lowercased()
                    if lower.hasPrefix("microsoft.graph.") { lower.removeFirst(16) }
                    if lower == "directoryobject" { kinds = Set(MemberKind.allCases); continue }
                    guard let kind = MemberKind.allCases.first(where: { $0.name.lowercased() == lower }) else {
                        return bad("'\(name)' is not a directory object type.")
                    }
                    kinds.insert(kind)
                }
            }
        }
        let mixed: (selections: [Resource: DeltaSelection], names: [String])
        switch mixedSelection(request, tenant: t, now: now) {
        case .success(let value): mixed = value
        case .failure(let box): return box.response
        }
        let view = readView(t, now: now)
        var found: [MemberRef] = []
        var seen: Set<String> = []
        for item in list {
            let id = item.stringValue!.lowercased()
            guard Self.isGUID(id) else { return bad("Invalid object identifier '\(item.stringValue!)'.") }
            guard seen.insert(id).inserted, let ref = tenants[t].refs[id], kinds.contains(ref.kind), tenants[t].isListedLive(ref, in: view) else {
                continue
            }
            found.append(ref)
        }
        var w = JSONWriter()
        w.beginObject()
        w.string(baseURL + "/v1.0/$metadata#directoryObjects", key: "@odata.context")
        w.beginArray("value")
        for ref in found {
            writeDirectoryObject(&w, ref, tenant: t, view: view, selections: mixed.selections, names: mixed.names, readable: { _ in true })
        }
        w.endArray()
        w.endObject()
        return SimResponse(status: 200, headers: graphHeaders(request), body: w.bytes)
    }

    /// Whether `text` is a GUID in its usual 8-4-4-4-12 form.
    static func isGUID(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 36 else { return false }
        for (i, byte) in bytes.enumerated() {
            if [8, 13, 18, 23].contains(i) {
                guard byte == UInt8(ascii: "-") else { return false }
            } else {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
                    || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte) else { return false }
            }
        }
        return true
    }
}

/// A response carried as an error, so helpers can return "this value, or answer with that".
struct SimResponseBox: Error, Sendable {
    var response: SimResponse
    init(_ response: SimResponse) { self.response = response }
}
