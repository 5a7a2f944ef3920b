/// Where a tenant's directory data comes from: Microsoft Graph in production
/// (``GraphTenantClient``), scripted fakes in tests.
public protocol DeltaSource: Sendable {
    /// The first link of a full round for `resource`.
    func initialDeltaURL(_ resource: DirectoryResource) -> String
    /// The properties that link selects (``FieldTable/selectedProperties``).
    func selectedProperties(_ resource: DirectoryResource) -> [String]
    /// Fetches one page at `link` (an initial URL, a nextLink or a deltaLink, used exactly as given).
    func fetchDeltaPage(resource: DirectoryResource, link: String) async throws -> (page: DeltaPage, info: GraphResponseInfo)
    /// Fetches one page at `link` and checks it, with its objects read later: a round can ask for the
    /// next page as soon as the continuation is known. The same errors as ``fetchDeltaPage(resource:link:)``.
    func fetchPendingDeltaPage(resource: DirectoryResource, link: String) async throws -> (page: PendingDeltaPage, info: GraphResponseInfo)
    /// The number of objects of `resource` (for progress of full rounds).
    func count(_ resource: DirectoryResource) async throws -> Int
    /// Every domain of the tenant: which are verified, which receive mail.
    func domains() async throws -> [GraphDomain]
}

extension DeltaSource {
    /// Sources whose pages come decoded anyway hand them over as they are.
    public func fetchPendingDeltaPage(resource: DirectoryResource, link: String) async throws -> (page: PendingDeltaPage, info: GraphResponseInfo) {
        let (page, info) = try await fetchDeltaPage(resource: resource, link: link)
        return (PendingDeltaPage(page), info)
    }
}

extension GraphTenantClient: DeltaSource {}
