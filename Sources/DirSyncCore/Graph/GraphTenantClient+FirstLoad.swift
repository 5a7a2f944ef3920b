import Foundation

extension GraphTenantClient: FirstLoadSource {
    public var endpoints: GraphEndpoints { client.configuration.endpoints }
    public var schema: DirectorySchema { client.configuration.schema }

    /// A "sync from now" deltaLink: Graph answers with no objects, only the link (a nextLink, should
    /// one come, is followed and its objects ignored: they are read by the load anyway).
    public func latestDeltaLink(_ resource: DirectoryResource) async throws -> String {
        var link = endpoints.latestDeltaURL(schema[resource])
        var roundGuard = DeltaRoundGuard(maxPages: 1_000)
        while true {
            try roundGuard.visit(link)
            let (page, _) = try await fetchDeltaPage(resource: resource, link: link)
            switch page.continuation {
            case .delta(let deltaLink): return deltaLink
            case .next(let next): link = next
            }
        }
    }

    /// One page of a plain list; its nextLink must stay on the Graph host, as delta links must.
    public func listPage(_ resource: DirectoryResource, link: String, idsOnly: Bool) async throws -> (page: ListPage, info: GraphResponseInfo) {
        let table = idsOnly ? FieldTable(resource: resource, fields: []) : schema[resource]
        let request = HTTPRequest(url: link, headers: [("Accept", "application/json")])
        let profiler = client.profiler
        let result = try await client.perform(request, operation: .list(resource), key: key) { response in
            try DeltaPageDecoder.decodeList(response.body, table: table, profiler: profiler)
        }
        if let next = result.0.nextLink { try client.checkLink(next) }
        return result
    }

    /// `POST /directoryObjects/getByIds` for up to 1,000 ids of one type.
    public func objects(_ resource: DirectoryResource, ids: [UUID]) async throws -> (objects: [ObjectChange], info: GraphResponseInfo) {
        precondition(ids.count <= 1_000, "getByIds takes at most 1,000 ids")
        let type = resource == .contacts ? "orgContact" : resource.objectName
        let body = "{\"ids\":[" + ids.map { "\"\($0.uuidString.lowercased())\"" }.joined(separator: ",") + "],\"types\":[\"\(type)\"]}"
        let request = HTTPRequest(method: "POST", url: endpoints.getByIDsURL(schema[resource]),
                                  headers: [("Accept", "application/json"), ("Content-Type", "application/json")], body: Array(body.utf8))
        let table = schema[resource]
        let (page, info) = try await client.perform(request, operation: .list(resource), key: key) { response in
            try DeltaPageDecoder.decodeList(response.body, table: table)
        }
        return (page.objects, info)
    }

    /// `/users/{id}/manager`: the manager's id, or `nil` when Graph says the user has none (404).
    public func manager(of user: UUID) async throws -> UUID? {
        let request = HTTPRequest(url: endpoints.managerURL(user: user), headers: [("Accept", "application/json")])
        do {
            return try await client.perform(request, operation: .list(.users), key: key) { response in
                guard let text = (JSONValue.object(response.body)?["id"] as? String), let id = UUID(uuidString: text) else {
                    throw MalformedPageError(reason: "the manager has no id", byteCount: response.body.count)
                }
                return id
            }.0
        } catch let error as GraphError where error.code == .notFound {
            return nil
        }
    }
}
