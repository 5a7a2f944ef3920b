import Foundation

/// What one permission's probe found.
public enum ProbeResult: Sendable, Equatable {
    /// Graph answered the request.
    case allowed
    /// Graph refused it for lack of privileges (403).
    case denied
    /// Not sent, for the reason given (e.g. the tenant has no group whose members could be read).
    case notProbed(String)
    /// It failed for another reason (network, throttling, server error); the text is the error's one-line description.
    case failed(String)
}

/// The cheapest Graph request that exercises each permission dirsync needs: one object, only its id.
///
/// | permission | request |
/// |---|---|
/// | User.Read.All | `GET /users?$top=1&$select=id` |
/// | Group.Read.All | `GET /groups?$top=1&$select=id` |
/// | GroupMember.Read.All | `GET /groups/{first group}/members?$top=1&$select=id` |
/// | Directory.Read.All | `GET /domains/{domain}` (which also says whether the domain is verified) and `GET /contacts?$top=1&$select=id` |
///
/// Graph's permissions nest (Directory.Read.All also reads users and groups; Group.Read.All also reads
/// members), so a probe proves the capability, not the exact grant; the token's `roles` claim
/// (``AccessTokenRoles``) tells the exact grant.
public enum PermissionProbe {
    /// The probe request's URL, or `nil` when it cannot be formed (no group id for the members probe).
    public static func url(for permission: GraphPermission, endpoints: GraphEndpoints, domain: String, groupID: String?) -> String? {
        let root = "\(endpoints.graphBaseURL)/\(endpoints.apiVersion)"
        switch permission {
        case .userReadAll: return "\(root)/users?$top=1&$select=id"
        case .groupReadAll: return "\(root)/groups?$top=1&$select=id"
        case .groupMemberReadAll:
            return groupID.map { "\(root)/groups/\(GraphEndpoints.pathSegment($0))/members?$top=1&$select=id" }
        case .directoryReadAll: return endpoints.domainURL(domain)
        }
    }

    /// The org contacts probe (Directory.Read.All's second capability).
    public static func contactsURL(endpoints: GraphEndpoints) -> String {
        "\(endpoints.graphBaseURL)/\(endpoints.apiVersion)/contacts?$top=1&$select=id"
    }

    /// The operation a probe stands for, which names the permission in a 403's message.
    static func operation(for permission: GraphPermission) -> GraphOperation {
        switch permission {
        case .userReadAll: .count(.users)
        case .groupReadAll, .groupMemberReadAll: .count(.groups)
        case .directoryReadAll: .domain
        }
    }
}

extension GraphTenantClient {
    /// Sends a permission probe and returns the ids of the objects Graph listed.
    /// - Throws: ``GraphError`` (``GraphError/Code/permissionMissing`` for a 403).
    public func probeIDs(url: String, permission: GraphPermission) async throws -> [String] {
        try await probeIDs(url: url, operation: PermissionProbe.operation(for: permission))
    }

    /// Sends a probe that stands for `operation` and returns the ids of the objects Graph listed.
    public func probeIDs(url: String, operation: GraphOperation) async throws -> [String] {
        let request = HTTPRequest(url: url, headers: [("Accept", "application/json")])
        return try await client.perform(request, operation: operation, key: key) { response in
            guard let object = JSONValue.object(response.body), let value = object["value"] as? [Any] else {
                throw MalformedPageError(reason: "the list answer has no value array", byteCount: response.body.count)
            }
            return value.compactMap { ($0 as? [String: Any])?["id"] as? String }
        }.0
    }
}
