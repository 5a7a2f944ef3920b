import DirSyncCore
import Foundation
import Testing

@Suite("admin-consent link")
struct AdminConsentLinkTests {
    private func query(_ url: String) throws -> [String: String] {
        let components = try #require(URLComponents(string: url))
        return Dictionary(uniqueKeysWithValues: (components.queryItems ?? []).map { ($0.name, $0.value ?? "") })
    }

    @Test("public cloud: v2.0 adminconsent on login.microsoftonline.com with client id, Graph .default scope, redirect and state")
    func publicCloud() throws {
        let link = AdminConsentLink(clientID: "11111111-2222-3333-4444-555555555555", tenant: "72f988bf-86f1-41af-91ab-2d7cd011db47",
                                    endpoints: GraphEndpoints(cloud: .global), redirectURI: "https://dash.example.com/done?x=1&y=2", state: "s-1_2")
        let components = try #require(URLComponents(string: link.url))
        #expect(components.scheme == "https" && components.host == "login.microsoftonline.com")
        #expect(components.path == "/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0/adminconsent")
        let items = try query(link.url)
        #expect(items == ["client_id": "11111111-2222-3333-4444-555555555555", "scope": "https://graph.microsoft.com/.default",
                          "redirect_uri": "https://dash.example.com/done?x=1&y=2", "state": "s-1_2"])
        #expect(!link.url.contains("x=1&y=2"), "the redirect URI's own query is percent-encoded")
    }

    @Test("national clouds use their own authority and Graph scope", arguments: [
        (GraphCloud.usGovernment, "login.microsoftonline.us", "https://graph.microsoft.us/.default"),
        (.usGovernmentDoD, "login.microsoftonline.us", "https://dod-graph.microsoft.us/.default"),
        (.china, "login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn/.default"),
    ])
    func nationalClouds(cloud: GraphCloud, host: String, scope: String) throws {
        let link = AdminConsentLink(clientID: "11111111-2222-3333-4444-555555555555", tenant: "contoso.com", endpoints: GraphEndpoints(cloud: cloud), state: "abc")
        #expect(URLComponents(string: link.url)?.host == host)
        #expect(try query(link.url)["scope"] == scope)
        #expect(try query(link.url)["redirect_uri"] == nil, "without --redirect-uri Entra uses the registered one")
    }

    @Test("state is random, URL-safe and long enough to be unguessable")
    func state() {
        let states = (0..<50).map { _ in AdminConsentLink.randomState() }
        #expect(Set(states).count == 50)
        #expect(states.allSatisfy { $0.count >= 40 && $0.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" } })
    }

    @Test("redirect URIs: https anywhere, http only for loopback, nothing relative or with a fragment")
    func redirectValidation() {
        for good in ["https://dash.example.com/consent", "http://localhost:8080/cb", "http://127.0.0.1/cb", "http://[::1]:9/cb"] {
            #expect((try? AdminConsentLink.validateRedirectURI(good)) == good, "\(good)")
        }
        for bad in ["http://dash.example.com/cb", "/relative", "dash.example.com", "ftp://x.example/", "https://x.example/#frag", "javascript:alert(1)"] {
            #expect(throws: AdminConsentLink.InvalidRedirectURI.self, "\(bad)") { try AdminConsentLink.validateRedirectURI(bad) }
        }
    }
}
