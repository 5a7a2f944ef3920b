import DirSyncCore
import DirSyncTestDoubles
import Foundation
import GraphHTTP
import GraphSimulator
import GraphSimulatorServer
import Logging
import Testing

/// The production client (`GraphClient.make`, libcurl, real loopback HTTP) against graph-sim:
/// every credential kind, token renewal, tenant discovery and domains.
@Suite("Graph client against the simulator: credentials, tokens, discovery")
struct GraphClientAgainstSimulatorTests {
    private static let issuer = "https://oidc.e2e.example/clusters/one/"
    private static let subject = "system:serviceaccount:dirsync:dirsync"

    // MARK: 1. Each credential gets a token and pages a full round

    @Test("a client secret gets a token and pages full users and groups rounds that match the truth")
    func clientSecretRound() async throws {
        try await SimulatorHarness.with { sim in
            let runtime = try await sim.runtime(.secret(Secret(sim.clientSecret)), logger: RecordingLog().logger)
            let tenant = runtime.client.tenant(sim.tenant.id)
            let users = try await DeltaRound.collect(tenant, .users)
            let groups = try await DeltaRound.collect(tenant, .groups)
            #expect(users.pages > 1)
            #expect(users.userIDs == sim.liveUserIDs)
            #expect(groups.groupIDs == sim.liveGroupIDs)
            #expect(groups.memberships == sim.memberships)
            #expect(!groups.memberships.isEmpty)
            #expect(users.deltaLink.hasPrefix(sim.baseURL + "/v1.0/users/delta?$deltatoken="))
            // One token served both rounds.
            #expect(sim.simulator.stats.tokensIssued == 1)
            #expect(runtime.tokens.tokenRequestCount == 1)
        }
    }

    @Test("a certificate assertion (PS256, x5t#S256) passes the simulator's signature and claim checks and pages a round")
    func certificateRound() async throws {
        let directory = try TestCredentials.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (certificatePEM, combinedPath) = try TestCredentials.makeCertificate(in: directory)
        try await SimulatorHarness.with { sim in
            let registered = try RegisteredCertificate(pem: certificatePEM)
            try sim.simulator.withTenant(0) { $0.apps[0].certificates = [registered] }
            let runtime = try await sim.runtime(.certificate(path: combinedPath), logger: RecordingLog().logger)
            guard case .certificate = runtime.configuration.credential else {
                Issue.record("expected a certificate credential, got \(runtime.configuration.credential)")
                return
            }
            let users = try await DeltaRound.collect(runtime.client.tenant(sim.tenant.id), .users)
            #expect(users.userIDs == sim.liveUserIDs)
            #expect(sim.simulator.stats.tokensIssued == 1)
            #expect(sim.simulator.stats.byStatus[401, default: 0] == 0)
        }
    }

    @Test("a workload-identity token file gets a token, pages a round, and is read again for every token request")
    func federatedTokenFileRound() async throws {
        let directory = try TestCredentials.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("azure-identity-token").path
        try TestCredentials.federatedJWT(issuer: Self.issuer, subject: Self.subject).write(toFile: file, atomically: true, encoding: .utf8)
        try await SimulatorHarness.with { sim in
            try sim.simulator.withTenant(0) { $0.apps[0].federated = [FederatedCredential(issuer: Self.issuer, subject: Self.subject)] }
            let runtime = try await sim.runtime(.federatedTokenFile(path: file), logger: RecordingLog().logger)
            let tenant = runtime.client.tenant(sim.tenant.id)
            let users = try await DeltaRound.collect(tenant, .users)
            #expect(users.userIDs == sim.liveUserIDs)
            #expect(sim.simulator.stats.tokensIssued == 1)

            // The kubelet rotates the file: a token for another service account now sits there. The next token
            // request (forced by expiring the access token) must present it, and the simulator refuses it.
            try TestCredentials.federatedJWT(issuer: Self.issuer, subject: "system:serviceaccount:other:intruder")
                .write(toFile: file, atomically: true, encoding: .utf8)
            try sim.addFaults(#"{"kind":"tokenExpiry","pathPrefix":"/v1.0/users/delta"}"#)
            do {
                _ = try await tenant.fetchDeltaPage(resource: .users, link: users.deltaLink)
                Issue.record("expected the rotated, unmatched token to be refused")
            } catch let error as GraphError {
                #expect(error.code == .federatedCredentialMismatch)
            }

            // Rotated again to a matching token: the client recovers without a restart.
            try TestCredentials.federatedJWT(issuer: Self.issuer, subject: Self.subject).write(toFile: file, atomically: true, encoding: .utf8)
            let again = try await DeltaRound.collect(tenant, .users)
            #expect(again.userIDs == sim.liveUserIDs)
            #expect(sim.simulator.stats.tokensIssued == 2)
            #expect(runtime.tokens.tokenRequestCount == 3)
        }
    }

    // MARK: 2. Tokens expiring mid-round

    @Test("a short-lived token is renewed before it expires during a slow round and the round still returns every object")
    func shortTokenLifetime() async throws {
        // Client and simulator share a clock that moves 30 s after each page: the 28-page round lasts
        // 840 s, past the first token's 600 s, which the client must renew 10 % early, never after a 401.
        try await SimulatorHarness.with(pageSize: 12, configure: { $0.tokenLifetime = 600 }) { sim in
            let clock = sim.clock
            let runtime = try await sim.runtime(.secret(Secret(sim.clientSecret)), logger: RecordingLog().logger)
            let started = clock.now()
            let users = try await DeltaRound.collect(runtime.client.tenant(sim.tenant.id), .users) { _ in clock.advance(30) }
            #expect(clock.now().timeIntervalSince(started) > 600, "the round must outlive the first token")
            #expect(users.userIDs == sim.liveUserIDs)
            let stats = sim.simulator.stats
            #expect(stats.tokensIssued == 2)
            // Renewed ahead of expiry (10 % of the lifetime early), not after Graph refused it.
            #expect(stats.byStatus[401, default: 0] == 0)
            #expect(runtime.client.statistics.tokenRefreshes == 0)
            #expect(clock.sleeps.isEmpty)
        }
    }

    @Test("a 401 for an expired token mid-round renews the token once and the round completes")
    func tokenExpiryFault() async throws {
        try await SimulatorHarness.with { sim in
            let runtime = try await sim.runtime(.secret(Secret(sim.clientSecret)), logger: RecordingLog().logger)
            let users = try await DeltaRound.collect(runtime.client.tenant(sim.tenant.id), .users) { page in
                if page == 2 { try sim.addFaults(#"{"kind":"tokenExpiry","pathPrefix":"/v1.0/users/delta"}"#) }
            }
            #expect(users.userIDs == sim.liveUserIDs)
            let stats = sim.simulator.stats
            #expect(stats.faults["tokenExpiry"] == 1)
            #expect(stats.byStatus[401] == 1)
            #expect(stats.tokensIssued == 2)
            #expect(runtime.client.statistics.tokenRefreshes == 1)
        }
    }

    // MARK: 7. Tenant discovery and domains

    @Test("tenant discovery turns a verified domain into the tenant GUID through the OpenID configuration")
    func discovery() async throws {
        try await SimulatorHarness.with(users: 10, groups: 2) { sim in
            let runtime = try await sim.runtime(.secret(Secret(sim.clientSecret)), logger: RecordingLog().logger)
            let expected = try #require(UUID(uuidString: sim.tenant.id))
            for domain in ["tenant1-verified.example", "TENANT1.onmicrosoft.com"] {
                let found = try await runtime.client.discoverTenant(domain: domain)
                #expect(found.tenantID == expected, "\(domain)")
            }
            // Discovery needs no token.
            #expect(sim.simulator.stats.tokenRequests == 0)
        }
    }

    @Test("domain(name:) reports the verified and the unverified generated domains as such")
    func domains() async throws {
        try await SimulatorHarness.with(users: 10, groups: 2) { sim in
            let runtime = try await sim.runtime(.secret(Secret(sim.clientSecret)), logger: RecordingLog().logger)
            let tenant = runtime.client.tenant(sim.tenant.id)
            let verified = try await tenant.domain(name: "tenant1-verified.example")
            let unverified = try await tenant.domain(name: "tenant1-unverified.example")
            #expect(verified.name == "tenant1-verified.example")
            #expect(verified.isVerified)
            #expect(verified.isDefault)
            #expect(unverified.name == "tenant1-unverified.example")
            #expect(!unverified.isVerified)
        }
    }
}
