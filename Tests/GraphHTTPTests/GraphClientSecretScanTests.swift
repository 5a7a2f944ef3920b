import DirSyncCore
import Foundation
import GraphHTTP
import GraphSimulator
import GraphSimulatorServer
import Logging
import Testing

/// No secret, assertion, federated token or access token may reach a log line or error text, even on the
/// paths that handle them (401 renewal, throttling, resets, credential errors).
@Suite("Graph client against the simulator: secret scan")
struct GraphClientSecretScanTests {
    private static let issuer = "https://oidc.e2e.example/clusters/scan/"
    private static let subject = "system:serviceaccount:dirsync:scan"
    /// Throttle, 401 expiry and a reset, injected after the first page of every round.
    private static let faults = #"{"faults":[{"kind":"throttle","pathPrefix":"/v1.0/users/delta","count":2,"retryAfter":"0.1"},"#
        + #"{"kind":"tokenExpiry","pathPrefix":"/v1.0/users/delta"},"#
        + #"{"kind":"connectionReset","pathPrefix":"/v1.0/users/delta","count":2}]}"#

    /// Pages a users round, injecting ``faults`` after the first page; the round must still match the truth.
    private static func faultyRound(_ client: GraphClient, _ sim: SimulatorHarness) async throws {
        let users = try await DeltaRound.collect(client.tenant(sim.tenant.id), .users) { page in
            if page == 1 { try sim.addFaults(Self.faults) }
        }
        #expect(users.userIDs == sim.liveUserIDs)
    }

    /// A client wired like `GraphClient.make`, but over `tap`.
    private static func client(_ credential: CredentialMaterial, _ sim: SimulatorHarness, _ tap: TapTransport, _ log: RecordingLog) throws -> GraphClient {
        let endpoints = GraphEndpoints(graphBaseURL: sim.baseURL, authorityHost: sim.baseURL)
        let tokens = EntraTokenProvider(clientID: sim.clientID, credential: credential, endpoints: endpoints, transport: tap, logger: log.logger)
        return try GraphClient(configuration: .init(endpoints: endpoints, version: "e2e", retryPolicy: SimulatorHarness.fastRetries),
                               transport: tap, tokens: tokens, logger: log.logger)
    }

    /// Fetches the first users page, which must fail; returns every text the error renders to.
    private static func failureTexts(_ client: GraphClient, _ sim: SimulatorHarness) async -> [String] {
        do {
            let tenant = client.tenant(sim.tenant.id)
            _ = try await tenant.fetchDeltaPage(resource: .users, link: tenant.initialDeltaURL(.users))
            Issue.record("expected an error")
            return []
        } catch {
            var texts = ["\(error)", String(reflecting: error)]
            if let graph = error as? GraphError { texts += [graph.description, graph.debugDescription] }
            return texts
        }
    }

    @Test("a faulty round with each credential, and credential failures, leave no secret or token in logs or errors")
    func secretScan() async throws {
        let directory = try TestCredentials.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificate = try TestCredentials.makeCertificate(in: directory)
        let unregistered = try TestCredentials.makeCertificate(in: directory)
        let tokenFile = directory.appendingPathComponent("token").path
        let goodFederated = TestCredentials.federatedJWT(issuer: Self.issuer, subject: Self.subject)
        let badFederated = TestCredentials.federatedJWT(issuer: Self.issuer, subject: "system:serviceaccount:other:intruder")
        let wrongSecret = "wrong-\(UUID().uuidString)"

        try await SimulatorHarness.with(users: 250, groups: 4) { sim in
            let registered = try RegisteredCertificate(pem: certificate.certificatePEM)
            try sim.simulator.withTenant(0) {
                $0.apps[0].certificates = [registered]
                $0.apps[0].federated = [FederatedCredential(issuer: Self.issuer, subject: Self.subject)]
            }
            let log = RecordingLog()
            var errorTexts: [String] = []
            let tap = TapTransport()

            // Client secret, wired by GraphClient.make as in production.
            let secretRuntime = try await sim.runtime(.secret(Secret(sim.clientSecret)), logger: log.logger)
            try await Self.faultyRound(secretRuntime.client, sim)
            errorTexts.append("\(secretRuntime.configuration)")
            // A debugger or crash report may dump the whole runtime, token cache included.
            var dumped = ""
            dump(secretRuntime, to: &dumped)
            errorTexts.append(dumped)
            // Certificate and workload identity, over a transport that records the assertions sent.
            try await Self.faultyRound(Self.client(.certificate(try OpenSSLAssertionSigner(pemFile: certificate.combinedPath)), sim, tap, log), sim)
            try goodFederated.write(toFile: tokenFile, atomically: true, encoding: .utf8)
            try await Self.faultyRound(Self.client(.federatedTokenFile(path: tokenFile, reader: FileCredentialReader()), sim, tap, log), sim)

            // Credential failures: their texts are scanned too.
            let wrong = try await sim.runtime(.secret(Secret(wrongSecret)), logger: log.logger)
            errorTexts += await Self.failureTexts(wrong.client, sim)
            errorTexts += await Self.failureTexts(try Self.client(.certificate(try OpenSSLAssertionSigner(pemFile: unregistered.combinedPath)), sim, tap, log), sim)
            try badFederated.write(toFile: tokenFile, atomically: true, encoding: .utf8)
            errorTexts += await Self.failureTexts(try Self.client(.federatedTokenFile(path: tokenFile, reader: FileCredentialReader()), sim, tap, log), sim)

            // What must never show up.
            let accessTokens = sim.simulator.issuedAccessTokens
            let assertions = tap.clientAssertions
            #expect(accessTokens.count >= 6, "every faulty round renews its token once")
            #expect(assertions.count >= 5, "two certificate and two federated token requests, plus the refused ones")
            #expect(assertions.contains(goodFederated) && assertions.contains(badFederated))
            var secrets: [(kind: String, value: String)] = [("client secret", sim.clientSecret), ("wrong client secret", wrongSecret)]
            secrets += accessTokens.map { ("access token", $0) }
            secrets += assertions.map { ("client assertion", $0) }
            secrets += [("federated token", goodFederated), ("federated token", badFederated)]
            // Signatures alone must not leak either (a truncated assertion would still be a credential).
            secrets += assertions.compactMap { $0.split(separator: ".").last.map { ("assertion signature", String($0)) } }

            let lines = log.lines
            #expect(lines.contains { $0.contains("renewing it once") }, "the 401 path was logged and scanned")
            #expect(lines.contains { $0.contains("throttled") }, "the 429 path was logged and scanned")
            #expect(lines.contains { $0.contains("no response") }, "the reset path was logged and scanned")
            #expect(errorTexts.count >= 12)
            let texts = lines + errorTexts
            for secret in secrets {
                let hits = texts.filter { $0.contains(secret.value) }
                #expect(hits.isEmpty, "\(secret.kind) found in \(hits.count) text(s): \(hits.first.map { String($0.prefix(120)) } ?? "")")
            }

            // Bearer tokens went to the Graph host only.
            let authorized = tap.requests.filter { request in request.headers.contains { $0.name == "Authorization" } }
            #expect(!authorized.isEmpty)
            #expect(authorized.allSatisfy { $0.url.hasPrefix(sim.baseURL + "/v1.0/") })
            #expect(sim.simulator.stats.tokenLeaks.isEmpty)
        }
    }
}
