import DirSyncTestSupport
import Foundation
import PostgresStore
import Testing

/// Issue 8, part 5: secrets and tokens stay confined, end to end through the built binary.
@Suite("secrets and token confinement", .enabled(if: ReliabilityPass.enabled))
struct ReliabilitySecretScanTests {
    @Test("a full sync with faults and trace logging leaks neither the client secret nor any issued token into logs, output, status or run records")
    func noSecretAnywhere() async throws {
        try await SyncHarness.with(["--tenants", "2", "--users", "200", "--groups", "15", "--seed", "95", "--page-size", "30", "--token-lifetime", "120"]) { h in
            let tenants = try await h.sim.tenants().map(\.id)
            try await h.onboard([("tenant1-verified.example", tenants[0]), ("tenant2-verified.example", tenants[1])])
            try await h.sim.configure(tenant: tenants[1], ["permissions": ["User.Read.All"]])
            try await h.sim.addFault(["faults": [
                ["kind": "throttle", "retryAfter": "0.1", "count": 3, "pathPrefix": "/v1.0/"],
                ["kind": "serverError", "status": 503, "count": 2, "pathPrefix": "/v1.0/"],
                ["kind": "tokenExpiry", "count": 2, "pathPrefix": "/v1.0/"],
                ["kind": "truncatedBody", "count": 1, "pathPrefix": "/v1.0/users/delta"],
            ]])
            var texts: [(String, String)] = []
            let first = try await h.dirsync(["run", "--log-level", "trace"])
            texts.append(("run (faulted)", first.stdout + first.stderr))
            // A 401 that a refresh cannot fix: wrong secret, error text included in the scan.
            let wrongSecret = try await h.dirsync(["run", "--log-level", "trace"], extraEnvironment: ["AZURE_CLIENT_SECRET": "wrong-secret-value-zz9"])
            #expect(wrongSecret.exitCode == 1)
            texts.append(("run (wrong secret)", wrongSecret.stdout + wrongSecret.stderr))
            try await h.sim.mutate(tenant: tenants[0], seed: 9500, count: 40)
            let second = try await h.dirsync(["run", "--log-level", "trace"])
            texts.append(("run (incremental)", second.stdout + second.stderr))
            for format in ["table", "json", "prometheus"] {
                let status = try await h.dirsync(["status", "--format", format, "--log-level", "trace"])
                texts.append(("status \(format)", status.stdout + status.stderr))
            }
            let list = try await h.dirsync(["domains", "list", "--log-level", "trace"])
            texts.append(("domains list", list.stdout + list.stderr))
            let records = try await h.connection.query("""
                SELECT coalesce(string_agg(r::text, E'\\n'), '') AS t FROM directory.sync_runs r
                UNION ALL SELECT coalesce(string_agg(d::text, E'\\n'), '') FROM directory.domains d
                UNION ALL SELECT coalesce(string_agg(c::text, E'\\n'), '') FROM directory.sync_cursors c
                UNION ALL SELECT coalesce(string_agg(p::text, E'\\n'), '') FROM directory.sync_progress p
                """)
            texts.append(("database records", try records.map { try $0.string("t") }.joined(separator: "\n")))

            let tokens = try await h.sim.issuedAccessTokens()
            #expect(tokens.count >= 3, "the faults should force several tokens to be issued (\(tokens.count))")
            let secrets = [GraphSimProcess.clientSecret, "wrong-secret-value-zz9"] + tokens
            // Any JWT-shaped text would be a token or a client assertion; token fragments count too.
            let fragments = tokens.flatMap { $0.split(separator: ".").filter { $0.count >= 16 }.map(String.init) }
            for (name, text) in texts {
                #expect(!text.isEmpty || name.hasPrefix("database"), "\(name) produced nothing to scan")
                for secret in secrets + fragments where text.contains(secret) {
                    Issue.record("\(name) contains a secret or token: …\(secret.prefix(12))…")
                }
                #expect(!text.contains("eyJ"), "\(name) contains JWT-shaped text")
                #expect(!text.lowercased().contains("client_secret="), "\(name) contains a token request body")
            }
            #expect((try await h.sim.stats()["tokenLeaks"] as? [Any])?.isEmpty == true)
            #expect(first.stdout.contains("failed"), "a failed tenant's error text is part of the scanned text: \(first.stdout)")
        }
    }

    @Test("a nextLink naming a foreign host is refused: the round fails as graph_protocol and graph-sim records no token sent there")
    func foreignNextLinkIsRefused() async throws {
        try await SyncHarness.with(["--users", "120", "--groups", "8", "--seed", "96", "--page-size", "30"]) { h in
            let tenant = try await h.sim.tenants()[0].id
            try await h.onboard([("tenant1-verified.example", tenant)])
            try await h.sim.addFault(["kind": "foreignNextLink", "count": 1, "pathPrefix": "/v1.0/users/delta"])
            let outcome = try await h.run(expect: 1)
            #expect(try await h.scalar("SELECT count(*)::int AS n FROM directory.sync_runs WHERE state = 'failed' AND error_class = 'graph_protocol'") == 1,
                    "\(outcome.stdout) \(outcome.stderr.suffix(800))")
            let stats = try await h.sim.stats()
            #expect((stats["tokenLeaks"] as? [Any])?.isEmpty == true, "\(stats["tokenLeaks"] ?? "")")
            #expect((stats["faultsInjected"] as? [String: Int])?["foreignNextLink"] == 1)
            try await h.run()
            try await h.expectTablesEqualTruth([tenant], "after the refused link and a clean run")
        }
    }
}
