import Foundation

/// Builds every URL the Graph client requests, from the configured Graph root and authority host.
///
/// Nothing else in the client assembles URLs: nextLink and deltaLink are followed exactly as Graph
/// returned them (Graph's paging guidance: re-use those URLs exactly as given).
public struct GraphEndpoints: Sendable, Equatable {
    /// Graph's root, e.g. `https://graph.microsoft.com`, without a trailing slash.
    public let graphBaseURL: String
    /// The identity platform's root, e.g. `https://login.microsoftonline.com`, without a trailing slash.
    public let authorityHost: String
    /// The API version path segment, `v1.0`.
    public let apiVersion: String

    /// - Parameters:
    ///   - graphBaseURL: Graph's root URL; a trailing slash is removed.
    ///   - authorityHost: the identity platform's root URL; a trailing slash is removed.
    ///   - apiVersion: the Graph API version, `v1.0` unless testing a preview.
    public init(graphBaseURL: String, authorityHost: String, apiVersion: String = "v1.0") {
        self.graphBaseURL = Self.trimmingSlashes(graphBaseURL)
        self.authorityHost = Self.trimmingSlashes(authorityHost)
        self.apiVersion = apiVersion
    }

    /// The endpoints of a Microsoft cloud.
    public init(cloud: GraphCloud) {
        self.init(graphBaseURL: cloud.graphBaseURL, authorityHost: cloud.authorityHost)
    }

    /// The first request of a full delta round of `table`'s resource, selecting its fields.
    public func initialDeltaURL(_ table: FieldTable) -> String {
        "\(graphBaseURL)/\(apiVersion)/\(table.resource.rawValue)/delta?$select=\(table.select)"
    }

    /// A "sync from now" request: only a deltaLink that later rounds continue from, made with the
    /// same `$select` as ``initialDeltaURL(_:)`` (Graph bakes it into the link).
    public func latestDeltaURL(_ table: FieldTable) -> String {
        initialDeltaURL(table) + "&$deltatoken=latest"
    }

    /// A plain list of `table`'s objects as they are now, `filter` (a `$filter` expression) applied.
    /// Relationships are expanded to their id; Graph serves at most 100 objects a page then, else 999.
    public func listURL(_ table: FieldTable, filter: String? = nil, top: Int? = nil) -> String {
        let references = table.contractFields.filter { $0.kind == .reference }
        let selected = table.fields.filter { $0.kind != .reference }.map(\.graphName)
        var url = "\(graphBaseURL)/\(apiVersion)/\(table.resource.rawValue)?$select=" + (["id"] + selected).joined(separator: ",")
        if !references.isEmpty {
            url += "&$expand=" + references.map { "\($0.graphName)($select=id)" }.joined(separator: ",")
        }
        url += "&$top=\(top ?? (references.isEmpty ? 999 : 100))"
        if let filter { url += "&$filter=" + Self.queryValue(filter) }
        return url
    }

    /// The ids of every object of `resource`, 999 a page.
    public func idListURL(_ resource: DirectoryResource) -> String {
        "\(graphBaseURL)/\(apiVersion)/\(resource.rawValue)?$select=id&$top=999"
    }

    /// A delta round of only the groups `ids` (Graph allows 50), with their members.
    public func scopedGroupsDeltaURL(_ table: FieldTable, ids: [UUID]) -> String {
        let filter = ids.map { "id eq '\($0.uuidString.lowercased())'" }.joined(separator: " or ")
        return initialDeltaURL(table) + "&$filter=" + Self.queryValue(filter)
    }

    /// `POST /directoryObjects/getByIds` selecting `table`'s properties (relationships cannot be expanded there).
    public func getByIDsURL(_ table: FieldTable) -> String {
        let selected = table.fields.filter { $0.kind != .reference }.map(\.graphName)
        return "\(graphBaseURL)/\(apiVersion)/directoryObjects/getByIds?$select=" + (["id"] + selected).joined(separator: ",")
    }

    /// A user's manager (`/users/{id}/manager`), its id only.
    public func managerURL(user: UUID) -> String {
        "\(graphBaseURL)/\(apiVersion)/users/\(user.uuidString.lowercased())/manager?$select=id"
    }

    /// `/users/$count` or `/groups/$count`; the request needs `ConsistencyLevel: eventual`.
    public func countURL(_ resource: DirectoryResource) -> String {
        "\(graphBaseURL)/\(apiVersion)/\(resource.rawValue)/$count"
    }

    /// `/domains/{name}` with the name lower-cased and percent-encoded as one path segment.
    public func domainURL(_ name: String) -> String {
        "\(graphBaseURL)/\(apiVersion)/domains/\(Self.pathSegment(name.lowercased()))"
    }

    /// `/domains`: every domain of the tenant.
    public var domainsURL: String { "\(graphBaseURL)/\(apiVersion)/domains" }

    /// `/organization`: the tenant's own record (id, display name, verified domains).
    public var organizationURL: String { "\(graphBaseURL)/\(apiVersion)/organization" }

    /// The v2.0 token endpoint of `tenant` (a GUID or a domain name).
    public func tokenURL(tenant: String) -> String {
        "\(authorityHost)/\(Self.pathSegment(tenant))/oauth2/v2.0/token"
    }

    /// The OpenID Connect metadata of `domain`, used to discover the tenant GUID behind a domain.
    public func openIDConfigurationURL(domain: String) -> String {
        "\(authorityHost)/\(Self.pathSegment(domain.lowercased()))/v2.0/.well-known/openid-configuration"
    }

    /// The client-credentials scope for this Graph root, `<graph root>/.default`.
    public var defaultScope: String { Self.defaultScope(graphBaseURL: graphBaseURL) }

    /// `<graph root>/.default` for any Graph root.
    public static func defaultScope(graphBaseURL: String) -> String {
        "\(trimmingSlashes(graphBaseURL))/.default"
    }

    /// Percent-encodes `text` so it is exactly one URL path segment (RFC 3986 unreserved characters only).
    /// A query parameter's value percent-encoded (quotes, spaces, `#`, `&` and `+` escaped).
    static func queryValue(_ text: String) -> String {
        var allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        allowed.insert(charactersIn: "-._~(),")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    static func pathSegment(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    private static func trimmingSlashes(_ url: String) -> String {
        var url = url
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }
}
