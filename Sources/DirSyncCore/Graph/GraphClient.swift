import Foundation
import Logging

/// Talks to Microsoft Graph for the sync engine: delta pages, counts, domains, the organization and
/// tenant discovery, with app-only tokens, retries, throttling and link safety.
///
/// One client serves many tenants; ``tenant(_:clientID:)`` returns a lightweight per-tenant view.
/// Every authenticated request goes to the configured Graph origin only (``LinkGuard``); the token
/// never appears in logs or errors.
public final class GraphClient: Sendable {
    /// Settings that do not change during a run.
    public struct Configuration: Sendable {
        /// Graph root and authority host.
        public var endpoints: GraphEndpoints
        /// The `User-Agent` header, `dirsync/<version>`.
        public var userAgent: String
        /// When and how to retry.
        public var retryPolicy: RetryPolicy
        /// The run's deadline: a throttling wait past it fails with ``GraphError/Code/throttledBeyondDeadline``.
        public var deadline: Date?
        /// The properties selected and read for each object type.
        public var schema: DirectorySchema

        /// - Parameters:
        ///   - endpoints: Graph root and authority host.
        ///   - version: dirsync's version, for the `User-Agent`.
        ///   - retryPolicy: retry settings.
        ///   - deadline: the run's deadline, if any.
        ///   - schema: the properties selected and read for each object type.
        public init(endpoints: GraphEndpoints, version: String, retryPolicy: RetryPolicy = RetryPolicy(), deadline: Date? = nil,
                    schema: DirectorySchema = .standard) {
            self.endpoints = endpoints
            self.userAgent = "dirsync/\(version)"
            self.retryPolicy = retryPolicy
            self.deadline = deadline
            self.schema = schema
        }
    }

    /// The configuration the client was made with.
    public let configuration: Configuration
    private let transport: any HTTPTransport
    private let tokens: any AccessTokenSource
    private let time: any TimeSource
    private let logger: Logger
    /// Where the CPU of decoding Graph's pages is counted.
    let profiler: any Profiler
    private let linkGuard: LinkGuard
    private let retry: RetryLoop
    private let counters = Locked(GraphRequestStatistics())

    /// - Parameters:
    ///   - configuration: endpoints, user agent, retry policy, deadline.
    ///   - transport: carries requests (libcurl in production, a fake in tests).
    ///   - tokens: hands out access tokens.
    ///   - time: clock and sleep.
    ///   - random: a source of values in `0..<1` for backoff jitter.
    ///   - logger: where retries and throttling are logged (metadata only, never tokens).
    ///   - profiler: counts the CPU of decoding pages.
    /// - Throws: ``GraphError/Code/configuration`` when the Graph base URL is unusable.
    public init(configuration: Configuration, transport: any HTTPTransport, tokens: any AccessTokenSource,
                time: any TimeSource = SystemTimeSource(), random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
                logger: Logger, profiler: any Profiler = NoProfiler()) throws {
        self.configuration = configuration
        self.transport = transport
        self.tokens = tokens
        self.time = time
        self.logger = logger
        self.profiler = profiler
        self.linkGuard = try LinkGuard(graphBaseURL: configuration.endpoints.graphBaseURL)
        self.retry = RetryLoop(policy: configuration.retryPolicy, time: time, deadline: configuration.deadline, random: random, logger: logger)
    }

    /// Requests sent, throttled responses, retries and token refreshes so far (for the run record).
    public var statistics: GraphRequestStatistics { counters.withLock { $0 } }

    /// A view of the client bound to one tenant (and optionally a per-tenant application id).
    /// - Parameters:
    ///   - tenantID: the tenant GUID (or a domain name the identity platform accepts).
    ///   - clientID: the application id for this tenant; the token source's default when `nil`.
    public func tenant(_ tenantID: String, clientID: String? = nil) -> GraphTenantClient {
        GraphTenantClient(client: self, key: TokenKey(tenantID: tenantID, clientID: clientID ?? tokens.defaultClientID))
    }

    /// Finds the tenant GUID behind a domain through its OpenID Connect metadata (no token needed).
    /// - Throws: ``GraphError/Code/unknownDomain`` when the identity platform knows no tenant for the domain.
    public func discoverTenant(domain: String) async throws -> TenantDiscovery {
        let url = configuration.endpoints.openIDConfigurationURL(domain: domain)
        do {
            let (discovery, _) = try await perform(HTTPRequest(url: url, headers: [("Accept", "application/json")]), operation: .tenantDiscovery, key: nil,
                                                   classify: { response, now in
                                                       GraphError.classifyToken(response: response, tenant: domain, clientID: self.tokens.defaultClientID, url: url, now: now)
                                                   },
                                                   decode: { try TenantDiscovery(bytes: $0.body, domain: domain) })
            return discovery
        } catch let error as GraphError where error.code == .unknownTenant || error.status == 400 || error.status == 404 {
            throw GraphError(code: .unknownDomain, status: error.status, serverCode: error.serverCode, requestID: error.requestID,
                             message: "no Microsoft Entra tenant uses the domain \(domain.lowercased()) in this cloud",
                             fix: "check the spelling, that the domain is added to the tenant, and the cloud (AZURE_AUTHORITY_HOST)", url: url)
        }
    }

    /// Throws ``GraphError/Code/foreignLink`` when `link` leaves the configured Graph origin.
    func checkLink(_ link: String) throws(GraphError) {
        try linkGuard.check(link)
    }

    /// Sends a Graph request with retries, token handling and logging; decodes a 2xx with `decode`.

    func perform<Value: Sendable>(
        _ request: HTTPRequest, operation: GraphOperation, key: TokenKey?,
        classify: ((HTTPResponse, Date) -> GraphError)? = nil,
        decode: (HTTPResponse) throws -> Value
    ) async throws -> (Value, GraphResponseInfo) {
        if key != nil { try linkGuard.check(request.url) }
        let shownURL = URLRedaction.withoutQuery(request.url)
        var renewedAfter401 = false
        var throttled = (count: 0, retryAfter: nil as Double?)
        return try await retry.run(shownURL) { attempt in
            var outgoing = request
            var token: AccessToken?
            if let key {
                let current = try await tokens.token(for: key)
                token = current
                outgoing.headers.append(("Authorization", "Bearer \(current.value)"))
            }
            let clientRequestID = UUID().uuidString.lowercased()
            outgoing.headers.append(("User-Agent", configuration.userAgent))
            outgoing.headers.append(("client-request-id", clientRequestID))
            outgoing.headers.append(("return-client-request-id", "true"))
            counters.withLock { $0.requests += 1 }

            let response: HTTPResponse
            do {
                response = try await transport.send(outgoing)
            } catch let error as TransportError {
                counters.withLock { $0.transportFailures += 1 }
                logger.warning("Graph request got no response", metadata: [
                    "url": "\(shownURL)", "attempt": "\(attempt)", "transport.kind": "\(error.kind.rawValue)", "client_request_id": "\(clientRequestID)",
                ])
                return .failure(.transport(error), GraphError(code: .transport, message: "no response from Graph: \(error.message)",
                                                              fix: error.isRetryable ? "check network access to the Graph host" : nil, url: request.url))
            }
            let now = time.now()
            var info = GraphResponseInfo(response: response, clientRequestID: clientRequestID, attempt: attempt)
            (info.throttledAttempts, info.retryAfter) = throttled
            if (200..<300).contains(response.status) {
                do {
                    return .success((try decode(response), info))
                } catch {
                    logger.warning("Graph response body unreadable", metadata: [
                        "url": "\(shownURL)", "attempt": "\(attempt)", "request_id": "\(info.requestID ?? "-")", "bytes": "\(response.body.count)",
                    ])
                    return .failure(.malformedBody, GraphError(code: .malformedResponse, status: response.status, requestID: info.requestID,
                                                               message: "Graph's answer could not be read (\(error))", url: request.url))
                }
            }
            if response.status == 401, let key, let token, !renewedAfter401 {
                renewedAfter401 = true
                tokens.invalidate(token, for: key)
                counters.withLock { $0.tokenRefreshes += 1 }
                logger.info("Graph rejected the access token; renewing it once", metadata: [
                    "tenant.id": "\(key.tenantID)", "request_id": "\(info.requestID ?? "-")",
                ])
                return .retryNow
            }
            var error = classify?(response, now) ?? GraphError.classify(response: response, operation: operation, url: request.url, now: now)
            if response.status == 403, let token {
                // Only role names leave the token; the token itself is never kept or printed.
                error = error.refined(grantedRoles: AccessTokenRoles.roles(in: token), operation: operation)
            }
            if RetryPolicy.throttlingStatuses.contains(response.status) {
                counters.withLock { $0.throttled += 1 }
                throttled.count += 1
                throttled.retryAfter = max(throttled.retryAfter ?? 0, error.retryAfter ?? 0)
                logger.notice("Graph throttled a request", metadata: Self.throttleMetadata(response, url: shownURL, retryAfter: error.retryAfter, attempt: attempt))
            }
            return .failure(.status(response.status, retryAfter: error.retryAfter), error)
        }
    }

    private static func throttleMetadata(_ response: HTTPResponse, url: String, retryAfter: TimeInterval?, attempt: Int) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "url": "\(url)", "status": "\(response.status)", "attempt": "\(attempt)",
            "request_id": "\(response.header("request-id") ?? "-")",
            "retry_after": "\(retryAfter.map { "\($0)" } ?? "-")",
        ]
        for name in ["x-ms-resource-unit", "x-ms-throttle-limit-percentage", "x-ms-throttle-scope", "x-ms-throttle-information"] {
            if let value = response.header(name) { metadata[name] = "\(value)" }
        }
        return metadata
    }
}
