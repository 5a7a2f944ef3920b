import Foundation

/// Facts about one successful Graph response, for logs and run records.
public struct GraphResponseInfo: Sendable, Equatable {
    /// The HTTP status.
    public var status: Int
    /// Graph's `request-id` header, quoted in support tickets.
    public var requestID: String?
    /// The `client-request-id` dirsync sent.
    public var clientRequestID: String
    /// Which attempt succeeded (1 = first try).
    public var attempt: Int
    /// `x-ms-resource-unit`: the request's cost against the throttling budget.
    public var resourceUnits: Int?
    /// Size of the response body in bytes.
    public var bodyBytes: Int
    /// `x-ms-throttle-limit-percentage`: how close the app is to a throttling limit (Graph sends it
    /// above 0.8, as a fraction of the limit).
    public var limitPercentage: Double?
    /// Throttled responses (429, 503, 504) the request met and waited out before it succeeded.
    public var throttledAttempts = 0
    /// The longest `Retry-After` among them, in seconds.
    public var retryAfter: Double?

    public init(status: Int, requestID: String?, clientRequestID: String, attempt: Int, resourceUnits: Int?, bodyBytes: Int = 0) {
        self.status = status
        self.requestID = requestID
        self.clientRequestID = clientRequestID
        self.attempt = attempt
        self.resourceUnits = resourceUnits
        self.bodyBytes = bodyBytes
    }

    init(response: HTTPResponse, clientRequestID: String, attempt: Int) {
        self.init(status: response.status, requestID: response.header("request-id"), clientRequestID: clientRequestID,
                  attempt: attempt, resourceUnits: response.header("x-ms-resource-unit").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) },
                  bodyBytes: response.body.count)
        limitPercentage = response.header("x-ms-throttle-limit-percentage").flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }
    }
}

/// Counters over the client's lifetime, read into the run record.
public struct GraphRequestStatistics: Sendable, Equatable {
    /// HTTP requests sent to Graph (retries included; token requests excluded).
    public var requests = 0
    /// Responses with 429, 503 or 504.
    public var throttled = 0
    /// Attempts that got no HTTP response.
    public var transportFailures = 0
    /// Tokens dropped after a 401.
    public var tokenRefreshes = 0

    public init() {}
}

/// The tenant behind a domain, from its OpenID Connect metadata.
public struct TenantDiscovery: Sendable, Equatable {
    /// The tenant GUID.
    public var tenantID: UUID
    /// The metadata's `issuer`.
    public var issuer: String
    /// `msgraph_host`, when the metadata names it (e.g. `graph.microsoft.com`).
    public var graphHost: String?

    public init(tenantID: UUID, issuer: String, graphHost: String?) {
        self.tenantID = tenantID
        self.issuer = issuer
        self.graphHost = graphHost
    }

    /// Parses the metadata; the GUID is the first path segment of `issuer` or `token_endpoint` that is one.
    init(bytes: [UInt8], domain: String) throws {
        guard let object = JSONValue.object(bytes) else {
            throw MalformedPageError(reason: "the OpenID configuration is not a JSON object", byteCount: bytes.count)
        }
        let issuer = object["issuer"] as? String ?? ""
        let candidates = [issuer, object["token_endpoint"] as? String ?? ""]
        for candidate in candidates {
            if let path = URLComponents(string: candidate)?.path {
                for segment in path.split(separator: "/") {
                    if let id = UUID(uuidString: String(segment)) {
                        self.init(tenantID: id, issuer: issuer, graphHost: object["msgraph_host"] as? String)
                        return
                    }
                }
            }
        }
        throw GraphError(code: .unknownDomain, status: 200,
                         message: "the OpenID configuration for \(domain.lowercased()) names no tenant id",
                         fix: "use the tenant GUID instead of the domain")
    }
}

/// A domain of a tenant (`/domains/{name}`).
public struct GraphDomain: Sendable, Equatable {
    /// The domain name as Graph stores it.
    public var name: String
    /// Whether ownership verification is complete; only verified domains prove a tenant owns a name.
    public var isVerified: Bool
    /// Whether it is the tenant's default domain.
    public var isDefault: Bool
    /// Whether it is the `*.onmicrosoft.com` domain.
    public var isInitial: Bool
    /// `Managed` or `Federated`.
    public var authenticationType: String?
    /// What the domain is used for (`Email`, `OfficeCommunicationsOnline`, …).
    public var supportedServices: [String]

    public init(name: String, isVerified: Bool, isDefault: Bool = false, isInitial: Bool = false, authenticationType: String? = nil,
                supportedServices: [String] = []) {
        self.name = name
        self.isVerified = isVerified
        self.isDefault = isDefault
        self.isInitial = isInitial
        self.authenticationType = authenticationType
        self.supportedServices = supportedServices
    }

    /// Whether the domain receives mail (its services include `Email`).
    public var isEmailDomain: Bool { supportedServices.contains { $0.caseInsensitiveCompare("Email") == .orderedSame } }

    init(bytes: [UInt8]) throws {
        guard let object = JSONValue.object(bytes), let domain = GraphDomain(object) else {
            throw MalformedPageError(reason: "the domain has no id or isVerified", byteCount: bytes.count)
        }
        self = domain
    }

    /// A domain object of Graph's JSON, or `nil` without `id` and `isVerified`.
    init?(_ object: [String: Any]) {
        guard let name = object["id"] as? String, let verified = object["isVerified"].flatMap(JSONValue.bool) else { return nil }
        self.init(name: name.lowercased(), isVerified: verified,
                  isDefault: object["isDefault"].flatMap(JSONValue.bool) ?? false,
                  isInitial: object["isInitial"].flatMap(JSONValue.bool) ?? false,
                  authenticationType: object["authenticationType"] as? String,
                  supportedServices: (object["supportedServices"] as? [Any] ?? []).compactMap { $0 as? String })
    }

    /// The `value` of a `/domains` answer, and its nextLink if Graph split the list.
    static func list(bytes: [UInt8]) throws -> (domains: [GraphDomain], nextLink: String?) {
        guard let object = JSONValue.object(bytes), let values = object["value"] as? [Any] else {
            throw MalformedPageError(reason: "the domains answer has no value array", byteCount: bytes.count)
        }
        let domains = try values.map { value in
            guard let entry = value as? [String: Any], let domain = GraphDomain(entry) else {
                throw MalformedPageError(reason: "a domain in the list has no id or isVerified", byteCount: bytes.count)
            }
            return domain
        }
        return (domains, object["@odata.nextLink"] as? String)
    }
}

/// The tenant's organization record (`/organization`).
public struct GraphOrganization: Sendable, Equatable {
    /// The tenant GUID.
    public var tenantID: UUID
    /// The organization's display name.
    public var displayName: String?
    /// The names of its verified domains.
    public var verifiedDomains: [String]

    public init(tenantID: UUID, displayName: String?, verifiedDomains: [String]) {
        self.tenantID = tenantID
        self.displayName = displayName
        self.verifiedDomains = verifiedDomains
    }

    init(bytes: [UInt8]) throws {
        guard let object = JSONValue.object(bytes), let first = (object["value"] as? [Any])?.first as? [String: Any],
              let idText = first["id"] as? String, let id = UUID(uuidString: idText)
        else { throw MalformedPageError(reason: "the organization answer has no value[0].id", byteCount: bytes.count) }
        let domains = (first["verifiedDomains"] as? [Any] ?? []).compactMap { ($0 as? [String: Any])?["name"] as? String }
        self.init(tenantID: id, displayName: first["displayName"] as? String, verifiedDomains: domains)
    }
}
