import Foundation
import GraphSimulator
import Testing

@Suite("Identity platform")
struct IdentityPlatformTests {
    static let appId = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"

    /// One tenant whose app has a secret, the registered certificate and a federated credential.
    static func harness(consent: Bool = true, permissions: [String]? = nil) throws -> SimulatorHarness {
        let certificate = try RegisteredCertificate(pem: TestCertificates.registeredCertificate)
        return SimulatorHarness { config in
            var settings = TenantSettings()
            settings.consent = consent
            if let permissions { settings.permissions = Set(permissions) }
            config.scenarioTenants = [ScenarioTenant(
                displayName: "Contoso", domains: TenantGenerator.domains(number: 1),
                spec: TenantSpec(users: 20, groups: 3, membersPerGroup: 3),
                apps: [AppRegistration(clientId: appId, secrets: ["s3cret"], certificates: [certificate],
                                       federated: [FederatedCredential(issuer: "https://oidc.example/cluster/", subject: "system:serviceaccount:sync:dirsync")])],
                settings: settings)]
        }
    }

    func form(_ fields: [String: String]) -> String {
        fields.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0.value)" }.joined(separator: "&")
    }

    func requestToken(_ h: SimulatorHarness, tenant: String? = nil, _ fields: [String: String]) -> SimResponse {
        var all = ["grant_type": "client_credentials", "client_id": Self.appId, "scope": "https://graph.microsoft.com/.default"]
        for (k, v) in fields { all[k] = v }
        return h.send("POST", "/\(tenant ?? h.tenantId)/oauth2/v2.0/token", body: form(all))
    }

    func code(_ response: SimResponse) -> Int? {
        (try? JSONValue.parse(response.body))?["error_codes"]?.arrayValue?.first?.intValue
    }

    func assertion(_ h: SimulatorHarness, alg: String = "PS256", key: String = TestCertificates.registeredKey,
                   certificate: String = TestCertificates.registeredCertificate, audience: String? = nil,
                   lifetime: Double = 600, jti: String? = nil) throws -> String {
        try #require(JWT.clientAssertion(clientId: Self.appId, audience: audience ?? "\(SimulatorHarness.base)/\(h.tenantId)/oauth2/v2.0/token",
                                         certificate: try RegisteredCertificate(pem: certificate), privateKeyPEM: key,
                                         algorithm: alg, now: h.clock.now, lifetime: lifetime, jti: jti))
    }

    static let assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

    @Test("client secret yields an opaque bearer token with expires_in; a wrong secret is AADSTS7000215")
    func clientSecret() throws {
        let h = try Self.harness()
        let ok = requestToken(h, ["client_secret": "s3cret"])
        #expect(ok.status == 200)
        let body = try JSONValue.parse(ok.body)
        #expect(body["token_type"] == .string("Bearer") && body["expires_in"]?.intValue == 3599)
        #expect(body["access_token"]?.stringValue?.contains("s3cret") == false)
        let bad = requestToken(h, ["client_secret": "wrong"])
        #expect(bad.status == 401 && code(bad) == 7000215)
        #expect(try JSONValue.parse(bad.body)["error"] == .string("invalid_client"))
    }

    @Test("unknown tenant is AADSTS90002, unknown app AADSTS700016, bad scope AADSTS70011, no credential AADSTS7000218")
    func tokenErrors() throws {
        let h = try Self.harness()
        #expect(code(requestToken(h, tenant: "nobody.example", ["client_secret": "s3cret"])) == 90002)
        #expect(code(requestToken(h, tenant: "tenant1-unverified.example", ["client_secret": "s3cret"])) == 90002)
        #expect(requestToken(h, tenant: "tenant1-verified.example", ["client_secret": "s3cret"]).status == 200)
        #expect(code(requestToken(h, ["client_id": "99999999-0000-0000-0000-000000000000", "client_secret": "s3cret"])) == 700016)
        #expect(code(requestToken(h, ["scope": "User.Read", "client_secret": "s3cret"])) == 70011)
        #expect(requestToken(h, ["scope": "\(SimulatorHarness.base)/.default", "client_secret": "s3cret"]).status == 200)
        #expect(code(requestToken(h, [:])) == 7000218)
    }

    @Test("certificate assertions signed PS256 with x5t#S256 or RS256 with x5t are accepted and verified")
    func certificateAssertion() throws {
        let h = try Self.harness()
        for alg in ["PS256", "RS256"] {
            let response = requestToken(h, ["client_assertion_type": Self.assertionType, "client_assertion": try assertion(h, alg: alg)])
            #expect(response.status == 200, "\(alg): \(response.text)")
        }
    }

    @Test("a certificate assertion with an unregistered certificate or a bad signature is AADSTS700027")
    func badCertificate() throws {
        let h = try Self.harness()
        let stranger = try assertion(h, key: TestCertificates.strangerKey, certificate: TestCertificates.strangerCertificate)
        #expect(code(requestToken(h, ["client_assertion_type": Self.assertionType, "client_assertion": stranger])) == 700027)
        // Registered thumbprint, but signed with the other key.
        let forged = try assertion(h, key: TestCertificates.strangerKey)
        #expect(code(requestToken(h, ["client_assertion_type": Self.assertionType, "client_assertion": forged])) == 700027)
    }

    @Test("assertion claims are checked: audience, expiry and jti replay")
    func assertionClaims() throws {
        let h = try Self.harness()
        let wrongAudience = try assertion(h, audience: "https://elsewhere.example/token")
        #expect(requestToken(h, ["client_assertion_type": Self.assertionType, "client_assertion": wrongAudience]).status == 400)
        let expired = try assertion(h, lifetime: -10)
        #expect(code(requestToken(h, ["client_assertion_type": Self.assertionType, "client_assertion": expired])) == 700024)
        let once = try assertion(h, jti: "fixed-jti")
        #expect(requestToken(h, ["client_assertion_type": Self.assertionType, "client_assertion": once]).status == 200)
        #expect(code(requestToken(h, ["client_assertion_type": Self.assertionType, "client_assertion": once])) == 50027)
    }

    @Test("a federated assertion matching issuer, subject and audience is accepted; a mismatch is AADSTS70021")
    func federatedAssertion() throws {
        let h = try Self.harness()
        let good = JWT.unsignedToken(claims: ["iss": "https://oidc.example/cluster/", "sub": "system:serviceaccount:sync:dirsync",
                                              "aud": "api://AzureADTokenExchange"], expires: h.clock.now + 3600)
        #expect(requestToken(h, ["client_assertion_type": Self.assertionType, "client_assertion": good]).status == 200)
        let noSlash = JWT.unsignedToken(claims: ["iss": "https://oidc.example/cluster", "sub": "system:serviceaccount:sync:dirsync",
                                                 "aud": "api://AzureADTokenExchange"], expires: h.clock.now + 3600)
        #expect(code(requestToken(h, ["client_assertion_type": Self.assertionType, "client_assertion": noSlash])) == 70021)
    }

    @Test("tokens expire after the configured lifetime and Graph then answers 401 InvalidAuthenticationToken")
    func tokenLifetime() throws {
        let h = try Self.harness()
        let token = try #require(try JSONValue.parse(requestToken(h, ["client_secret": "s3cret"]).body)["access_token"]?.stringValue)
        #expect(h.get("/v1.0/organization", token: token).status == 200)
        #expect(h.get("/v1.0/organization", token: "garbage").status == 401)
        #expect(h.send("GET", "/v1.0/organization").status == 401)
        h.clock.advance(3600)
        let expired = h.get("/v1.0/organization", token: token)
        #expect(expired.status == 401)
        #expect(try JSONValue.parse(expired.body)["error"]?["code"] == .string("InvalidAuthenticationToken"))
    }

    @Test("without consent the token has no roles and Graph answers 403 Authorization_RequestDenied")
    func noConsent() throws {
        let h = try Self.harness(consent: false)
        let token = try #require(try JSONValue.parse(requestToken(h, ["client_secret": "s3cret"]).body)["access_token"]?.stringValue)
        let denied = h.get("/v1.0/users/delta", token: token)
        #expect(denied.status == 403)
        #expect(try JSONValue.parse(denied.body)["error"]?["code"] == .string("Authorization_RequestDenied"))
    }

    @Test("missing User.Read.All denies users delta, missing group permissions deny groups delta, domains need Domain.Read.All")
    func permissionsPerEndpoint() throws {
        let h = try Self.harness(permissions: ["GroupMember.Read.All"])
        let token = try #require(try JSONValue.parse(requestToken(h, ["client_secret": "s3cret"]).body)["access_token"]?.stringValue)
        #expect(h.get("/v1.0/users/delta", token: token).status == 403)
        #expect(h.get("/v1.0/groups/delta", token: token).status == 200)
        #expect(h.get("/v1.0/domains/tenant1-verified.example", token: token).status == 403)
        _ = h.control("POST", "tenants/\(h.tenantId)/config", "{\"permissions\":[\"User.Read.All\",\"Domain.Read.All\"]}")
        let fresh = try #require(try JSONValue.parse(requestToken(h, ["client_secret": "s3cret"]).body)["access_token"]?.stringValue)
        #expect(h.get("/v1.0/users/delta", token: fresh).status == 200)
        #expect(h.get("/v1.0/groups/delta", token: fresh).status == 403)
        let domain = try JSONValue.parse(h.get("/v1.0/domains/TENANT1-unverified.example", token: fresh).body)
        #expect(domain["isVerified"] == .bool(false))
        #expect(h.get("/v1.0/domains/other.example", token: fresh).status == 404)
    }

    @Test("OpenID configuration resolves a verified domain to the tenant id")
    func openIDConfiguration() throws {
        let h = try Self.harness()
        let config = try JSONValue.parse(h.send("GET", "/tenant1-verified.example/v2.0/.well-known/openid-configuration").body)
        #expect(config["issuer"] == .string("\(SimulatorHarness.base)/\(h.tenantId)/v2.0"))
        #expect(config["token_endpoint"] == .string("\(SimulatorHarness.base)/\(h.tenantId)/oauth2/v2.0/token"))
        #expect(h.send("GET", "/unknown.example/v2.0/.well-known/openid-configuration").status == 400)
    }
}
