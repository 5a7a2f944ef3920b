import Foundation

/// What a parallel first load reads from Graph for one tenant.
public protocol FirstLoadSource: Sendable {
    /// The URLs the load's streams start from.
    var endpoints: GraphEndpoints { get }
    /// The properties each object type selects.
    var schema: DirectorySchema { get }
    /// `$count` of users or groups (eventual).
    func count(_ resource: DirectoryResource) async throws -> Int
    /// A "sync from now" deltaLink of `resource`, with the properties later rounds read.
    func latestDeltaLink(_ resource: DirectoryResource) async throws -> String
    /// One page of a plain list of `resource` at `link` (objects of the resource's table, or ids only).
    func listPage(_ resource: DirectoryResource, link: String, idsOnly: Bool) async throws -> (page: ListPage, info: GraphResponseInfo)
    /// One page of a (scoped) groups delta chain.
    func fetchDeltaPage(resource: DirectoryResource, link: String) async throws -> (page: DeltaPage, info: GraphResponseInfo)
    /// Objects of `resource` by id (at most 1,000); ids Graph does not know are left out.
    func objects(_ resource: DirectoryResource, ids: [UUID]) async throws -> (objects: [ObjectChange], info: GraphResponseInfo)
    /// A user's manager, or `nil` when the user has none.
    func manager(of user: UUID) async throws -> UUID?
}

/// What a parallel first load writes in one transaction: objects as lists brought them, groups and
/// memberships as scoped delta chains brought them, the ids the id streams listed, and where each
/// stream stands after them.
public struct LoadBatch: Sendable, Equatable {
    /// Users and contacts (also users fetched by id).
    public var objects: [DirectoryResource: [ObjectChange]] = [:]
    /// Groups with their members, planned from the chains' pages.
    public var groups = PagePlan(resource: .groups)
    /// Ids the id streams listed, by resource.
    public var ids: [DirectoryResource: [UUID]] = [:]
    /// Streams whose position changed (their latest), and chunks formed.
    public var progress: [StreamProgress] = []
    /// Managers learnt one by one (users fetched by id).
    public var managers: [UUID: UUID?] = [:]

    public init() {}

    public var isEmpty: Bool {
        objects.values.allSatisfy(\.isEmpty) && groups.objects.isEmpty && groups.membershipAdditions.isEmpty
            && ids.values.allSatisfy(\.isEmpty) && progress.isEmpty && managers.isEmpty
    }
}

/// Where a parallel first load keeps its state and writes what it reads, for one tenant.
public protocol FirstLoadStore: Sendable {
    /// The stored load, if any.
    func storedLoad() async throws -> StoredFirstLoad?
    /// Whether no resource of the tenant has delta state or a round in progress.
    func isFirstSync() async throws -> Bool
    /// Stores a new load (its links, wait and streams) and shows its phase in status.
    func begin(_ load: StoredFirstLoad) async throws
    /// Shows the load's phase in status (`tokens`, `waiting`, `listing`, `verifying`).
    func showPhase(_ phase: String, expected: [DirectoryResource: Int]) async throws
    /// Writes a batch in one transaction.
    func write(_ batch: LoadBatch, roundID: Int64) async throws -> PageWriteResult
    /// What the check needs: ids listed but not loaded, and the live objects loaded.
    func completeness(roundID: Int64) async throws -> LoadCompleteness
    /// Marks the load as being checked (a killed run resumes at the check).
    func markVerifying() async throws
    /// Stores the links as the resources' cursors, completes their first rounds (snapshot events,
    /// nesting closure) and forgets the load's streams, in one transaction.
    func complete(_ load: StoredFirstLoad) async throws
    /// Gives the load up (why), forgetting its streams; what it wrote stays for the sequential rounds to sweep.
    func abandon(reason: String) async throws
}
