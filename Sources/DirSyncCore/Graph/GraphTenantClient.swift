import Foundation

/// The Graph client bound to one tenant and application id. Cheap to create; holds no state of its own.
public struct GraphTenantClient: Sendable {
    /// The shared client (transport, tokens, counters).
    public let client: GraphClient
    /// The tenant and application this view acts for.
    public let key: TokenKey

    init(client: GraphClient, key: TokenKey) {
        self.client = client
        self.key = key
    }

    /// The first URL of a full delta round for `resource` (with `$select`).
    public func initialDeltaURL(_ resource: DirectoryResource) -> String {
        client.configuration.endpoints.initialDeltaURL(client.configuration.schema[resource])
    }

    /// The properties ``initialDeltaURL(_:)`` selects.
    public func selectedProperties(_ resource: DirectoryResource) -> [String] {
        client.configuration.schema[resource].selectedProperties
    }

    /// Fetches and decodes one delta page.
    ///
    /// - Parameter link: ``initialDeltaURL(_:)`` or a stored nextLink/deltaLink, used exactly as given.
    /// - Returns: the page and facts about the response (request id, attempts).
    /// - Throws: ``GraphError`` — ``GraphError/Code/resyncRequired`` when the link expired,
    ///   ``GraphError/Code/foreignLink`` (before anything is sent) when the link leaves the Graph host,
    ///   or when the page's own nextLink/deltaLink does.
    public func fetchDeltaPage(resource: DirectoryResource, link: String) async throws -> (page: DeltaPage, info: GraphResponseInfo) {
        let (pending, info) = try await fetchPendingDeltaPage(resource: resource, link: link)
        return (pending.page(), info)
    }

    /// Fetches one delta page and validates it, leaving its objects to be read
    /// (``PendingDeltaPage/page()``); the same checks and errors as ``fetchDeltaPage(resource:link:)``.
    public func fetchPendingDeltaPage(resource: DirectoryResource, link: String) async throws -> (page: PendingDeltaPage, info: GraphResponseInfo) {
        // Graph does not carry request headers into its links: send Prefer on every page. Where Graph
        // honours odata.maxpagesize (users/delta, by a field report) pages carry up to 999 objects;
        // elsewhere it is ignored. The run record keeps the page sizes received.
        let request = HTTPRequest(url: link, headers: [("Accept", "application/json"), ("Prefer", "return=minimal, odata.maxpagesize=999")])
        let table = client.configuration.schema[resource]
        let profiler = client.profiler
        let result = try await client.perform(request, operation: .delta(resource), key: key) { response in
            try DeltaPageDecoder.prepare(response.body, table: table, profiler: profiler)
        }
        // Refuse a page whose continuation leaves Graph before the caller can store that link as the
        // round's resume point: stored, it would fail every later run. The previous link stays current.
        try client.checkLink(result.0.continuation.link)
        return result
    }

    /// The number of users or groups in the tenant (`/$count`, eventual consistency).
    public func count(_ resource: DirectoryResource) async throws -> Int {
        let request = HTTPRequest(url: client.configuration.endpoints.countURL(resource),
                                  headers: [("Accept", "text/plain"), ("ConsistencyLevel", "eventual")])
        let (count, _) = try await client.perform(request, operation: .count(resource), key: key) { response in
            let text = String(decoding: response.body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard let count = Int(text), count >= 0 else {
                throw MalformedPageError(reason: "the $count answer is not a number", byteCount: response.body.count)
            }
            return count
        }
        return count
    }

    /// Reads `/domains/{name}` to check that the tenant owns and verified a domain.
    /// - Throws: ``GraphError/Code/notFound`` when the tenant has no such domain.
    public func domain(name: String) async throws -> GraphDomain {
        let request = HTTPRequest(url: client.configuration.endpoints.domainURL(name), headers: [("Accept", "application/json")])
        return try await client.perform(request, operation: .domain, key: key) { try GraphDomain(bytes: $0.body) }.0
    }

    /// Reads `/domains`: every domain of the tenant, verified or not, with its services. Normally one
    /// request; a nextLink, should Graph split the list, is followed (within the Graph host).
    public func domains() async throws -> [GraphDomain] {
        var domains: [GraphDomain] = []
        var link: String? = client.configuration.endpoints.domainsURL
        var roundGuard = DeltaRoundGuard(maxPages: 100)
        while let url = link {
            try roundGuard.visit(url)
            let request = HTTPRequest(url: url, headers: [("Accept", "application/json")])
            let (page, _) = try await client.perform(request, operation: .domain, key: key) { try GraphDomain.list(bytes: $0.body) }
            domains += page.domains
            link = page.nextLink
        }
        return domains
    }

    /// Reads `/organization`: the tenant's id, name and verified domains.
    public func organization() async throws -> GraphOrganization {
        let request = HTTPRequest(url: client.configuration.endpoints.organizationURL, headers: [("Accept", "application/json")])
        return try await client.perform(request, operation: .organization, key: key) { try GraphOrganization(bytes: $0.body) }.0
    }
}
