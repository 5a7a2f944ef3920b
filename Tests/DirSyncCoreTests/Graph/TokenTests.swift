import DirSyncCore
import DirSyncTestDoubles
import Foundation
import Logging
import Testing

/// A signer that "signs" by hashing, so tests can check what was signed.
struct DigestSigner: AssertionSigner {
    var certificateThumbprintSHA256 = "dGh1bWJwcmludA"
    func signPS256(_ message: [UInt8]) async throws -> [UInt8] { SHA256.digest(message) }
}

/// A credential file that changes on each read, like a rotated projected token.
final class RotatingFile: CredentialFileReader, @unchecked Sendable {
    // @unchecked: `reads` is behind `lock`.
    private let lock = NSLock()
    private var reads = 0
    func read(path: String) throws -> String {
        lock.withLock {
            reads += 1
            return "federated-jwt-\(reads)\n"
        }
    }
}

@Suite("Tokens: configuration, requests, assertion, cache")
struct TokenTests {
    private let clientID = "11111111-2222-3333-4444-555555555555"

    @Test("tokens and secrets never print their value")
    func redaction() {
        let token = AccessToken(value: "eyJ.SECRET.sig", expiresOn: Date(), issuedAt: Date())
        let secret = Secret("hunter2")
        let config = GraphCredentialConfiguration(clientID: clientID, credential: .secret(secret))
        for text in ["\(token)", String(describing: token), String(reflecting: token), "\(config)", String(reflecting: config),
                     "\(secret)", String(reflecting: secret), "\([token])", "\(Optional(token) as Any)"] {
            #expect(!text.contains("SECRET"))
            #expect(!text.contains("hunter2"))
        }
        var dumped = ""
        dump(token, to: &dumped)
        dump(config, to: &dumped)
        #expect(!dumped.contains("SECRET") && !dumped.contains("hunter2"))
    }

    @Test("form bodies: secret and jwt-bearer assertion, percent-encoded")
    func formBodies() {
        let secretBody = String(decoding: TokenRequest.secretBody(clientID: "c", scope: "https://graph.microsoft.com/.default", secret: Secret("a+b&c=d")), as: UTF8.self)
        #expect(secretBody == "client_id=c&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default&client_secret=a%2Bb%26c%3Dd&grant_type=client_credentials")
        let assertionBody = String(decoding: TokenRequest.assertionBody(clientID: "c", scope: "s", assertion: Secret("x.y.z")), as: UTF8.self)
        #expect(assertionBody == "client_id=c&scope=s&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=x.y.z&grant_type=client_credentials")
    }

    @Test("token responses: expires_in is trusted, not assumed")
    func tokenResponse() throws {
        let now = Date(timeIntervalSince1970: 1000)
        let token = try #require(TokenRequest.parseResponse(Fixture.bytes(#"{"token_type":"Bearer","expires_in":5025,"access_token":"abc"}"#), now: now))
        #expect(token.expiresOn == Date(timeIntervalSince1970: 6025))
        #expect(TokenRequest.parseResponse(Fixture.bytes(#"{"expires_in":"4000","access_token":"abc"}"#), now: now)?.lifetime == 4000)
        #expect(TokenRequest.parseResponse(Fixture.bytes(#"{"access_token":"abc"}"#), now: now) == nil)
        #expect(TokenRequest.parseResponse(Fixture.bytes(#"{"expires_in":3599}"#), now: now) == nil)
        #expect(TokenRequest.parseResponse(Fixture.bytes(#"{"expires_in":true,"access_token":"abc"}"#), now: now) == nil)
    }

    @Test("refresh ahead: 5 minutes before expiry, or 10 % of a short lifetime")
    func refreshAhead() {
        let start = Date(timeIntervalSince1970: 0)
        let long = AccessToken(value: "v", expiresOn: start.addingTimeInterval(4500), issuedAt: start)
        #expect(long.refreshAt == start.addingTimeInterval(4200))
        #expect(long.isFresh(at: start.addingTimeInterval(4199)))
        #expect(!long.isFresh(at: start.addingTimeInterval(4200)))
        let short = AccessToken(value: "v", expiresOn: start.addingTimeInterval(600), issuedAt: start)
        #expect(short.refreshAt == start.addingTimeInterval(540))
    }

    @Test("the certificate assertion is a PS256 JWT with x5t#S256, aud = token URL, iss = sub = client, fresh jti, exp ≤ 10 min")
    func assertionStructure() async throws {
        let now = Date(timeIntervalSince1970: 1_750_000_000)
        let jti = UUID()
        let aud = "https://login.microsoftonline.com/tenant/oauth2/v2.0/token"
        let jwt = try await ClientAssertionBuilder().assertion(clientID: clientID, audience: aud, now: now, jti: jti, signer: DigestSigner()).value
        let parts = jwt.split(separator: ".").map(String.init)
        try #require(parts.count == 3)
        let headerBytes = try #require(Base64URL.decode(parts[0]))
        let header = try #require(JSONSerialization.jsonObject(with: Data(headerBytes)) as? [String: Any])
        #expect(header["alg"] as? String == "PS256")
        #expect(header["typ"] as? String == "JWT")
        #expect(header["x5t#S256"] as? String == "dGh1bWJwcmludA")
        let claimBytes = try #require(Base64URL.decode(parts[1]))
        let claims = try #require(JSONSerialization.jsonObject(with: Data(claimBytes)) as? [String: Any])
        #expect(claims["aud"] as? String == aud)
        #expect(claims["iss"] as? String == clientID)
        #expect(claims["sub"] as? String == clientID)
        #expect(claims["jti"] as? String == jti.uuidString.lowercased())
        #expect((claims["nbf"] as? NSNumber)?.intValue == 1_750_000_000)
        #expect((claims["iat"] as? NSNumber)?.intValue == 1_750_000_000)
        let exp = try #require((claims["exp"] as? NSNumber)?.intValue)
        #expect(exp > 1_750_000_000 && exp <= 1_750_000_600)
        #expect(Base64URL.decode(parts[2]) == SHA256.digest(Array((parts[0] + "." + parts[1]).utf8)))
        #expect(ClientAssertionBuilder(lifetime: 3600).lifetime == 600)
        #expect(!jwt.contains("=") && !jwt.contains("+") && !jwt.contains("/"))
    }

    private func provider(_ transport: ScriptedTransport, time: ManualClock, credential: CredentialMaterial = .secret(Secret("hunter2"))) -> EntraTokenProvider {
        EntraTokenProvider(clientID: clientID, credential: credential,
                           endpoints: GraphEndpoints(graphBaseURL: "https://graph.microsoft.com", authorityHost: "https://login.microsoftonline.com"),
                           transport: transport, time: time, logger: RecordingLogHandler().logger())
    }

    private static func tokenResponse(_ n: Int, expiresIn: Int = 3599) -> HTTPResponse {
        Fixture.json(200, #"{"token_type":"Bearer","expires_in":\#(expiresIn),"access_token":"tok-\#(n)"}"#)
    }

    @Test("the cache reuses a token per (tenant, client) until refresh-ahead, then fetches anew")
    func cacheRefreshAhead() async throws {
        let time = ManualClock()
        let transport = ScriptedTransport { _, index in Self.tokenResponse(index + 1, expiresIn: 3600) }
        let tokens = provider(transport, time: time)
        let key = TokenKey(tenantID: "t1", clientID: clientID)
        #expect(try await tokens.token(for: key).value == "tok-1")
        time.advance(3000)
        #expect(try await tokens.token(for: key).value == "tok-1")
        #expect(try await tokens.token(for: TokenKey(tenantID: "t2", clientID: clientID)).value == "tok-2")
        time.advance(301) // 3301 s: past 3600 - 300
        #expect(try await tokens.token(for: key).value == "tok-3")
        #expect(tokens.tokenRequestCount == 3)
        let request = try #require(transport.requests.first)
        #expect(request.method == "POST")
        #expect(request.url == "https://login.microsoftonline.com/t1/oauth2/v2.0/token")
        #expect(String(decoding: request.body ?? [], as: UTF8.self).contains("client_secret=hunter2"))
    }

    @Test("invalidating after a 401 drops that token once; a stale invalidation does not drop the new one")
    func invalidation() async throws {
        let time = ManualClock()
        let transport = ScriptedTransport { _, index in Self.tokenResponse(index + 1) }
        let tokens = provider(transport, time: time)
        let key = TokenKey(tenantID: "t", clientID: clientID)
        let first = try await tokens.token(for: key)
        tokens.invalidate(first, for: key)
        let second = try await tokens.token(for: key)
        #expect(second.value == "tok-2")
        tokens.invalidate(first, for: key)
        #expect(try await tokens.token(for: key).value == "tok-2")
    }

    @Test("concurrent callers for one key share one token request")
    func singleFlight() async throws {
        let transport = ScriptedTransport { _, index in Self.tokenResponse(index + 1) }
        let tokens = provider(transport, time: ManualClock())
        let key = TokenKey(tenantID: "t", clientID: clientID)
        let values = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<8 { group.addTask { try await tokens.token(for: key).value } }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(Set(values).count == 1)
        #expect(tokens.tokenRequestCount == 1)
    }

    @Test("the federated token file is re-read for every token request")
    func federatedReRead() async throws {
        let time = ManualClock()
        let transport = ScriptedTransport { _, index in Self.tokenResponse(index + 1, expiresIn: 600) }
        let tokens = provider(transport, time: time, credential: .federatedTokenFile(path: "/var/run/secrets/azure/tokens/azure-identity-token", reader: RotatingFile()))
        let key = TokenKey(tenantID: "t", clientID: clientID)
        _ = try await tokens.token(for: key)
        time.advance(600)
        _ = try await tokens.token(for: key)
        let bodies = transport.requests.map { String(decoding: $0.body ?? [], as: UTF8.self) }
        #expect(bodies[0].contains("client_assertion=federated-jwt-1&"))
        #expect(bodies[1].contains("client_assertion=federated-jwt-2&"))
        #expect(bodies[0].contains("client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"))
    }

    @Test("certificate credentials send a fresh signed assertion whose aud is the tenant's token URL")
    func certificateRequests() async throws {
        let transport = ScriptedTransport { _, index in Self.tokenResponse(index + 1) }
        let tokens = provider(transport, time: ManualClock(), credential: .certificate(DigestSigner()))
        _ = try await tokens.token(for: TokenKey(tenantID: "contoso.com", clientID: clientID))
        let body = String(decoding: try #require(transport.requests.first?.body), as: UTF8.self)
        let assertion = try #require(body.split(separator: "&").first { $0.hasPrefix("client_assertion=") }?.dropFirst("client_assertion=".count))
        let claims = try #require(Base64URL.decode(String(assertion.split(separator: ".")[1])))
        #expect(String(decoding: claims, as: UTF8.self).contains(#""aud":"https://login.microsoftonline.com/contoso.com/oauth2/v2.0/token""#))
    }

    @Test("a token-endpoint 400 is classified and not retried; a 503 is retried")
    func tokenErrors() async throws {
        let bad = ScriptedTransport(responses: [.success(Fixture.json(401, #"{"error":"invalid_client","error_codes":[7000222]}"#))])
        await #expect(throws: GraphError.self) {
            do { _ = try await provider(bad, time: ManualClock()).token(for: TokenKey(tenantID: "t", clientID: clientID)) } catch let error as GraphError {
                #expect(error.code == .expiredClientSecret)
                #expect(!error.description.contains("hunter2"))
                throw error
            }
        }
        #expect(bad.requests.count == 1)
        let flaky = ScriptedTransport(responses: [.success(Fixture.json(503, "")), .success(Self.tokenResponse(1))])
        let time = ManualClock()
        #expect(try await provider(flaky, time: time).token(for: TokenKey(tenantID: "t", clientID: clientID)).value == "tok-1")
        #expect(flaky.requests.count == 2)
    }
}
