import Foundation

/// Every failure the Graph client reports: Graph's own errors, token-endpoint errors, refused links,
/// exhausted retries and bad credential configuration.
///
/// `description` is written for an operator — what happened and what to do — and never contains a
/// secret, a token or a URL query string. `debugDescription` adds the server's own message.
public struct GraphError: Error, Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The kind of failure; callers branch on this, never on message text.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Sendable {
            case resyncRequired, throttled, throttledBeyondDeadline, unauthorized, permissionMissing
            case notFound, badRequest, serverError, unexpectedStatus, malformedResponse, transport
            case foreignLink, linkLoop, configuration, unknownDomain
            case appNotInTenant, invalidClientSecret, expiredClientSecret, invalidCertificate
            case federatedCredentialMismatch, unknownTenant, credentialNotSent, appDisabled
            case tokenRequestLoop, conditionalAccess, adminConsentRequired, invalidScope, tokenRequestFailed
            case unknownProperty, expiredPageToken, unsupportedQuery
            case expiredCertificate, expiredFederatedToken
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The delta link expired or the sync state is gone (400/410 `syncStateNotFound`, `resyncRequired`): start a full round.
        public static let resyncRequired = Code(.resyncRequired)
        /// 429 or 503/504 after all attempts.
        public static let throttled = Code(.throttled)
        /// Graph asked to wait past the run's deadline.
        public static let throttledBeyondDeadline = Code(.throttledBeyondDeadline)
        /// 401 even with a freshly issued token.
        public static let unauthorized = Code(.unauthorized)
        /// 403: the app lacks an application permission, or admin consent was never granted.
        public static let permissionMissing = Code(.permissionMissing)
        /// 404.
        public static let notFound = Code(.notFound)
        /// Another 4xx that retrying cannot fix.
        public static let badRequest = Code(.badRequest)
        /// 400 "Could not find a property named '…'": a selected property Graph does not know.
        public static let unknownProperty = Code(.unknownProperty)
        /// 400 `Directory_ExpiredPageToken`: a list's page token expired; the list starts over.
        public static let expiredPageToken = Code(.expiredPageToken)
        /// 400 `Request_UnsupportedQuery`: Graph does not serve this filter or option.
        public static let unsupportedQuery = Code(.unsupportedQuery)
        /// 5xx after all attempts.
        public static let serverError = Code(.serverError)
        /// A status the client does not expect (1xx, 3xx).
        public static let unexpectedStatus = Code(.unexpectedStatus)
        /// A 2xx body that could not be read, after all attempts.
        public static let malformedResponse = Code(.malformedResponse)
        /// No HTTP response (connect, timeout, reset, TLS) after all attempts.
        public static let transport = Code(.transport)
        /// A nextLink or deltaLink that points away from the configured Graph host.
        public static let foreignLink = Code(.foreignLink)
        /// The same link came back twice in a round, or a round ran absurdly long.
        public static let linkLoop = Code(.linkLoop)
        /// The credential configuration is missing or invalid.
        public static let configuration = Code(.configuration)
        /// Tenant discovery found no tenant for a domain.
        public static let unknownDomain = Code(.unknownDomain)
        /// AADSTS700016/700011/7000229: the app has no service principal in the tenant (deleted, or never consented).
        public static let appNotInTenant = Code(.appNotInTenant)
        /// AADSTS7000215: wrong client secret.
        public static let invalidClientSecret = Code(.invalidClientSecret)
        /// AADSTS7000222: the client secret expired.
        public static let expiredClientSecret = Code(.expiredClientSecret)
        /// AADSTS700027: the certificate is not registered, expired, or the clock is skewed.
        public static let invalidCertificate = Code(.invalidCertificate)
        /// The client certificate's `notAfter` has passed: checked locally before a token request.
        public static let expiredCertificate = Code(.expiredCertificate)
        /// The workload-identity token in the token file has expired (its `exp` has passed).
        public static let expiredFederatedToken = Code(.expiredFederatedToken)
        /// AADSTS70021: no federated identity credential matches the presented token.
        public static let federatedCredentialMismatch = Code(.federatedCredentialMismatch)
        /// AADSTS90002: the tenant does not exist in this cloud.
        public static let unknownTenant = Code(.unknownTenant)
        /// AADSTS7000218: neither a secret nor an assertion reached the token endpoint.
        public static let credentialNotSent = Code(.credentialNotSent)
        /// AADSTS7000112/70001: the application is disabled.
        public static let appDisabled = Code(.appDisabled)
        /// AADSTS50196: too many identical token requests.
        public static let tokenRequestLoop = Code(.tokenRequestLoop)
        /// AADSTS53003: blocked by Conditional Access.
        public static let conditionalAccess = Code(.conditionalAccess)
        /// AADSTS90094/65001/500011: admin consent is required.
        public static let adminConsentRequired = Code(.adminConsentRequired)
        /// AADSTS70011/700022/700023: the scope is wrong.
        public static let invalidScope = Code(.invalidScope)
        /// Any other token-endpoint failure.
        public static let tokenRequestFailed = Code(.tokenRequestFailed)

        public var description: String { base.rawValue }
    }

    /// The kind of failure.
    public var code: Code
    /// The HTTP status, when a response arrived.
    public var status: Int?
    /// Graph's `error.code`, or `AADSTS<n>` for token-endpoint errors.
    public var serverCode: String?
    /// Graph's `request-id` (or the token endpoint's `trace_id`), for support tickets.
    public var requestID: String?
    /// The wait Graph asked for, in seconds.
    public var retryAfter: TimeInterval?
    /// What happened, in one plain sentence. Never contains secrets.
    public var message: String
    /// What the operator should do about it, when there is something to do.
    public var fix: String?
    /// The URL requested, without its query string.
    public var url: String?
    /// The server's own message (Graph `error.message` or `error_description`), for `debugDescription` only.
    public var serverMessage: String?
    /// For a 403: the application permissions the rejected access token carried (`nil` when unknown or
    /// not a 403). Empty means the tenant granted the app nothing: consent was revoked or never given.
    public var tokenRoles: Set<String>?
    /// How many attempts were made before giving up (set by the retry loop; `nil` when not retried).
    public var attempts: Int?
    /// Where the error was created.
    public var file: String
    /// Where the error was created.
    public var line: Int

    public init(
        code: Code, status: Int? = nil, serverCode: String? = nil, requestID: String? = nil,
        retryAfter: TimeInterval? = nil, message: String, fix: String? = nil, url: String? = nil,
        serverMessage: String? = nil, file: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.status = status
        self.serverCode = serverCode
        self.requestID = requestID
        self.retryAfter = retryAfter
        self.message = message
        self.fix = fix
        self.url = url.map(URLRedaction.withoutQuery)
        self.serverMessage = serverMessage
        self.file = file
        self.line = line
    }

    /// Whether the sync engine should drop the stored deltaLink and start a full round.
    public var requiresResync: Bool { code == .resyncRequired }

    public var description: String {
        var parts = ["Graph error \(code)"]
        var detail: [String] = []
        if let status { detail.append("HTTP \(status)") }
        if let serverCode { detail.append(serverCode) }
        if !detail.isEmpty { parts[0] += " (\(detail.joined(separator: ", ")))" }
        parts.append(message)
        if let fix { parts.append("Fix: \(fix)") }
        if let url { parts.append("URL: \(url)") }
        if let requestID { parts.append("request-id: \(requestID)") }
        return parts.map { $0.hasSuffix(".") ? String($0.dropLast()) : $0 }.joined(separator: ". ") + "."
    }

    public var debugDescription: String {
        // `description` ends its last sentence with a period; continue the sentence list without doubling it.
        var text = description.hasSuffix(".") ? String(description.dropLast()) : description
        if let retryAfter { text += ". retry-after: \(retryAfter)s" }
        if let serverMessage { text += ". server said: \(serverMessage)" }
        return text + " [\(file):\(line)]"
    }

    /// Errors compare by code, status, server code and request id (not by wording or location).
    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.code == rhs.code && lhs.status == rhs.status && lhs.serverCode == rhs.serverCode && lhs.requestID == rhs.requestID
    }
}

/// Strips query strings and fragments (where delta and skip tokens live) from URLs shown to people.
public enum URLRedaction {
    /// `url` up to, not including, the first `?` or `#`.
    public static func withoutQuery(_ url: String) -> String {
        if let cut = url.firstIndex(where: { $0 == "?" || $0 == "#" }) { return String(url[..<cut]) }
        return url
    }
}
