import DirSyncTestSupport
import Foundation
import PostgresStore
import Testing

/// Secrets and tokens stay confined, end to end through the built binary.
@Suite("secrets and token confinement", .enabled(if: TestEnvironment.databaseTestsEnabled))
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
                #expect(!TokenShape.appears(in: text), "\(name) contains JWT-shaped text")
                #expect(!text.lowercased().contains("client_secret="), "\(name) contains a token request body")
            }
            #expect((try await h.sim.stats()["tokenLeaks"] as? [Any])?.isEmpty == true)
            #expect(first.stdout.contains("failed"), "a failed tenant's error text is part of the scanned text: \(first.stdout)")
        }
    }

    @Test("a certificate-credential sync with faults leaks neither the private key, any client assertion nor any issued token")
    func certificateAssertionNeverLeaks() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dirsync-cert-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let key = directory.appendingPathComponent("key.pem"), certificate = directory.appendingPathComponent("cert.pem")
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key.path, "-out", certificate.path,
                             "-days", "1", "-subj", "/CN=dirsync-secret-scan"]
        openssl.standardOutput = FileHandle.nullDevice
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        try #require(openssl.terminationStatus == 0)
        let certificatePEM = try String(contentsOf: certificate, encoding: .utf8)
        let keyPEM = try String(contentsOf: key, encoding: .utf8)
        let credential = directory.appendingPathComponent("credential.pem")
        try (certificatePEM + keyPEM).write(to: credential, atomically: true, encoding: .utf8)
        // The app in the simulated tenant trusts this certificate and has no secret at all.
        let scenario = directory.appendingPathComponent("scenario.json")
        let document: [String: Any] = ["tenants": [["users": 150, "groups": 10, "apps": [["clientId": GraphSimProcess.clientID, "certificates": [certificatePEM]]]]]]
        try JSONSerialization.data(withJSONObject: document).write(to: scenario)

        try await SyncHarness.with(["--scenario", scenario.path, "--seed", "97", "--page-size", "30", "--token-lifetime", "120"]) { h in
            let tenant = try await h.sim.tenants()[0].id
            try await h.onboard([("tenant1-verified.example", tenant)])
            try await h.sim.addFault(["faults": [
                ["kind": "throttle", "retryAfter": "0.1", "count": 2, "pathPrefix": "/v1.0/"],
                // One expiry forces a renewal, hence a second signed assertion. (Two expiries close together
                // could revoke the renewed token too, which fails by design: one renewal per request.)
                ["kind": "tokenExpiry", "count": 1, "pathPrefix": "/v1.0/users/delta"],
            ]])
            let certificateEnvironment: [String: String?] = ["AZURE_CLIENT_SECRET": nil, "AZURE_CLIENT_CERTIFICATE_PATH": credential.path]
            var texts: [(String, String)] = []
            let run = try await h.dirsync(["run", "--log-level", "trace"], extraEnvironment: certificateEnvironment)
            #expect(run.exitCode == 0, "\(run.stderr.suffix(800))")
            texts.append(("run (certificate)", run.stdout + run.stderr))
            try await h.expectTablesEqualTruth([tenant], "after a certificate-credential sync")
            for format in ["table", "json"] {
                let status = try await h.dirsync(["status", "--format", format, "--log-level", "trace"])
                texts.append(("status \(format)", status.stdout + status.stderr))
            }
            let records = try await h.connection.query("SELECT coalesce(string_agg(r::text, E'\\n'), '') AS t FROM directory.sync_runs r")
            texts.append(("run records", try records.map { try $0.string("t") }.joined(separator: "\n")))

            let tokens = try await h.sim.issuedAccessTokens()
            #expect(tokens.count >= 2, "the 401 faults should force a renewal, hence a second signed assertion (\(tokens.count))")
            // Lines of the private key's base64 body, long enough to be unmistakable.
            let keyLines = keyPEM.split(separator: "\n").filter { !$0.hasPrefix("-----") && $0.count >= 40 }.map(String.init)
            for (name, text) in texts {
                for secret in tokens + keyLines where text.contains(secret) {
                    Issue.record("\(name) contains key material or a token: …\(secret.prefix(12))…")
                }
                #expect(!TokenShape.appears(in: text), "\(name) contains JWT-shaped text (a client assertion or a token)")
                #expect(!text.contains("client_assertion="), "\(name) contains a token request body")
            }
            #expect((try await h.sim.stats()["tokenLeaks"] as? [Any])?.isEmpty == true)
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
