import Foundation

/// What the client was asking for when an error came back; decides which permission a 403 names.
public enum GraphOperation: Sendable, Equatable {
    /// `users/delta`, `groups/delta` (with `members`) or `contacts/delta`.
    case delta(DirectoryResource)
    /// `/users/$count`, `/groups/$count` or `/contacts/$count`.
    case count(DirectoryResource)
    /// A plain list of users, groups or contacts, `getByIds`, a user's manager.
    case list(DirectoryResource)
    /// `/domains/{name}` or `/domains`.
    case domain
    /// `/organization`.
    case organization
    /// The OpenID Connect metadata of a domain.
    case tenantDiscovery
    /// The token endpoint.
    case token

    /// The least-privileged application permission(s) the operation needs, as the operator grants them.
    public var requiredPermission: String {
        switch self {
        case .delta(.users), .count(.users), .list(.users): "User.Read.All"
        case .delta(.groups), .count(.groups), .list(.groups): "GroupMember.Read.All (or Group.Read.All)"
        case .delta(.contacts), .count(.contacts), .list(.contacts): "Directory.Read.All (or OrgContact.Read.All)"
        case .domain, .organization: "Directory.Read.All (or Domain.Read.All)"
        case .tenantDiscovery, .token: "none"
        }
    }
}

/// The parts of a Graph error body the client uses: `{"error":{"code","message","innerError":{…}}}`.
public struct GraphErrorBody: Sendable, Equatable {
    /// Every `code` from the outermost to the innermost `innerError`/`innererror`.
    public var codes: [String]
    /// The outermost `message`.
    public var message: String?
    /// The `request-id` found at any level.
    public var requestID: String?

    /// Parses an error body; `nil` when it is not a Graph error object.
    public init?(bytes: [UInt8]) {
        guard let root = JSONValue.object(bytes), let error = root["error"] as? [String: Any] else { return nil }
        var codes: [String] = []
        var requestID: String?
        var level: [String: Any]? = error
        var depth = 0
        while let current = level, depth < 16 {
            if let code = current["code"] as? String, !code.isEmpty { codes.append(code) }
            if requestID == nil { requestID = current["request-id"] as? String }
            level = (current["innerError"] ?? current["innererror"] ?? current["InnerError"]) as? [String: Any]
            depth += 1
        }
        self.codes = codes
        self.message = error["message"] as? String
        self.requestID = requestID
    }

    /// Whether any level carries `code`, compared case-insensitively.
    public func contains(_ code: String) -> Bool {
        codes.contains { $0.caseInsensitiveCompare(code) == .orderedSame }
    }
}

extension GraphError {
    /// The property named by Graph's "Could not find a property named 'X' on type 'Y'." message.
    static func unknownProperty(_ message: String?) -> String? {
        guard let message, let start = message.range(of: "Could not find a property named '") else { return nil }
        let rest = message[start.upperBound...]
        guard let end = rest.firstIndex(of: "'") else { return nil }
        let name = String(rest[..<end])
        return name.isEmpty ? nil : name
    }

    /// Classifies a non-2xx Graph response.
    ///
    /// - Parameters:
    ///   - response: the response (status, headers, body).
    ///   - operation: what was requested; a 403 names the permission this operation needs.
    ///   - url: the requested URL (its query is dropped).
    ///   - now: for HTTP-date `Retry-After` values.
    /// - Returns: the error to throw once retries are exhausted or not applicable.
    public static func classify(response: HTTPResponse, operation: GraphOperation, url: String, now: Date) -> GraphError {
        let body = GraphErrorBody(bytes: response.body)
        let serverCode = body?.codes.last ?? body?.codes.first
        let requestID = response.header("request-id") ?? body?.requestID
        let retryAfter = response.header("Retry-After").flatMap { RetryAfter.seconds(from: $0, now: now) }
        let status = response.status
        func make(_ code: Code, _ message: String, fix: String? = nil) -> GraphError {
            GraphError(code: code, status: status, serverCode: serverCode, requestID: requestID, retryAfter: retryAfter,
                       message: message, fix: fix, url: url, serverMessage: body?.message)
        }
        let resync = (body?.contains("syncStateNotFound") ?? false) || (body?.contains("resyncRequired") ?? false)
        if status == 410 || (resync && (status == 400 || status == 404 || status == 409)) {
            return make(.resyncRequired, "Graph no longer knows this delta state (the deltaLink expired or the sync state was reset)",
                        fix: "none needed: dirsync starts a full round for this resource")
        }
        switch status {
        case 429:
            return make(.throttled, "Graph kept throttling the requests (429 Too Many Requests)",
                        fix: "let the next run continue; if it persists, run fewer tenants in parallel")
        case 401:
            return make(.unauthorized, "Graph rejected the access token even after it was renewed",
                        fix: "check that the app registration belongs to this cloud and that its credential is valid")
        case 403:
            let permission = operation.requiredPermission
            return make(.permissionMissing,
                        "Graph refused the request for lack of privileges: the app needs the application permission \(permission), or admin consent was never granted in this tenant",
                        fix: "in the tenant, grant admin consent for the app's application permissions (User.Read.All, Group.Read.All, GroupMember.Read.All, Directory.Read.All)")
        case 404:
            return make(.notFound, "Graph has no such object")
        case 501:
            return make(.badRequest, "Graph does not implement this request (an untracked property was selected?)")
        case 500...599:
            return make(.serverError, "Graph kept failing with a server error (HTTP \(status))",
                        fix: "transient on Microsoft's side; the next run retries")
        case 400 where body?.contains("Directory_ExpiredPageToken") ?? false:
            return make(.expiredPageToken, "Graph no longer accepts this page's token (Directory_ExpiredPageToken)",
                        fix: "none needed: the list starts over")
        case 400 where body?.contains("Request_UnsupportedQuery") ?? false:
            return make(.unsupportedQuery, "Graph does not support this query (Request_UnsupportedQuery)",
                        fix: "run the first sync with --first-load delta")
        case 400 where unknownProperty(body?.message) != nil:
            let name = unknownProperty(body?.message)!
            if case .delta(let resource) = operation, DirectorySchema.standard[resource][name] == nil {
                let setting = resource == .groups ? "DIRSYNC_GROUP_PROPERTIES (or --group-properties)" : "DIRSYNC_USER_PROPERTIES (or --user-properties)"
                return make(.unknownProperty, "Graph does not know the property '\(name)' of \(resource.rawValue); nothing was changed",
                            fix: "correct or remove '\(name)' in \(setting); a directory extension must belong to an application of this tenant")
            }
            return make(.unknownProperty, "Graph does not know the property '\(name)' that dirsync reads (this Graph endpoint lacks it); nothing was changed",
                        fix: "report it: dirsync reads this property in every cloud it supports")
        case 400...499:
            return make(.badRequest, "Graph rejected the request (HTTP \(status))")
        default:
            return make(.unexpectedStatus, "Graph answered with an unexpected HTTP status \(status)")
        }
    }

    /// Sharpens a 403 with the roles the rejected access token carried (Entra issues app-only tokens
    /// with a `roles` claim listing the application permissions the tenant granted, and without the
    /// claim when it granted none): no roles means consent was revoked (or never given); some roles
    /// mean this operation's permission in particular is missing.
    /// - Parameter roles: the token's roles, `nil` when the token is not a readable JWT.
    public func refined(grantedRoles roles: Set<String>?, operation: GraphOperation) -> GraphError {
        guard code == .permissionMissing, let roles else { return self }
        var refined = self
        refined.tokenRoles = roles
        if roles.isEmpty {
            refined.message = "Graph refused the request and the app's access token carries no application permissions: admin consent for the app was revoked in this tenant, or never granted"
            refined.fix = "have a global admin of the tenant grant admin consent again (dirsync domains consent-url prints the link)"
        } else {
            refined.message = "Graph refused the request: the app lacks the application permission \(operation.requiredPermission) in this tenant (granted: \(roles.sorted().joined(separator: ", ")))"
            refined.fix = "have a global admin of the tenant grant \(operation.requiredPermission) again: if it was removed from the app registration's API permissions, add it there first, then send the consent link again (dirsync domains consent-url)"
        }
        return refined
    }

    /// Classifies a failed token-endpoint response by its AADSTS code (`error_codes`), falling back
    /// to the OAuth `error` class.
    ///
    /// - Parameters:
    ///   - response: the token endpoint's response.
    ///   - tenant: the tenant the token was for (named in messages).
    ///   - clientID: the application (client) id (named in messages; it is not a secret).
    ///   - url: the token endpoint URL.
    ///   - now: for HTTP-date `Retry-After` values.
    public static func classifyToken(response: HTTPResponse, tenant: String, clientID: String, url: String, now: Date) -> GraphError {
        let object = JSONValue.object(response.body)
        let oauthError = object?["error"] as? String
        var codes = (object?["error_codes"] as? [Any])?.compactMap { JSONValue.int($0) } ?? []
        if codes.isEmpty, let text = object?["error_description"] as? String, let parsed = Self.aadstsCode(in: text) { codes = [parsed] }
        let primary = codes.first
        let traceID = (object?["trace_id"] as? String) ?? response.header("x-ms-request-id")
        let serverCode = primary.map { "AADSTS\($0)" } ?? oauthError
        func make(_ code: Code, _ message: String, _ fix: String) -> GraphError {
            GraphError(code: code, status: response.status, serverCode: serverCode, requestID: traceID,
                       retryAfter: response.header("Retry-After").flatMap { RetryAfter.seconds(from: $0, now: now) },
                       message: message, fix: fix, url: url, serverMessage: object?["error_description"] as? String)
        }
        switch primary {
        case 700016, 700011, 7000229:
            return make(.appNotInTenant, "application \(clientID) has no service principal in tenant \(tenant): the app was deleted from the tenant, or never consented",
                        "have a global admin of \(tenant) grant admin consent to the app again (dirsync domains consent-url prints the link; consenting re-creates the app in the tenant), or check the client id and tenant")
        case 7000215:
            return make(.invalidClientSecret, "the client secret for application \(clientID) is invalid (wrong value, or the secret was deleted)",
                        "set AZURE_CLIENT_SECRET to the value (not the id) of a current secret of the app registration; create a new one if it was deleted")
        case 7000222:
            return make(.expiredClientSecret, "the client secret for application \(clientID) has expired",
                        "create a new client secret in the app registration (Certificates & secrets), set AZURE_CLIENT_SECRET to its value and DIRSYNC_CLIENT_SECRET_EXPIRES_AT to its expiry")
        case 700027:
            return make(.invalidCertificate, "the token endpoint rejected the certificate assertion of application \(clientID)",
                        "upload the certificate in AZURE_CLIENT_CERTIFICATE_PATH to the app registration, renew it if expired, and check the host clock")
        case 70021:
            return make(.federatedCredentialMismatch, "no federated identity credential of application \(clientID) matches the presented service-account token",
                        "check the federated credential's issuer (exact, including a trailing '/'), subject and audience api://AzureADTokenExchange; new credentials take minutes to propagate")
        case 90002:
            return make(.unknownTenant, "tenant \(tenant) does not exist in this cloud",
                        "check the tenant id or domain and the cloud (AZURE_AUTHORITY_HOST)")
        case 7000218:
            return make(.credentialNotSent, "the token request carried neither a client secret nor a client assertion",
                        "set AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH or AZURE_FEDERATED_TOKEN_FILE")
        case 7000112, 70001:
            return make(.appDisabled, "application \(clientID) is disabled in tenant \(tenant)",
                        "have an admin of \(tenant) re-enable it: Enterprise applications, the dirsync app, Properties, Enabled for users to sign-in: Yes")
        case 50196:
            return make(.tokenRequestLoop, "the identity platform saw too many identical token requests",
                        "wait a few minutes; dirsync caches tokens, so check that several copies are not running at once")
        case 53003:
            return make(.conditionalAccess, "a Conditional Access policy of tenant \(tenant) blocked the token request",
                        "exclude the app's service principal from the policy or allow the worker's network location")
        case 90094, 65001, 500011:
            return make(.adminConsentRequired, "tenant \(tenant) has not consented to application \(clientID)",
                        "have a global admin grant admin consent for User.Read.All, Group.Read.All, GroupMember.Read.All and Directory.Read.All")
        case 70011, 700022, 700023:
            return make(.invalidScope, "the token request's scope was rejected",
                        "point DIRSYNC_GRAPH_URL at the Graph host of the cloud the app lives in")
        default:
            break
        }
        switch oauthError {
        case "invalid_client":
            return make(.invalidClientSecret, "the token endpoint rejected the credentials of application \(clientID)",
                        "check AZURE_CLIENT_ID and the secret, certificate or federated credential")
        case "unauthorized_client":
            return make(.appNotInTenant, "application \(clientID) is not authorised in tenant \(tenant)",
                        "have a global admin of \(tenant) grant admin consent to the app")
        default:
            return make(.tokenRequestFailed, "the token request for tenant \(tenant) failed (HTTP \(response.status))",
                        "check the credential configuration; the error's server code names the cause")
        }
    }

    /// Extracts `n` from the first `AADSTSn` in a text.
    static func aadstsCode(in text: String) -> Int? {
        guard let range = text.range(of: "AADSTS") else { return nil }
        let digits = text[range.upperBound...].prefix { $0.isASCII && $0.isNumber }
        return Int(digits)
    }
}
