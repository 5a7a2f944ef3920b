import DirSyncTestSupport
import Foundation
import PostgresStore
import Testing

/// What ops see before and when access breaks: credential expiry in table, JSON and Prometheus;
/// revoked consent, a deleted app and a removed permission told apart from each other and from a
/// Graph outage; and each tenant recovering on the next run after the fix while the others sync on.
@Suite("Operations end to end: credential health, access loss, outages", .enabled(if: TestEnvironment.databaseTestsEnabled))
struct OperationsEndToEndTests {
    private let tenantDomains = ["tenant1-verified.example", "tenant2-verified.example"]

    private func statusJSON(_ h: SyncHarness, environment: [String: String?] = [:]) async throws -> [String: [String: Any]] {
        let outcome = try await h.dirsync(["status", "--format", "json"], extraEnvironment: environment)
        #expect(outcome.exitCode == 0, "\(outcome.stderr)")
        let list = try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [[String: Any]])
        return Dictionary(uniqueKeysWithValues: list.map { ($0["domain"] as? String ?? "", $0) })
    }

    /// Prometheus samples by series (`name{labels}`), as the exporter wrote them.
    private func prometheus(_ h: SyncHarness, environment: [String: String?] = [:]) async throws -> [String: Double] {
        let outcome = try await h.dirsync(["status", "--format", "prometheus"], extraEnvironment: environment)
        #expect(outcome.exitCode == 0, "\(outcome.stderr)")
        var samples: [String: Double] = [:]
        for line in outcome.stdout.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            samples[String(line[..<space])] = value
        }
        return samples
    }

    private func credentialSeries(_ name: String, kind: String) -> String {
        "\(name){client_id=\"\(GraphSimProcess.clientID)\",kind=\"\(kind)\"}"
    }

    private func temporaryDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dirsync-ops-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test("a certificate expiring in 10 days is warned about in table, JSON and Prometheus; an expired one fails the token request naming its expiry")
    func certificateExpiry() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let soon = try TestCertificate.make(notAfter: 10 * 86_400)
        let expired = try TestCertificate.make(notBefore: -30 * 86_400, notAfter: -2 * 86_400)
        let soonPath = directory.appendingPathComponent("soon.pem"), expiredPath = directory.appendingPathComponent("expired.pem")
        try soon.combinedPEM.write(to: soonPath, atomically: true, encoding: .utf8)
        try expired.combinedPEM.write(to: expiredPath, atomically: true, encoding: .utf8)
        let scenario = directory.appendingPathComponent("scenario.json")
        let document: [String: Any] = ["tenants": [["users": 60, "groups": 6, "apps": [["clientId": GraphSimProcess.clientID, "certificates": [soon.certificatePEM, expired.certificatePEM]]]]]]
        try JSONSerialization.data(withJSONObject: document).write(to: scenario)

        try await SyncHarness.with(["--scenario", scenario.path, "--seed", "161"]) { h in
            let tenant = try await h.sim.tenants()[0].id
            try await h.onboard([("tenant1-verified.example", tenant)])
            let soonEnvironment: [String: String?] = ["AZURE_CLIENT_SECRET": nil, "AZURE_CLIENT_CERTIFICATE_PATH": soonPath.path]
            let run = try await h.dirsync(["run"], extraEnvironment: soonEnvironment)
            #expect(run.exitCode == 0, "\(run.stdout)\n\(run.stderr.suffix(1500))")

            let table = try await h.dirsync(["status"], extraEnvironment: soonEnvironment)
            #expect(table.stdout.contains("client certificate") && table.stdout.contains("expires in 10 days"), "\(table.stdout)")
            let status = try #require(try await statusJSON(h, environment: soonEnvironment)["tenant1-verified.example"])
            #expect(status["state"] as? String == "succeeded")
            let credential = try #require(status["credential"] as? [String: Any], "\(status)")
            #expect(credential["kind"] as? String == "certificate")
            #expect(credential["client_id"] as? String == GraphSimProcess.clientID)
            #expect(credential["problem"] is NSNull)
            #expect(abs((credential["expires_in_seconds"] as? Double ?? 0) - 10 * 86_400) < 600, "\(credential)")
            let expiresAt = try #require(credential["expires_at"] as? String)
            let notAfter = try Date(expiresAt, strategy: .iso8601)
            let samples = try await prometheus(h, environment: soonEnvironment)
            #expect(samples[credentialSeries("dirsync_credential_expiry_timestamp_seconds", kind: "certificate")] == notAfter.timeIntervalSince1970, "\(samples.keys.sorted())")
            #expect(samples[credentialSeries("dirsync_credential_problem", kind: "certificate")] == 0)

            // The expired certificate never reaches the token endpoint: the run fails naming the expiry.
            let expiredEnvironment: [String: String?] = ["AZURE_CLIENT_SECRET": nil, "AZURE_CLIENT_CERTIFICATE_PATH": expiredPath.path]
            try await h.sim.resetStats()
            let failedRun = try await h.dirsync(["run"], extraEnvironment: expiredEnvironment)
            #expect(failedRun.exitCode == 1)
            // The day the certificate says it expired, as status reads it (no clock of the test's own).
            let expiredStatus = try #require(try await statusJSON(h, environment: expiredEnvironment)["tenant1-verified.example"])
            let expiryDay = try #require(((expiredStatus["credential"] as? [String: Any])?["expires_at"] as? String)?.prefix(10))
            // The summary table shortens messages; the run's closing line carries the whole of it.
            #expect(failedRun.stderr.contains("expired on \(expiryDay)"), "\(failedRun.stderr.suffix(1500))")
            #expect(try await h.sim.stats()["tokenRequests"] as? Int ?? 0 == 0, "an expired certificate must not be sent")
            let failed = try #require(try await statusJSON(h, environment: expiredEnvironment)["tenant1-verified.example"])
            #expect(failed["state"] as? String == "failed")
            #expect((failed["message"] as? String ?? "").hasPrefix("credential expired"), "\(failed["message"] ?? "")")
            #expect(((failed["credential"] as? [String: Any])?["problem"] as? String ?? "").contains("expired on \(expiryDay)"))
            #expect(try await prometheus(h, environment: expiredEnvironment)[credentialSeries("dirsync_credential_problem", kind: "certificate")] == 1)
        }
    }

    @Test("DIRSYNC_CLIENT_SECRET_EXPIRES_AT in the near future warns, in the past is a problem, and a malformed one is a configuration error")
    func secretExpiry() async throws {
        try await SyncHarness.with(["--tenants", "1", "--users", "40", "--groups", "4", "--seed", "162"]) { h in
            let tenant = try await h.sim.tenants()[0].id
            try await h.onboard([("tenant1-verified.example", tenant)])
            try await h.run()
            let iso = Date.ISO8601FormatStyle()
            let soon: [String: String?] = ["DIRSYNC_CLIENT_SECRET_EXPIRES_AT": iso.format(Date().addingTimeInterval(5 * 86_400 + 600))]
            let warned = try #require(try await statusJSON(h, environment: soon)["tenant1-verified.example"])
            #expect((warned["message"] as? String ?? "").contains("client secret expires in 5 days"), "\(warned["message"] ?? "")")
            #expect((warned["credential"] as? [String: Any])?["kind"] as? String == "secret")
            #expect(((warned["credential"] as? [String: Any])?["warning"] as? String) != nil)
            let table = try await h.dirsync(["status"], extraEnvironment: soon)
            #expect(table.stdout.contains("client secret expires in 5 days"), "\(table.stdout)")
            #expect(try await prometheus(h, environment: soon)[credentialSeries("dirsync_credential_problem", kind: "secret")] == 0)

            let past: [String: String?] = ["DIRSYNC_CLIENT_SECRET_EXPIRES_AT": "2020-01-31"]
            let expired = try #require(try await statusJSON(h, environment: past)["tenant1-verified.example"])
            #expect((expired["message"] as? String ?? "").hasPrefix("client secret expired on 2020-01-31"), "\(expired["message"] ?? "")")
            let samples = try await prometheus(h, environment: past)
            #expect(samples[credentialSeries("dirsync_credential_problem", kind: "secret")] == 1)
            #expect(samples[credentialSeries("dirsync_credential_expiry_timestamp_seconds", kind: "secret")] == (try Date("2020-01-31T23:59:59Z", strategy: .iso8601)).timeIntervalSince1970)

            let malformed = try await h.dirsync(["status"], extraEnvironment: ["DIRSYNC_CLIENT_SECRET_EXPIRES_AT": "next tuesday"])
            #expect(malformed.exitCode == 2)
            #expect(malformed.stderr.contains("DIRSYNC_CLIENT_SECRET_EXPIRES_AT") && malformed.stderr.contains("ISO 8601"), "\(malformed.stderr)")
        }
    }

    /// A workload-identity token (unsigned-looking; only its claims matter here) that expires `lifetime` from now.
    private func federatedToken(lifetime: Int) -> String {
        func base64URL(_ text: String) -> String {
            Data(text.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        }
        let now = Int(Date().timeIntervalSince1970)
        let claims = #"{"aud":["api://AzureADTokenExchange"],"iss":"https://oidc.example/cluster","sub":"system:serviceaccount:dirsync:dirsync","iat":\#(now - 7200),"exp":\#(now + lifetime)}"#
        return base64URL(#"{"alg":"RS256","typ":"JWT"}"#) + "." + base64URL(claims) + "." + base64URL("signature")
    }

    @Test("a federated token file that is missing or holds an expired token is reported with the fix; the expired one fails the run before it is presented")
    func federatedTokenFile() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await SyncHarness.with(["--tenants", "1", "--users", "40", "--groups", "4", "--seed", "165"]) { h in
            let tenant = try await h.sim.tenants()[0].id
            try await h.onboard([("tenant1-verified.example", tenant)])
            let missing = directory.appendingPathComponent("missing-token").path
            let missingEnvironment: [String: String?] = ["AZURE_CLIENT_SECRET": nil, "AZURE_FEDERATED_TOKEN_FILE": missing]
            let absent = try #require(try await statusJSON(h, environment: missingEnvironment)["tenant1-verified.example"])
            let absentCredential = try #require(absent["credential"] as? [String: Any])
            #expect(absentCredential["kind"] as? String == "federated")
            #expect((absentCredential["problem"] as? String ?? "").contains("does not exist"), "\(absentCredential)")
            #expect((absent["message"] as? String ?? "").contains("AZURE_FEDERATED_TOKEN_FILE"))

            let stale = directory.appendingPathComponent("token")
            try federatedToken(lifetime: -600).write(to: stale, atomically: true, encoding: .utf8)
            let staleEnvironment: [String: String?] = ["AZURE_CLIENT_SECRET": nil, "AZURE_FEDERATED_TOKEN_FILE": stale.path]
            try await h.sim.resetStats()
            let run = try await h.dirsync(["run"], extraEnvironment: staleEnvironment)
            #expect(run.exitCode == 1)
            #expect(run.stderr.contains("the federated token in \(stale.path) expired at"), "\(run.stderr.suffix(1500))")
            #expect(try await h.sim.stats()["tokenRequests"] as? Int ?? 0 == 0, "an expired token must not be presented")
            let failed = try #require(try await statusJSON(h, environment: staleEnvironment)["tenant1-verified.example"])
            #expect(failed["state"] as? String == "failed")
            #expect((failed["message"] as? String ?? "").hasPrefix("credential expired"), "\(failed["message"] ?? "")")
            #expect(((failed["credential"] as? [String: Any])?["problem"] as? String ?? "").contains("azure-identity-token"))
            #expect(try await prometheus(h, environment: staleEnvironment)[credentialSeries("dirsync_credential_problem", kind: "federated")] == 1)
        }
    }

    /// One way to lose access, how to restore it, and what status must then say.
    struct AccessLoss: Sendable, CustomTestStringConvertible {
        var name: String
        var revoke: [String: any Sendable]
        var restore: [String: any Sendable]
        var errorClass: String
        var messagePrefix: String
        var messageMentions: String
        var testDescription: String { name }
    }

    static let accessLosses: [AccessLoss] = [
        AccessLoss(name: "consent revoked", revoke: ["consent": false], restore: ["consent": true],
                   errorClass: "consent_missing", messagePrefix: "consent revoked in the tenant", messageMentions: "no application permissions"),
        AccessLoss(name: "app deleted", revoke: ["appState": "deleted"], restore: ["appState": "enabled"],
                   errorClass: "app_missing", messagePrefix: "app deleted in the tenant", messageMentions: "AADSTS700016"),
        // Only users become unreadable: Directory.Read.All (which covers them too) is narrowed to what the rest needs.
        AccessLoss(name: "permission removed", revoke: ["permissions": ["Group.Read.All", "GroupMember.Read.All", "OrgContact.Read.All", "Domain.Read.All"]],
                   restore: ["permissions": ["User.Read.All", "Group.Read.All", "GroupMember.Read.All", "Directory.Read.All"]],
                   errorClass: "permission_missing", messagePrefix: "permission removed in the tenant",
                   messageMentions: "lacks the application permission User.Read.All in this tenant (granted: "),
    ]

    @Test("revoked consent, a deleted app and a removed permission each fail only their tenant, with their own message and the consent link, and recover after the fix",
          arguments: accessLosses)
    func accessLoss(_ loss: AccessLoss) async throws {
        try await SyncHarness.with(["--tenants", "2", "--users", "80", "--groups", "8", "--seed", "163"]) { h in
            let tenants = try await h.sim.tenants().map(\.id)
            try await h.onboard([(tenantDomains[0], tenants[0]), (tenantDomains[1], tenants[1])])
            try await h.run()
            try await h.sim.mutate(tenant: tenants[1], seed: 5, count: 20)
            try await h.sim.configure(tenant: tenants[0], loss.revoke)

            let failedRun = try await h.run(expect: 1)
            #expect(failedRun.stdout.contains(tenants[0].uuidString.lowercased()))
            var statuses = try await statusJSON(h)
            let failed = try #require(statuses[tenantDomains[0]])
            let message = failed["message"] as? String ?? ""
            #expect(failed["state"] as? String == "failed", "\(failed)")
            #expect((failed["last_run"] as? [String: Any])?["error_class"] as? String == loss.errorClass, "\(failed["last_run"] ?? "")")
            #expect(message.hasPrefix(loss.messagePrefix), "\(message)")
            #expect(message.contains(loss.messageMentions), "\(message)")
            #expect(message.contains("/\(tenants[0].uuidString.lowercased())/v2.0/adminconsent?client_id=\(GraphSimProcess.clientID)"), "\(message)")
            #expect(!message.contains("Graph unavailable"))
            #expect(!message.contains("state="), "a status message's consent link must be the same on every call")
            // The other tenant synced its changes in the same run.
            #expect(statuses[tenantDomains[1]]?["state"] as? String == "succeeded")
            try await h.expectTablesEqualTruth([tenants[1]], "the unaffected tenant")

            try await h.sim.configure(tenant: tenants[0], loss.restore)
            try await h.sim.mutate(tenant: tenants[0], seed: 6, count: 20)
            try await h.run()
            statuses = try await statusJSON(h)
            #expect(statuses[tenantDomains[0]]?["state"] as? String == "succeeded")
            let recovered = statuses[tenantDomains[0]]?["message"] as? String ?? ""
            #expect(recovered.hasPrefix(loss.messagePrefix) == false, "\(recovered)")
            try await h.expectTablesEqualTruth(tenants, "after the fix")
        }
    }

    @Test("a storm of 5xx is an outage, not an access problem: how often it was retried, nothing lost, the next run resumes")
    func serverErrorStorm() async throws {
        try await SyncHarness.with(["--tenants", "2", "--users", "80", "--groups", "8", "--seed", "164"]) { h in
            let tenants = try await h.sim.tenants().map(\.id)
            try await h.onboard([(tenantDomains[0], tenants[0]), (tenantDomains[1], tenants[1])])
            try await h.run()
            try await h.sim.mutate(tenant: tenants[0], seed: 7, count: 20)
            // Every users/delta request of tenant 1 fails with 503 (a short Retry-After keeps the test quick).
            try await h.sim.addFault(["kind": "serverError", "status": 503, "retryAfter": "0.05", "tenant": tenants[0].uuidString.lowercased(),
                                      "pathPrefix": "/v1.0/users/delta", "probability": 1.0])
            let failedRun = try await h.run(expect: 1)
            #expect(failedRun.stdout.contains("Graph unavailable, retried"), "\(failedRun.stdout)")
            #expect(failedRun.stdout.contains("succeeded"), "the other tenant syncs: \(failedRun.stdout)")
            let failed = try #require(try await statusJSON(h)[tenantDomains[0]])
            let message = failed["message"] as? String ?? ""
            #expect(failed["state"] as? String == "failed")
            #expect((failed["last_run"] as? [String: Any])?["error_class"] as? String == "transport")
            #expect(message.hasPrefix("Graph unavailable, retried 7 times; nothing lost; next run resumes"), "\(message)")
            #expect(!message.contains("consent"))

            try await h.sim.request("DELETE", "/_graphsim/faults")
            try await h.run()
            try await h.expectTablesEqualTruth(tenants, "after the outage")
        }
    }

    @Test("while a first sync, a resumed full round, a parallel first load or a --full run is in progress, status says mode full in JSON and in the table; an incremental run says incremental")
    func runningModeIsFull() async throws {
        try await SyncHarness.with(["--tenants", "2", "--users", "300", "--groups", "10", "--seed", "166", "--page-size", "50"]) { h in
            let tenants = try await h.sim.tenants().map(\.id)
            try await h.onboard([(tenantDomains[0], tenants[0]), (tenantDomains[1], tenants[1])])
            /// Starts `dirsync run ARGUMENTS`, holds it at request `after + 1` under `path`, checks what status says, then
            /// lets it finish (or kills it with SIGKILL).
            func expectFullWhileRunning(_ arguments: [String], after: Int, path: String, kill: Bool = false, mode: String = "full",
                                        _ what: String) async throws {
                try await h.sim.pause(after: after, pathPrefix: path)
                let running = try h.start(["run", "--domain", tenantDomains[0]] + arguments)
                try await h.sim.waitUntilPaused(running)
                let status = try #require(try await statusJSON(h)[tenantDomains[0]])
                #expect(status["state"] as? String == "running", "\(what): \(status)")
                #expect((status["last_run"] as? [String: Any])?["mode"] as? String == mode, "\(what): \(status["last_run"] ?? "")")
                let table = try await h.dirsync(["status", "--domain", tenantDomains[0]])
                #expect(table.stdout.contains((mode == "incremental" ? "incr" : mode) + " now"), "\(what): \(table.stdout)")
                if kill { running.process.send(SIGKILL) }
                try await h.sim.endPause()
                let outcome = try await running.finish()
                if !kill { #expect(outcome.exitCode == 0, "\(what): \(outcome.stderr.suffix(1000))") }
            }
            try await expectFullWhileRunning(["--first-load", "delta"], after: 2, path: "/v1.0/users/delta", kill: true, "a first sync")
            try await expectFullWhileRunning([], after: 0, path: "/v1.0/users/delta", "the first sync's full round, resumed")
            try await expectFullWhileRunning(["--full"], after: 2, path: "/v1.0/users/delta", "--full")
            // And an ordinary run stays incremental while it runs.
            try await expectFullWhileRunning([], after: 0, path: "/v1.0/users/delta", mode: "incremental", "an incremental run")
            // A parallel first load of the other tenant (held where it takes its delta links, after sizing and probing the tenant).
            try await h.sim.pause(after: 0, pathPrefix: "/v1.0/users/delta")
            let loading = try h.start(["run", "--domain", tenantDomains[1], "--first-load", "parallel", "--first-load-wait", "0s"])
            try await h.sim.waitUntilPaused(loading)
            let status = try #require(try await statusJSON(h)[tenantDomains[1]])
            #expect(status["state"] as? String == "running" && (status["last_run"] as? [String: Any])?["mode"] as? String == "full", "parallel first load: \(status)")
            try await h.sim.endPause()
            let outcome = try await loading.finish()
            #expect(outcome.exitCode == 0, "\(outcome.stderr.suffix(1000))")
        }
    }

    @Test("a --full run over an unchanged tenant reports 0 upserted, in the summary and the run record; one changed user reports 1")
    func fullResyncCountsOnlyRealChanges() async throws {
        try await SyncHarness.with(["--tenants", "1", "--users", "200", "--groups", "12", "--seed", "167"]) { h in
            let tenant = try await h.sim.tenants()[0].id
            try await h.onboard([("tenant1-verified.example", tenant)])
            try await h.run()
            /// The UPSERTED cell of the tenant's row in the run summary.
            func upserted(_ outcome: ProductRunner.Outcome) throws -> Int {
                let row = try #require(outcome.stdout.split(separator: "\n").first { $0.hasPrefix(tenant.uuidString.lowercased()) }, "\(outcome.stdout)")
                let cells = row.split(separator: " ", omittingEmptySubsequences: true)
                return Int(cells[4]) ?? -1
            }
            let unchanged = try await h.run(["--full"])
            var status = try #require(try await statusJSON(h)["tenant1-verified.example"])
            #expect(try upserted(unchanged) == 0, "\(unchanged.stdout)")
            #expect((status["last_run"] as? [String: Any])?["objects_upserted"] as? Int == 0)
            #expect((status["last_run"] as? [String: Any])?["mode"] as? String == "full")

            let user = try #require(try await h.sim.truth(tenant: tenant).users.first { $0.deleted == nil }?.id)
            try await h.sim.mutate(tenant: tenant, operations: [["op": "updateUser", "id": user, "set": ["jobTitle": "Changed for the count"]]])
            let oneChange = try await h.run(["--full"])
            status = try #require(try await statusJSON(h)["tenant1-verified.example"])
            #expect(try upserted(oneChange) == 1, "\(oneChange.stdout)")
            #expect((status["last_run"] as? [String: Any])?["objects_upserted"] as? Int == 1)
        }
    }
}
