import GraphSimulator
import Testing

@Suite("Domains")
struct DomainsTests {
    @Test("GET /domains lists every domain with id, isVerified, isDefault, isInitial, authenticationType and supportedServices")
    func listShape() throws {
        let h = SimulatorHarness()
        let response = h.get("/v1.0/domains", token: try h.token())
        #expect(response.status == 200)
        let body = try JSONValue.parse(response.body)
        #expect(body["@odata.context"] == .string(SimulatorHarness.base + "/v1.0/$metadata#domains"))
        let domains = try #require(body["value"]?.arrayValue)
        func domain(_ name: String) throws -> JSONValue { try #require(domains.first { $0["id"]?.stringValue == name }) }
        #expect(domains.count == 4)
        for entry in domains {
            for key in ["id", "isVerified", "isDefault", "isInitial", "authenticationType", "supportedServices"] {
                #expect(entry[key] != nil, "\(key) missing in \(entry)")
            }
        }
        let main = try domain("tenant1-verified.example")
        #expect(main["isVerified"] == .bool(true) && main["isDefault"] == .bool(true) && main["isInitial"] == .bool(false))
        #expect(main["supportedServices"] == .array([.string("Email"), .string("OfficeCommunicationsOnline")]))
        #expect(main["authenticationType"] == .string("Managed"))
        let initial = try domain("tenant1.onmicrosoft.com")
        #expect(initial["isInitial"] == .bool(true) && initial["supportedServices"] == .array([.string("Email")]))
        let unverified = try domain("tenant1-unverified.example")
        #expect(unverified["isVerified"] == .bool(false) && unverified["supportedServices"] == .array([]))
        let mail = try domain("tenant1-mail.example")
        #expect(mail["isVerified"] == .bool(true) && mail["isDefault"] == .bool(false) && mail["supportedServices"] == .array([.string("Email")]),
                "a verified email domain an operator may not have onboarded")
        let one = try JSONValue.parse(h.get("/v1.0/domains/tenant1-mail.example", token: try h.token()).body)
        #expect(one["supportedServices"] == .array([.string("Email")]) && one["@odata.context"] != nil)
    }

    @Test("domains need Domain.Read.All or Directory.Read.All: without either Graph answers 403")
    func permission() throws {
        let h = SimulatorHarness()
        _ = h.control("POST", "tenants/\(h.tenantId)/config", #"{"permissions":["User.Read.All","Group.Read.All"]}"#)
        let denied = h.get("/v1.0/domains", token: try h.token())
        #expect(denied.status == 403)
        #expect(try JSONValue.parse(denied.body)["error"]?["code"] == .string("Authorization_RequestDenied"))
        _ = h.control("POST", "tenants/\(h.tenantId)/config", #"{"permissions":["Domain.Read.All"]}"#)
        #expect(h.get("/v1.0/domains", token: try h.token()).status == 200)
    }

    @Test("a scenario gives supportedServices and authenticationType per domain; the organisation's capabilities follow them")
    func scenarioServices() throws {
        var scenario = SimulatorConfiguration()
        try scenario.apply(scenario: JSONValue.parse(Array("""
            {"tenants": [{"users": 5, "groups": 1, "domains": [
              {"name": "contoso.example", "verified": true, "default": true, "supportedServices": ["Email", "Intune"]},
              {"name": "contoso.onmicrosoft.com", "verified": true, "initial": true},
              {"name": "fabrikam.example", "verified": true, "authenticationType": "Federated", "supportedServices": []},
              {"name": "pending.example", "verified": false}]}]}
            """.utf8)))
        let h = SimulatorHarness { $0.scenarioTenants = scenario.scenarioTenants }
        let token = try h.token()
        let domains = try #require(JSONValue.parse(h.get("/v1.0/domains", token: token).body)["value"]?.arrayValue)
        func services(_ name: String) -> JSONValue? { domains.first { $0["id"]?.stringValue == name }?["supportedServices"] }
        #expect(services("contoso.example") == .array([.string("Email"), .string("Intune")]))
        #expect(services("contoso.onmicrosoft.com") == .array([.string("Email")]), "a verified domain without services given: Email")
        #expect(services("fabrikam.example") == .array([]))
        #expect(services("pending.example") == .array([]))
        #expect(domains.first { $0["id"]?.stringValue == "fabrikam.example" }?["authenticationType"] == .string("Federated"))
        let organization = try JSONValue.parse(h.get("/v1.0/organization", token: token).body)
        let verified = try #require(organization["value"]?.arrayValue?.first?["verifiedDomains"]?.arrayValue)
        #expect(verified.first { $0["name"]?.stringValue == "contoso.example" }?["capabilities"] == .string("Email, Intune"))
    }

    @Test("the control API verifies a domain and sets its services; the truth lists domains with their services")
    func controlAndTruth() throws {
        let h = SimulatorHarness()
        let changed = h.control("POST", "tenants/\(h.tenantId)/config",
                                #"{"verifiedDomains":[{"name":"tenant1-unverified.example","verified":true,"supportedServices":["Email"]}]}"#)
        #expect(changed.status == 200)
        let truth = try JSONValue.parse(h.control("GET", "tenants/0/truth").body)
        let domains = try #require(truth["domains"]?.arrayValue)
        #expect(domains.count == 4)
        let entry = try #require(domains.first { $0["id"]?.stringValue == "tenant1-unverified.example" })
        #expect(entry.objectValue?.keys.sorted() == ["id", "isDefault", "isInitial", "isVerified", "supportedServices"])
        #expect(entry["isVerified"] == .bool(true) && entry["supportedServices"] == .array([.string("Email")]))
    }
}
