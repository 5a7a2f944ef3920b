import DirSyncCore
import DirSyncTestDoubles
import Foundation
import Logging
import Testing

@Suite("Graph client against a scripted transport")
struct GraphClientTests {
    private let tenantID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
    private let endpoints = GraphEndpoints(graphBaseURL: "https://graph.microsoft.com", authorityHost: "https://login.microsoftonline.com")

    private func client(_ transport: ScriptedTransport, tokens: CountingTokenSource = CountingTokenSource(), time: ManualClock = ManualClock(),
                        logs: RecordingLogHandler = RecordingLogHandler(), retry: RetryPolicy = RetryPolicy(), deadline: Date? = nil) throws -> GraphClient {
        try GraphClient(configuration: .init(endpoints: endpoints, version: "1.2.3", retryPolicy: retry, deadline: deadline),
                        transport: transport, tokens: tokens, time: time, random: { 0.5 }, logger: logs.logger())
    }

    private static func page(next: String? = nil, delta: String? = nil, users: [String] = []) -> HTTPResponse {
        var object = #"{"value":["# + users.map { #"{"id":"\#($0)","displayName":"n"}"# }.joined(separator: ",") + "]"
        if let next { object += #","@odata.nextLink":"\#(next)""# }
        if let delta { object += #","@odata.deltaLink":"\#(delta)""# }
        return Fixture.json(200, object + "}", headers: [("request-id", "rid-1"), ("x-ms-resource-unit", "5")])
    }

    @Test("paging follows links exactly as given and re-sends Prefer, auth, user agent and a fresh client-request-id")
    func pagingHeaders() async throws {
        let next = "https://graph.microsoft.com/v1.0/users/delta?$skiptoken=Ab%2Fc+d&$select=odd"
        let transport = ScriptedTransport { request, index in
            index == 0 ? Self.page(next: next, users: ["00000000-0000-0000-0000-000000000001"])
                : Self.page(delta: "https://graph.microsoft.com/v1.0/users/delta?$deltatoken=z", users: ["00000000-0000-0000-0000-000000000002"])
        }
        let view = try client(transport).tenant(tenantID)
        let first = try await view.fetchDeltaPage(resource: .users, link: view.initialDeltaURL(.users))
        #expect(first.page.continuation == .next(next))
        #expect(first.info.requestID == "rid-1")
        #expect(first.info.resourceUnits == 5)
        #expect(first.info.attempt == 1)
        let second = try await view.fetchDeltaPage(resource: .users, link: first.page.continuation.link)
        #expect(second.page.continuation == .delta("https://graph.microsoft.com/v1.0/users/delta?$deltatoken=z"))

        let requests = transport.requests
        #expect(requests.map(\.url) == [endpoints.initialDeltaURL(.users), next])
        for request in requests {
            let headers = Dictionary(request.headers.map { ($0.name.lowercased(), $0.value) }, uniquingKeysWith: { $1 })
            #expect(headers["prefer"] == "return=minimal, odata.maxpagesize=999")
            #expect(headers["authorization"] == "Bearer SECRET-TOKEN-1")
            #expect(headers["user-agent"] == "dirsync/1.2.3")
            #expect(UUID(uuidString: headers["client-request-id"] ?? "") != nil)
        }
        #expect(Set(requests.compactMap { $0.headers.first { $0.name == "client-request-id" }?.value }).count == 2)
    }

    @Test("a foreign link is refused before anything is sent, so the token never leaves")
    func foreignLinkRefused() async throws {
        let transport = ScriptedTransport { _, _ in Self.page(delta: "https://graph.microsoft.com/x") }
        let tokens = CountingTokenSource()
        let view = try client(transport, tokens: tokens).tenant(tenantID)
        for link in ["https://evil.example/v1.0/users/delta?$skiptoken=1", "https://graph.microsoft.com@evil.example/v1.0/users/delta", "http://graph.microsoft.com/v1.0/users/delta"] {
            await #expect(throws: GraphError.self) { _ = try await view.fetchDeltaPage(resource: .users, link: link) }
        }
        #expect(transport.requests.isEmpty)
        #expect(tokens.issuedCount == 0)
    }

    @Test("a 429 storm with fractional Retry-After waits exactly as told on the fake clock, and logs throttling metadata")
    func throttleStorm() async throws {
        let time = ManualClock()
        let logs = RecordingLogHandler()
        let throttled = Fixture.json(429, #"{"error":{"code":"TooManyRequests","message":"slow down"}}"#,
                                     headers: [("Retry-After", "2.128"), ("request-id", "rid-429"), ("x-ms-resource-unit", "1"), ("x-ms-throttle-limit-percentage", "1.0")])
        let transport = ScriptedTransport { _, index in index < 3 ? throttled : Self.page(delta: "https://graph.microsoft.com/v1.0/users/delta?$deltatoken=z") }
        let graph = try client(transport, time: time, logs: logs)
        let result = try await graph.tenant(tenantID).fetchDeltaPage(resource: .users, link: endpoints.initialDeltaURL(.users))
        #expect(result.info.attempt == 4)
        #expect(time.sleeps == [2.128, 2.128, 2.128])
        #expect(graph.statistics.throttled == 3)
        #expect(graph.statistics.requests == 4)
        let throttleLines = logs.lines.filter { $0.contains("Graph throttled a request") }
        #expect(throttleLines.count == 3)
        #expect(throttleLines.allSatisfy { $0.contains("request_id=rid-429") && $0.contains("x-ms-resource-unit=1") && $0.contains("x-ms-throttle-limit-percentage=1.0") })
        #expect(!logs.lines.contains { $0.contains("SECRET-TOKEN") })
    }

    @Test("throttling that would outlast the run's deadline fails as throttledBeyondDeadline without sleeping")
    func throttleBeyondDeadline() async throws {
        let time = ManualClock()
        let transport = ScriptedTransport { _, _ in Fixture.json(429, "", headers: [("Retry-After", "120")]) }
        let graph = try client(transport, time: time, deadline: time.now().addingTimeInterval(60))
        do {
            _ = try await graph.tenant(tenantID).count(.users)
            Issue.record("expected a throttling failure")
        } catch let error as GraphError {
            #expect(error.code == .throttledBeyondDeadline)
            #expect(error.retryAfter == 120)
        }
        #expect(time.sleeps.isEmpty)
        #expect(transport.requests.count == 1)
    }

    @Test("a 401 drops the token and retries once with a new one; a second 401 fails as unauthorized")
    func unauthorizedOnce() async throws {
        let tokens = CountingTokenSource()
        let unauthorized = Fixture.json(401, #"{"error":{"code":"InvalidAuthenticationToken","message":"Access token has expired or is not yet valid."}}"#)
        let recovering = ScriptedTransport { _, index in index == 0 ? unauthorized : Fixture.json(200, "42") }
        let graph = try client(recovering, tokens: tokens)
        #expect(try await graph.tenant(tenantID).count(.groups) == 42)
        #expect(tokens.invalidations == 1)
        #expect(tokens.issuedCount == 2)
        #expect(recovering.requests.map { $0.headers.first { $0.name == "Authorization" }?.value } == ["Bearer SECRET-TOKEN-1", "Bearer SECRET-TOKEN-2"])
        #expect(recovering.requests[0].headers.contains { $0.name == "ConsistencyLevel" && $0.value == "eventual" })

        let stubborn = ScriptedTransport { _, _ in unauthorized }
        let tokens2 = CountingTokenSource()
        do {
            _ = try await client(stubborn, tokens: tokens2).tenant(tenantID).count(.groups)
            Issue.record("expected unauthorized")
        } catch let error as GraphError {
            #expect(error.code == .unauthorized)
            #expect(!error.description.contains("SECRET-TOKEN"))
        }
        #expect(stubborn.requests.count == 2)
        #expect(tokens2.invalidations == 1)
    }

    @Test("410 and syncStateNotFound surface as resyncRequired at once, without retries")
    func resync() async throws {
        let transport = ScriptedTransport { _, _ in Fixture.json(400, #"{"error":{"code":"SyncStateNotFound","message":"gone"}}"#) }
        do {
            _ = try await client(transport).tenant(tenantID).fetchDeltaPage(resource: .groups, link: "https://graph.microsoft.com/v1.0/groups/delta?$deltatoken=old")
            Issue.record("expected resync")
        } catch let error as GraphError {
            #expect(error.requiresResync)
        }
        #expect(transport.requests.count == 1)
    }

    @Test("a truncated body and a connection reset are retried with jittered backoff, then succeed")
    func malformedAndTransportRetried() async throws {
        let time = ManualClock()
        let transport = ScriptedTransport { _, index in
            switch index {
            case 0: return Fixture.json(200, #"{"value":[{"id":"#)
            case 1: throw TransportError(kind: .connectionLost, message: "connection reset")
            default: return Self.page(delta: "https://graph.microsoft.com/v1.0/users/delta?$deltatoken=z")
            }
        }
        let graph = try client(transport, time: time, retry: RetryPolicy(maxAttempts: 5, baseDelay: 2, maxDelay: 60))
        let result = try await graph.tenant(tenantID).fetchDeltaPage(resource: .users, link: endpoints.initialDeltaURL(.users))
        #expect(result.info.attempt == 3)
        #expect(time.sleeps == [1.0, 2.0]) // 0.5 × 2, 0.5 × 4
        #expect(graph.statistics.transportFailures == 1)
    }

    @Test("a permanent failure is not retried and names the missing permission")
    func forbiddenNotRetried() async throws {
        let transport = ScriptedTransport { _, _ in Fixture.json(403, #"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}"#) }
        do {
            _ = try await client(transport).tenant(tenantID).fetchDeltaPage(resource: .groups, link: endpoints.initialDeltaURL(.groups))
            Issue.record("expected forbidden")
        } catch let error as GraphError {
            #expect(error.code == .permissionMissing)
            #expect(error.message.contains("GroupMember.Read.All"))
        }
        #expect(transport.requests.count == 1)
    }

    @Test("retries give up after the attempt cap with the last error")
    func attemptCap() async throws {
        let time = ManualClock()
        let transport = ScriptedTransport { _, _ in Fixture.json(502, "") }
        do {
            _ = try await client(transport, time: time, retry: RetryPolicy(maxAttempts: 3)).tenant(tenantID).organization()
            Issue.record("expected a server error")
        } catch let error as GraphError {
            #expect(error.code == .serverError)
        }
        #expect(transport.requests.count == 3)
        #expect(time.sleeps.count == 2)
    }

    @Test("domain and organization answers decode; the domain name is lower-cased in the URL")
    func domainAndOrganization() async throws {
        let transport = ScriptedTransport { request, _ in
            if request.url.hasSuffix("/domains/contoso.com") {
                return Fixture.json(200, #"{"id":"contoso.com","isVerified":true,"isDefault":false,"isInitial":false,"authenticationType":"Managed"}"#)
            }
            return Fixture.json(200, #"{"value":[{"id":"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee","displayName":"Contoso","verifiedDomains":[{"name":"contoso.com"},{"name":"contoso.onmicrosoft.com"}]}]}"#)
        }
        let view = try client(transport).tenant(tenantID)
        let domain = try await view.domain(name: "Contoso.COM")
        #expect(domain == GraphDomain(name: "contoso.com", isVerified: true, authenticationType: "Managed"))
        let organization = try await view.organization()
        #expect(organization.tenantID == UUID(uuidString: tenantID))
        #expect(organization.verifiedDomains == ["contoso.com", "contoso.onmicrosoft.com"])
    }

    @Test("tenant discovery reads the GUID from the OIDC issuer, sends no token, and maps an unknown domain")
    func discovery() async throws {
        let tokens = CountingTokenSource()
        let transport = ScriptedTransport { request, _ in
            if request.url.contains("/contoso.com/") {
                return Fixture.json(200, #"{"issuer":"https://login.microsoftonline.com/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee/v2.0","token_endpoint":"https://login.microsoftonline.com/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee/oauth2/v2.0/token","msgraph_host":"graph.microsoft.com"}"#)
            }
            return Fixture.json(400, #"{"error":"invalid_tenant","error_description":"AADSTS90002: Tenant 'nope.example' not found.","error_codes":[90002]}"#)
        }
        let graph = try client(transport, tokens: tokens)
        let found = try await graph.discoverTenant(domain: "Contoso.com")
        #expect(found.tenantID == UUID(uuidString: tenantID))
        #expect(found.graphHost == "graph.microsoft.com")
        #expect(transport.requests[0].url == "https://login.microsoftonline.com/contoso.com/v2.0/.well-known/openid-configuration")
        #expect(!transport.requests[0].headers.contains { $0.name == "Authorization" })
        do {
            _ = try await graph.discoverTenant(domain: "nope.example")
            Issue.record("expected unknown domain")
        } catch let error as GraphError {
            #expect(error.code == .unknownDomain)
            #expect(error.description.contains("nope.example"))
        }
        #expect(tokens.issuedCount == 0)
    }

    @Test("a throttled or failing discovery is not mistaken for an unknown domain")
    func discoveryThrottled() async throws {
        let transport = ScriptedTransport { _, _ in Fixture.json(429, "", headers: [("Retry-After", "1")]) }
        do {
            _ = try await client(transport, retry: RetryPolicy(maxAttempts: 2)).discoverTenant(domain: "contoso.com")
            Issue.record("expected a failure")
        } catch let error as GraphError {
            #expect(error.code != .unknownDomain)
            #expect(error.status == 429)
        }
        #expect(transport.requests.count == 2)
    }

    @Test("per-tenant views carry their own client id into the token key")
    func perTenantClientID() async throws {
        final class KeyRecorder: AccessTokenSource, @unchecked Sendable {
            let lock = NSLock()
            var keys: [TokenKey] = []
            let defaultClientID = "default-client"
            func token(for key: TokenKey) async throws -> AccessToken {
                lock.withLock { keys.append(key) }
                return AccessToken(value: "t", expiresOn: .distantFuture, issuedAt: .distantPast)
            }
            func invalidate(_ token: AccessToken, for key: TokenKey) {}
        }
        let recorder = KeyRecorder()
        let graph = try GraphClient(configuration: .init(endpoints: endpoints, version: "1"), transport: ScriptedTransport { _, _ in Fixture.json(200, "1") },
                                    tokens: recorder, time: ManualClock(), logger: RecordingLogHandler().logger())
        _ = try await graph.tenant("t1").count(.users)
        _ = try await graph.tenant("t2", clientID: "other-client").count(.users)
        #expect(recorder.keys == [TokenKey(tenantID: "t1", clientID: "default-client"), TokenKey(tenantID: "t2", clientID: "other-client")])
    }

    @Test("across a whole run no log line carries the token or the client secret")
    func logsCarryNoSecrets() async throws {
        let logs = RecordingLogHandler()
        let time = ManualClock()
        let tokenTransport = ScriptedTransport { _, _ in Fixture.json(200, #"{"expires_in":3600,"access_token":"eyJ-REAL-TOKEN"}"#) }
        let tokens = EntraTokenProvider(clientID: "11111111-2222-3333-4444-555555555555", credential: .secret(Secret("hunter2-secret")),
                                        endpoints: endpoints, transport: tokenTransport, time: time, logger: logs.logger())
        let graphTransport = ScriptedTransport { _, index in
            switch index {
            case 0: return Fixture.json(401, #"{"error":{"code":"InvalidAuthenticationToken"}}"#)
            case 1: return Fixture.json(429, "", headers: [("Retry-After", "1")])
            case 2: throw TransportError(kind: .timeout, message: "timed out")
            case 3: return Fixture.json(200, "{")
            default: return Self.page(delta: "https://graph.microsoft.com/v1.0/users/delta?$deltatoken=z")
            }
        }
        let graph = try GraphClient(configuration: .init(endpoints: endpoints, version: "1"), transport: graphTransport, tokens: tokens,
                                    time: time, random: { 0.3 }, logger: logs.logger())
        _ = try await graph.tenant(tenantID).fetchDeltaPage(resource: .users, link: endpoints.initialDeltaURL(.users))
        #expect(graphTransport.requests.count == 5)
        #expect(graphTransport.requests.last?.headers.contains { $0.value == "Bearer eyJ-REAL-TOKEN" } == true)
        #expect(logs.lines.count >= 4)
        for line in logs.lines {
            #expect(!line.contains("eyJ-REAL-TOKEN"))
            #expect(!line.contains("hunter2"))
        }
    }
}
