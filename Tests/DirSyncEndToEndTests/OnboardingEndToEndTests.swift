import DirSyncTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import PostgresStore
import Testing

@Suite("onboarding: consent-url, domains check and status end to end", .enabled(if: TestEnvironment.databaseTestsEnabled))
struct OnboardingEndToEndTests {
    private func status(_ h: SyncHarness, _ domain: String) async throws -> [String: Any] {
        let outcome = try await h.dirsync(["status", "--format", "json", "--domain", domain])
        #expect(outcome.exitCode == 0, "\(outcome.stderr)")
        let all = try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [[String: Any]])
        return try #require(all.first)
    }

    /// Runs `domains check` as JSON and returns the exit code, the single domain's result and the text form.
    private func check(_ h: SyncHarness, _ domain: String) async throws -> (code: Int32, result: [String: Any], text: String) {
        let json = try await h.dirsync(["domains", "check", domain, "--format", "json"])
        let text = try await h.dirsync(["domains", "check", domain])
        #expect(json.exitCode == text.exitCode)
        for output in [json.stdout, json.stderr, text.stdout, text.stderr] {
            #expect(!output.contains(GraphSimProcess.clientSecret), "the client secret leaked")
            #expect(!TokenShape.appears(in: output), "something token-shaped leaked: \(output.prefix(400))")
        }
        let results = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]], "\(json.stdout)\n\(json.stderr)")
        return (json.exitCode, try #require(results.first), text.stdout)
    }

    private func outcomes(_ result: [String: Any]) -> [String: String] {
        Dictionary(uniqueKeysWithValues: (result["checks"] as? [[String: Any]] ?? []).map { ($0["check"] as? String ?? "", $0["outcome"] as? String ?? "") })
    }

    @Test("a healthy tenant, one without consent, one lacking GroupMember.Read.All and an unverified domain each get the right lines, exit code and status")
    func fourTenants() async throws {
        try await SyncHarness.with(["--tenants", "4", "--users", "30", "--groups", "4", "--seed", "31"]) { h in
            let tenants = try await h.sim.tenants()
            let healthy = "tenant1-verified.example", noConsent = "tenant2-verified.example"
            let partial = "tenant3-verified.example", unverified = "tenant4-unverified.example"
            try await h.onboard([(healthy, tenants[0].id), (noConsent, tenants[1].id), (partial, tenants[2].id), (unverified, tenants[3].id)])
            try await h.sim.request("POST", "/_graphsim/tenants/\(tenants[1].id.uuidString.lowercased())/config", json: ["consent": false])
            try await h.sim.request("POST", "/_graphsim/tenants/\(tenants[2].id.uuidString.lowercased())/config",
                                    json: ["permissions": ["User.Read.All", "Group.Read.All", "Directory.Read.All"]])
            let before = try await h.rowVersions()

            let good = try await check(h, healthy)
            #expect(good.code == 0, "\(good.text)")
            #expect(good.result["ok"] as? Bool == true && good.result["recorded"] as? Bool == true)
            #expect(outcomes(good.result).values.allSatisfy { $0 == "passed" }, "\(good.text)")
            #expect(good.text.split(separator: "\n").filter { $0.hasPrefix("  ✓ ") }.count == 8, "\(good.text)")

            let consent = try await check(h, noConsent)
            #expect(consent.code == 1)
            #expect(consent.result["consent_missing"] as? Bool == true)
            #expect(outcomes(consent.result)["consent"] == "failed")
            let consentLine = try #require(consent.text.split(separator: "\n").first { $0.contains("✗ consent") })
            #expect(consentLine.contains("/v2.0/adminconsent?client_id=\(GraphSimProcess.clientID)"), "\(consentLine)")

            let lacking = try await check(h, partial)
            #expect(lacking.code == 1)
            #expect(lacking.result["missing_permissions"] as? [String] == ["GroupMember.Read.All"])
            #expect(outcomes(lacking.result)["GroupMember.Read.All"] == "failed" && outcomes(lacking.result)["Group.Read.All"] == "passed")
            #expect(lacking.text.contains("✗ GroupMember.Read.All"))

            let notVerified = try await check(h, unverified)
            #expect(notVerified.code == 1)
            #expect(notVerified.result["domain_verified"] as? Bool == false)
            #expect(outcomes(notVerified.result)["domain"] == "failed")
            #expect(notVerified.text.contains("Domain names"))

            #expect(try await h.rowVersions() == before, "domains check must write no directory rows and no runs")

            let statuses = [
                (healthy, "not synced yet: the onboarding check passed"), (noConsent, "awaiting consent"),
                (partial, "permission missing: GroupMember.Read.All"), (unverified, "domain not verified"),
            ]
            for (domain, prefix) in statuses {
                let entry = try await status(h, domain)
                #expect(entry["state"] as? String == "never_synced")
                #expect((entry["message"] as? String ?? "").hasPrefix(prefix), "\(domain): \(entry["message"] ?? "nil")")
                // The check is also a field of its own, for dashboards.
                let check = try #require(entry["check"] as? [String: Any], "\(domain): status JSON lacks the check")
                #expect(check["ok"] as? Bool == (domain == healthy))
                #expect(check["checked_at"] is String)
            }
            let partialCheck = try await status(h, partial)["check"] as? [String: Any]
            #expect(partialCheck?["missing_permissions"] as? [String] == ["GroupMember.Read.All"])
            #expect(try await status(h, noConsent)["check"].flatMap { ($0 as? [String: Any])?["consent_missing"] as? Bool } == true)

            // The healthy domain's first run supersedes its check; what is left to say is the tenant's other mail domain.
            try await h.run(["--domain", healthy])
            let synced = try await status(h, healthy)
            #expect(synced["state"] as? String == "succeeded")
            #expect((synced["message"] as? String)?.contains("verified but not onboarded") == true, "\(synced["message"] ?? "")")
            #expect((synced["unonboarded_email_domains"] as? [String])?.isEmpty == false)
        }
    }

    @Test("the rehearsal: consent-url, the admin's grant, then check passes and status stops waiting")
    func rehearsal() async throws {
        try await SyncHarness.with(["--users", "20", "--groups", "3", "--seed", "32"]) { h in
            let tenant = try await h.sim.tenants()[0].id
            let domain = "tenant1-verified.example"
            try await h.onboard([(domain, tenant)])
            try await h.sim.request("POST", "/_graphsim/tenants/\(tenant.uuidString.lowercased())/config", json: ["consent": false])
            #expect(try await check(h, domain).code == 1)
            #expect(try await h.dirsync(["domains", "check", domain]).stdout.contains("recorded: dirsync status shows \"awaiting consent\""))

            let outcome = try await h.dirsync(["domains", "consent-url", domain, "--format", "json"])
            #expect(outcome.exitCode == 0, "\(outcome.stderr)")
            let link = try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
            let url = try #require(link["url"] as? String)
            let state = try #require(link["state"] as? String)
            let (data, _) = try await URLSession.shared.data(from: try #require(URL(string: url)))
            let granted = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            #expect(granted["admin_consent"] as? String == "True")
            #expect(granted["tenant"] as? String == tenant.uuidString.lowercased())
            #expect(granted["state"] as? String == state)

            let after = try await check(h, domain)
            #expect(after.code == 0, "\(after.text)")

            // A permission revoked later is restored by granting consent again through the same link.
            try await h.sim.request("POST", "/_graphsim/tenants/\(tenant.uuidString.lowercased())/config",
                                    json: ["permissions": ["User.Read.All", "Group.Read.All", "Directory.Read.All"]])
            let partial = try await check(h, domain)
            #expect(partial.code == 1 && partial.text.contains("recorded: dirsync status shows \"permission missing: GroupMember.Read.All\""), "\(partial.text)")
            _ = try await URLSession.shared.data(from: try #require(URL(string: url)))
            #expect(try await check(h, domain).code == 0)
            #expect((try await status(h, domain)["message"] as? String ?? "").hasPrefix("not synced yet: the onboarding check passed"))
        }
    }

    @Test("consent-url is a valid URL carrying client id, scope and state, for the public and a national cloud; the text lists the permissions")
    func consentURL() async throws {
        try await SyncHarness.with(["--seed", "33", "--users", "5", "--groups", "1"]) { h in
            let tenant = try await h.sim.tenants()[0].id.uuidString.lowercased()
            let noOverrides: [String: String?] = ["AZURE_AUTHORITY_HOST": nil, "DIRSYNC_GRAPH_URL": nil, "DATABASE_URL": nil]
            for (cloud, host, scope) in [("global", "login.microsoftonline.com", "https://graph.microsoft.com/.default"),
                                         ("usgovernment", "login.microsoftonline.us", "https://graph.microsoft.us/.default"),
                                         ("china", "login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn/.default")] {
                let outcome = try await h.dirsync(["domains", "consent-url", "contoso.com", "--tenant-id", tenant, "--cloud", cloud,
                                                   "--redirect-uri", "https://dash.example.com/onboarded", "--format", "json"], extraEnvironment: noOverrides)
                #expect(outcome.exitCode == 0, "\(outcome.stderr)")
                let json = try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
                let components = try #require(URLComponents(string: json["url"] as? String ?? ""))
                let query = Dictionary(uniqueKeysWithValues: (components.queryItems ?? []).map { ($0.name, $0.value ?? "") })
                #expect(components.scheme == "https" && components.host == host)
                #expect(components.path == "/\(tenant)/v2.0/adminconsent")
                #expect(query["client_id"] == GraphSimProcess.clientID && query["scope"] == scope)
                #expect(query["redirect_uri"] == "https://dash.example.com/onboarded")
                #expect((query["state"] ?? "").count >= 40 && query["state"] == json["state"] as? String)
                #expect((json["permissions"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["User.Read.All", "Group.Read.All", "GroupMember.Read.All", "Directory.Read.All"])
            }
            let text = try await h.dirsync(["domains", "consent-url", "tenant1-verified.example"])
            #expect(text.exitCode == 0, "\(text.stderr)")
            #expect(text.stdout.contains("/\(tenant)/v2.0/adminconsent?client_id="), "the tenant is discovered from the domain")
            for permission in ["User.Read.All", "Group.Read.All", "GroupMember.Read.All", "Directory.Read.All"] { #expect(text.stdout.contains(permission)) }
            #expect(!text.stdout.contains(GraphSimProcess.clientSecret))

            #expect(try await h.dirsync(["domains", "consent-url", "contoso.com", "--redirect-uri", "http://dash.example.com/x"]).exitCode == 2)
            #expect(try await h.dirsync(["domains", "consent-url", "nowhere.example"]).exitCode == 1)
        }
    }
}
