import DirSyncCore
import Foundation
import Testing

@Suite("Link guard and round loop guard")
struct LinkGuardTests {
    private var guardGlobal: LinkGuard {
        get throws(GraphError) { try LinkGuard(graphBaseURL: "https://graph.microsoft.com") }
    }

    @Test("links on the configured origin pass, whatever the host's case or an explicit default port", arguments: [
        "https://graph.microsoft.com/v1.0/users/delta?$skiptoken=abc",
        "https://GRAPH.Microsoft.COM/v1.0/users/delta?$deltatoken=abc",
        "https://graph.microsoft.com:443/v1.0/groups/delta",
        "HTTPS://graph.microsoft.com/v1.0/x",
        "https://graph.microsoft.com./v1.0/x",
    ])
    func allowed(link: String) throws {
        try guardGlobal.check(link)
    }

    @Test("foreign schemes, hosts, ports and user-info tricks are refused", arguments: [
        "http://graph.microsoft.com/v1.0/users/delta",
        "https://graph.microsoft.com:8443/v1.0/users/delta",
        "https://evil.example/v1.0/users/delta?$skiptoken=x",
        "https://graph.microsoft.com@evil.example/",
        "https://graph.microsoft.com:443@evil.example/v1.0",
        "https://user:pass@graph.microsoft.com/v1.0",
        "https://graph.microsoft.com.evil.example/v1.0",
        "https://evil.example\\@graph.microsoft.com/",
        "//graph.microsoft.com/v1.0/x",
        "/v1.0/users/delta",
        "ftp://graph.microsoft.com/x",
        "",
    ])
    func refused(link: String) {
        #expect(throws: GraphError.self) { try guardGlobal.check(link) }
    }

    @Test("the refusal names the foreign host but not the link's query")
    func refusalMessage() {
        do {
            try guardGlobal.check("https://evil.example/v1.0/users/delta?$skiptoken=STATE")
            Issue.record("expected a refusal")
        } catch {
            #expect(error.code == .foreignLink)
            #expect(error.description.contains("evil.example"))
            #expect(!error.description.contains("STATE"))
        }
    }

    @Test("loopback simulator origins with ports compare exactly; IPv6 brackets are normalised")
    func loopbackOrigins() throws {
        let local = try LinkGuard(graphBaseURL: "http://127.0.0.1:8080/")
        try local.check("http://127.0.0.1:8080/v1.0/users/delta?$skiptoken=1")
        #expect(throws: GraphError.self) { try local.check("http://127.0.0.1:8081/v1.0/users/delta") }
        #expect(throws: GraphError.self) { try local.check("https://127.0.0.1:8080/v1.0/users/delta") }
        let v6 = try LinkGuard(graphBaseURL: "http://[::1]:9000")
        try v6.check("http://[::1]:9000/v1.0/x")
        #expect(URLOrigin("http://[::1]:9000/x")?.host == "::1")
        #expect(throws: GraphError.self) { try LinkGuard(graphBaseURL: "graph.microsoft.com") }
    }

    @Test("the round guard refuses a link seen twice and a round past its page budget")
    func roundGuard() throws {
        var round = DeltaRoundGuard(maxPages: 3)
        try round.visit("https://graph.microsoft.com/v1.0/users/delta?$skiptoken=1")
        try round.visit("https://graph.microsoft.com/v1.0/users/delta?$skiptoken=2")
        #expect(throws: GraphError.self) { try round.visit("https://graph.microsoft.com/v1.0/users/delta?$skiptoken=1") }
        try round.visit("https://graph.microsoft.com/v1.0/users/delta?$skiptoken=3")
        #expect(round.pageCount == 3)
        do {
            try round.visit("https://graph.microsoft.com/v1.0/users/delta?$skiptoken=4")
            Issue.record("expected the page budget to run out")
        } catch {
            #expect(error.code == .linkLoop)
        }
        #expect(DeltaRoundGuard().maxPages == 1_000_000)
    }

    @Test("endpoints: $select lists, counts, encoded domain, token and OIDC URLs, national clouds")
    func endpoints() {
        let endpoints = GraphEndpoints(graphBaseURL: "https://graph.microsoft.com/", authorityHost: "https://login.microsoftonline.com/")
        #expect(endpoints.initialDeltaURL(.users) == "https://graph.microsoft.com/v1.0/users/delta?$select=id,userPrincipalName,displayName,givenName,surname,mail,jobTitle,department,accountEnabled,userType,proxyAddresses,employeeId,employeeType,companyName,officeLocation,otherMails,createdDateTime,creationType,externalUserState,onPremisesSyncEnabled,onPremisesImmutableId,onPremisesSamAccountName,onPremisesSecurityIdentifier,manager")
        #expect(endpoints.initialDeltaURL(.groups) == "https://graph.microsoft.com/v1.0/groups/delta?$select=id,displayName,description,mail,mailNickname,mailEnabled,securityEnabled,groupTypes,proxyAddresses,visibility,createdDateTime,onPremisesSyncEnabled,members")
        #expect(endpoints.countURL(.groups) == "https://graph.microsoft.com/v1.0/groups/$count")
        #expect(endpoints.domainURL("Contoso.COM") == "https://graph.microsoft.com/v1.0/domains/contoso.com")
        #expect(endpoints.domainURL("a/b?c#d") == "https://graph.microsoft.com/v1.0/domains/a%2Fb%3Fc%23d")
        #expect(endpoints.domainURL("bücher.de") == "https://graph.microsoft.com/v1.0/domains/b%C3%BCcher.de")
        #expect(endpoints.organizationURL == "https://graph.microsoft.com/v1.0/organization")
        #expect(endpoints.tokenURL(tenant: "contoso.onmicrosoft.com") == "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token")
        #expect(endpoints.openIDConfigurationURL(domain: "Contoso.com") == "https://login.microsoftonline.com/contoso.com/v2.0/.well-known/openid-configuration")
        #expect(endpoints.defaultScope == "https://graph.microsoft.com/.default")
        #expect(GraphCloud.usGovernment.defaultScope == "https://graph.microsoft.us/.default")
        #expect(GraphCloud.usGovernmentDoD.graphBaseURL == "https://dod-graph.microsoft.us")
        #expect(GraphCloud.usGovernmentDoD.authorityHost == "https://login.microsoftonline.us")
        #expect(GraphCloud.china.defaultScope == "https://microsoftgraph.chinacloudapi.cn/.default")
        #expect(GraphCloud(name: "GCC-High") == .usGovernment)
        #expect(GraphCloud(name: "mars") == nil)
    }
}
