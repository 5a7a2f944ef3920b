import Foundation
import GraphSimulator
import Testing

/// Access that breaks at run time and recovers, switched through `POST /_graphsim/tenants/{tid}/config`.
@Suite("Access changes at run time")
struct AccessChangesTests {
    static let appId = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
    static let assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

    /// One generated-size tenant whose app has a secret and the registered certificate.
    static func harness() throws -> SimulatorHarness {
        let certificate = try RegisteredCertificate(pem: TestCertificates.registeredCertificate)
        return SimulatorHarness { config in
            config.scenarioTenants = [ScenarioTenant(
                displayName: "Contoso", domains: TenantGenerator.domains(number: 1),
                spec: TenantSpec(users: 200, groups: 10, membersPerGroup: 5),
                apps: [AppRegistration(clientId: appId, displayName: "dirsync-test", secrets: ["s3cret"], certificates: [certificate])])]
        }
    }

    func configure(_ h: SimulatorHarness, _ json: String) {
        let response = h.control("POST", "tenants/\(h.tenantId)/config", json)
        #expect(response.status == 200, "\(response.text)")
    }

    func requestToken(_ h: SimulatorHarness, _ fields: [String: String] = ["client_secret": "s3cret"]) -> SimResponse {
        var all = ["grant_type": "client_credentials", "client_id": Self.appId, "scope": "https://graph.microsoft.com/.default"]
        for (k, v) in fields { all[k] = v }
        let body = all.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0.value)" }.joined(separator: "&")
        return h.send("POST", "/\(h.tenantId)/oauth2/v2.0/token", body: body)
    }

    func token(_ h: SimulatorHarness) throws -> String {
        let response = requestToken(h)
        try #require(response.status == 200, "\(response.text)")
        return try #require(JSONValue.parse(response.body)["access_token"]?.stringValue)
    }

    /// `error`, the first of `error_codes` and `error_description` of a token error.
    func failure(_ response: SimResponse) throws -> (error: String?, code: Int?, description: String) {
        let body = try JSONValue.parse(response.body)
        return (body["error"]?.stringValue, body["error_codes"]?.arrayValue?.first?.intValue, body["error_description"]?.stringValue ?? "")
    }

    func roles(_ token: String) throws -> [String]? {
        let claims = try #require(JWT(token)).claims
        return claims["roles"]?.arrayValue?.compactMap(\.stringValue)
    }

    func certificateAssertion(_ h: SimulatorHarness) throws -> String {
        try #require(JWT.clientAssertion(clientId: Self.appId, audience: "\(SimulatorHarness.base)/\(h.tenantId)/oauth2/v2.0/token",
                                         certificate: try RegisteredCertificate(pem: TestCertificates.registeredCertificate),
                                         privateKeyPEM: TestCertificates.registeredKey, now: h.clock.now))
    }

    @Test("revoked admin consent issues tokens without roles and Graph answers 403; tokens issued before keep their roles; consent recovers")
    func consentRevoked() throws {
        let h = try Self.harness()
        let before = try token(h)
        configure(h, #"{"consent":false}"#)
        let roleless = try token(h)
        #expect(try roles(roleless) == nil, "no roles claim without consent")
        let denied = h.get("/v1.0/users/delta", token: roleless)
        #expect(denied.status == 403)
        let error = try JSONValue.parse(denied.body)["error"]
        #expect(error?["code"] == .string("Authorization_RequestDenied"))
        #expect(error?["message"] == .string("Insufficient privileges to complete the operation."))
        #expect(error?["innerError"]?["request-id"] != nil && error?["innerError"]?["date"] != nil)
        #expect(h.get("/v1.0/users/delta", token: before).status == 200, "roles are fixed when the token is issued")
        _ = h.control("POST", "faults", #"{"kind":"tokenExpiry"}"#)
        #expect(h.get("/v1.0/users/delta", token: before).status == 401)

        configure(h, #"{"consent":true}"#)
        let recovered = try token(h)
        #expect(try roles(recovered)?.contains("User.Read.All") == true)
        #expect(h.get("/v1.0/users/delta", token: recovered).status == 200)
    }

    @Test("an app deleted from the tenant fails token requests with AADSTS700016; reinstating it or admin consent recovers")
    func appDeleted() throws {
        let h = try Self.harness()
        configure(h, #"{"appState":"deleted"}"#)
        let response = requestToken(h)
        #expect(response.status == 400)
        let (error, code, description) = try failure(response)
        #expect(error == "unauthorized_client" && code == 700016)
        #expect(description.hasPrefix("AADSTS700016: Application with identifier '\(Self.appId)' was not found in the directory"))
        configure(h, #"{"appState":"enabled"}"#)
        #expect(requestToken(h).status == 200)

        configure(h, #"{"appState":"deleted"}"#)
        let consent = h.send("GET", "/\(h.tenantId)/v2.0/adminconsent?client_id=\(Self.appId)")
        #expect(consent.status == 200)
        #expect(requestToken(h).status == 200, "admin consent installs the app again")
        let summary = try JSONValue.parse(h.control("GET", "tenants").body)
        #expect(summary["tenants"]?.arrayValue?.first?["apps"]?.arrayValue?.first?["state"] == .string("enabled"))
    }

    @Test("removing one application permission denies exactly the endpoints that need it, and granting it back recovers")
    func permissionRemoved() throws {
        let h = try Self.harness()
        configure(h, #"{"revokePermissions":["Directory.Read.All"]}"#)
        let narrowed = try token(h)
        #expect(try roles(narrowed)?.contains("Directory.Read.All") == false)
        #expect(h.get("/v1.0/users/delta", token: narrowed).status == 200, "User.Read.All still reads users")
        #expect(h.get("/v1.0/groups/delta", token: narrowed).status == 200, "GroupMember.Read.All still reads groups")
        #expect(h.get("/v1.0/organization", token: narrowed).status == 200, "User.Read.All still reads the organisation")
        for path in ["/v1.0/contacts/delta", "/v1.0/domains"] {
            let denied = h.get(path, token: narrowed)
            #expect(denied.status == 403, "\(path)")
            #expect(try JSONValue.parse(denied.body)["error"]?["code"] == .string("Authorization_RequestDenied"))
        }
        configure(h, #"{"grantPermissions":["Directory.Read.All"]}"#)
        let restored = try token(h)
        #expect(h.get("/v1.0/contacts/delta", token: restored).status == 200)
        #expect(h.get("/v1.0/domains", token: restored).status == 200)
    }

    @Test("a disabled app fails token requests with AADSTS7000112 unauthorized_client until it is enabled again")
    func appDisabled() throws {
        let h = try Self.harness()
        configure(h, #"{"appState":"disabled","clientId":"\#(Self.appId.uppercased())"}"#)
        let response = requestToken(h)
        #expect(response.status == 400)
        let (error, code, description) = try failure(response)
        #expect(error == "unauthorized_client" && code == 7000112)
        #expect(description.hasPrefix("AADSTS7000112: Application '\(Self.appId)'(dirsync-test) is disabled."))
        #expect(try JSONValue.parse(response.body)["error_uri"] == .string("https://login.microsoftonline.com/error?code=7000112"))
        configure(h, #"{"appState":"enabled"}"#)
        #expect(requestToken(h).status == 200)
    }

    @Test("an expired client secret is AADSTS7000222, an invalid one AADSTS7000215, and a valid secret recovers")
    func secretExpiredVersusInvalid() throws {
        let h = try Self.harness()
        configure(h, #"{"secretState":"expired"}"#)
        let expired = requestToken(h)
        #expect(expired.status == 401)
        let (error, code, description) = try failure(expired)
        #expect(error == "invalid_client" && code == 7000222)
        #expect(description.hasPrefix("AADSTS7000222: The provided client secret keys for app '\(Self.appId)' are expired."))
        #expect(try failure(requestToken(h, ["client_secret": "wrong"])).code == 7000215, "a wrong secret is invalid, expired or not")

        configure(h, #"{"secretState":"removed"}"#)
        let removed = requestToken(h)
        #expect(removed.status == 401)
        #expect(try failure(removed).error == "invalid_client" && (try failure(removed).code) == 7000215)
        #expect(try failure(removed).description.hasPrefix("AADSTS7000215: Invalid client secret provided."))

        configure(h, #"{"secretState":"valid"}"#)
        #expect(requestToken(h).status == 200)
    }

    @Test("an expired certificate is AADSTS700027 with '[Reason - The key used is expired.]', a removed one 'The key was not found'; valid recovers")
    func certificateExpired() throws {
        let h = try Self.harness()
        #expect(requestToken(h, ["client_assertion_type": Self.assertionType, "client_assertion": try certificateAssertion(h)]).status == 200)
        configure(h, #"{"certificateState":"expired"}"#)
        let expired = requestToken(h, ["client_assertion_type": Self.assertionType, "client_assertion": try certificateAssertion(h)])
        #expect(expired.status == 401)
        let (error, code, description) = try failure(expired)
        #expect(error == "invalid_client" && code == 700027)
        #expect(description.contains("[Reason - The key used is expired.]"))
        #expect(requestToken(h).status == 200, "the secret is unaffected")

        configure(h, #"{"certificateState":"removed"}"#)
        let removed = requestToken(h, ["client_assertion_type": Self.assertionType, "client_assertion": try certificateAssertion(h)])
        #expect(try failure(removed).code == 700027 && (try failure(removed).description).contains("[Reason - The key was not found.]"))

        configure(h, #"{"certificateState":"valid"}"#)
        #expect(requestToken(h, ["client_assertion_type": Self.assertionType, "client_assertion": try certificateAssertion(h)]).status == 200)
    }

    @Test("config refuses unknown keys, states and apps, and then changes nothing")
    func configValidation() throws {
        let h = try Self.harness()
        for body in [#"{"consent":false,"apState":"disabled"}"#, #"{"consent":false,"appState":"gone"}"#,
                     #"{"consent":false,"secretState":"stale"}"#, #"{"consent":false,"appState":"disabled","clientId":"nobody"}"#,
                     #"{"consent":"no"}"#] {
            #expect(h.control("POST", "tenants/\(h.tenantId)/config", body).status == 400, "\(body)")
        }
        #expect(try roles(try token(h))?.isEmpty == false, "consent is unchanged")
        let tenant = h.simulator.tenant(0)
        #expect(tenant.apps[0].state == .enabled && tenant.apps[0].secretState == .valid)
    }
}
