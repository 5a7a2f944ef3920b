import DirSyncCore
import DirSyncTestDoubles
import Foundation
import GraphHTTP
import GraphSimulator
import GraphSimulatorServer
import Logging
import Testing

/// Every failure an operator can cause or meet, produced by graph-sim over loopback HTTP: each must come
/// back as its typed ``GraphError`` with a one-line description that names the fix.
@Suite("Graph client against the simulator: typed errors with a fix")
struct GraphClientErrorsAgainstSimulatorTests {
    /// Runs `body`, which must throw a ``GraphError``, and checks its code and one-line, fix-naming description.
    @discardableResult
    private func expectError(_ code: GraphError.Code, fixMentions fix: String, sourceLocation: SourceLocation = #_sourceLocation,
                             _ body: () async throws -> Void) async -> GraphError? {
        do {
            try await body()
            Issue.record("expected GraphError \(code), got success", sourceLocation: sourceLocation)
            return nil
        } catch let error as GraphError {
            #expect(error.code == code, "\(error.debugDescription)", sourceLocation: sourceLocation)
            let text = error.description
            #expect(!text.contains("\n") && !text.contains("\r"), "not one line: \(text)", sourceLocation: sourceLocation)
            #expect(text.contains("Fix: "), "no fix in: \(text)", sourceLocation: sourceLocation)
            #expect(text.contains(fix), "the fix should mention '\(fix)': \(text)", sourceLocation: sourceLocation)
            #expect(!error.debugDescription.contains(".."), "stray period in: \(error.debugDescription)", sourceLocation: sourceLocation)
            return error
        } catch {
            Issue.record("expected GraphError \(code), got \(error)", sourceLocation: sourceLocation)
            return nil
        }
    }

    private func firstUsersPage(_ runtime: GraphRuntime, tenant: String) async throws {
        let client = runtime.client.tenant(tenant)
        _ = try await client.fetchDeltaPage(resource: .users, link: client.initialDeltaURL(.users))
    }

    @Test("an app that is not installed in the tenant is appNotInTenant (AADSTS700016), fix: admin consent")
    func appNotInTenant() async throws {
        try await SimulatorHarness.with(users: 10, groups: 2) { sim in
            let runtime = try await sim.runtime(.secret(Secret(sim.clientSecret)), clientID: "99999999-8888-7777-6666-555555555555",
                                          logger: RecordingLog().logger)
            let error = await expectError(.appNotInTenant, fixMentions: "grant admin consent") {
                try await firstUsersPage(runtime, tenant: sim.tenant.id)
            }
            #expect(error?.serverCode == "AADSTS700016")
        }
    }

    @Test("a wrong client secret is invalidClientSecret (AADSTS7000215), fix: AZURE_CLIENT_SECRET; one token request only")
    func badSecret() async throws {
        try await SimulatorHarness.with(users: 10, groups: 2) { sim in
            let runtime = try await sim.runtime(.secret(Secret("not-the-secret")), logger: RecordingLog().logger)
            let error = await expectError(.invalidClientSecret, fixMentions: "AZURE_CLIENT_SECRET") {
                try await firstUsersPage(runtime, tenant: sim.tenant.id)
            }
            #expect(error?.serverCode == "AADSTS7000215")
            #expect(error?.status == 401)
            #expect(sim.simulator.stats.tokenRequests == 1, "a credential error is not retried")
        }
    }

    @Test("an unregistered certificate is invalidCertificate (AADSTS700027), fix: upload the certificate")
    func badCertificate() async throws {
        let directory = try TestCredentials.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let registered = try TestCredentials.makeCertificate(in: directory)
        let other = try TestCredentials.makeCertificate(in: directory)
        try await SimulatorHarness.with(users: 10, groups: 2) { sim in
            let certificate = try RegisteredCertificate(pem: registered.certificatePEM)
            try sim.simulator.withTenant(0) { $0.apps[0].certificates = [certificate] }
            let runtime = try await sim.runtime(.certificate(path: other.combinedPath), logger: RecordingLog().logger)
            let error = await expectError(.invalidCertificate, fixMentions: "AZURE_CLIENT_CERTIFICATE_PATH") {
                try await firstUsersPage(runtime, tenant: sim.tenant.id)
            }
            #expect(error?.serverCode == "AADSTS700027")
        }
    }

    @Test("a service-account token no federated credential matches is federatedCredentialMismatch (AADSTS70021)")
    func federatedMismatch() async throws {
        let directory = try TestCredentials.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("token").path
        // Issuer without the trailing slash the credential has: a classic misconfiguration.
        try TestCredentials.federatedJWT(issuer: "https://oidc.e2e.example/clusters/one", subject: "system:serviceaccount:dirsync:dirsync")
            .write(toFile: file, atomically: true, encoding: .utf8)
        try await SimulatorHarness.with(users: 10, groups: 2) { sim in
            try sim.simulator.withTenant(0) {
                $0.apps[0].federated = [FederatedCredential(issuer: "https://oidc.e2e.example/clusters/one/", subject: "system:serviceaccount:dirsync:dirsync")]
            }
            let runtime = try await sim.runtime(.federatedTokenFile(path: file), logger: RecordingLog().logger)
            let error = await expectError(.federatedCredentialMismatch, fixMentions: "issuer") {
                try await firstUsersPage(runtime, tenant: sim.tenant.id)
            }
            #expect(error?.serverCode == "AADSTS70021")
        }
    }

    @Test("a tenant id the cloud does not know is unknownTenant (AADSTS90002), fix: check the tenant id")
    func unknownTenant() async throws {
        try await SimulatorHarness.with(users: 10, groups: 2) { sim in
            let runtime = try await sim.runtime(.secret(Secret(sim.clientSecret)), logger: RecordingLog().logger)
            let error = await expectError(.unknownTenant, fixMentions: "tenant id") {
                try await firstUsersPage(runtime, tenant: "0badc0de-0000-4000-8000-000000000000")
            }
            #expect(error?.serverCode == "AADSTS90002")
        }
    }

    @Test("discovering an unknown or unverified domain is unknownDomain, fix: check the spelling and the domain")
    func unknownDomain() async throws {
        try await SimulatorHarness.with(users: 10, groups: 2) { sim in
            let runtime = try await sim.runtime(.secret(Secret(sim.clientSecret)), logger: RecordingLog().logger)
            for domain in ["nobody-here.example", "tenant1-unverified.example"] {
                let error = await expectError(.unknownDomain, fixMentions: "spelling") {
                    _ = try await runtime.client.discoverTenant(domain: domain)
                }
                #expect(error?.description.contains(domain) == true)
            }
        }
    }

    @Test("a tenant that never consented answers 403 Authorization_RequestDenied as permissionMissing, fix: admin consent")
    func consentMissing() async throws {
        try await SimulatorHarness.with(users: 10, groups: 2) { sim in
            try sim.configureTenant(#"{"consent":false}"#)
            let runtime = try await sim.runtime(.secret(Secret(sim.clientSecret)), logger: RecordingLog().logger)
            let error = await expectError(.permissionMissing, fixMentions: "grant admin consent") {
                try await firstUsersPage(runtime, tenant: sim.tenant.id)
            }
            #expect(error?.status == 403)
            #expect(error?.serverCode == "Authorization_RequestDenied")
        }
    }

    @Test("a missing application permission is permissionMissing naming the permission the request needs")
    func permissionMissing() async throws {
        try await SimulatorHarness.with(users: 10, groups: 2) { sim in
            try sim.configureTenant(#"{"permissions":["Organization.Read.All"]}"#)
            let runtime = try await sim.runtime(.secret(Secret(sim.clientSecret)), logger: RecordingLog().logger)
            let error = await expectError(.permissionMissing, fixMentions: "User.Read.All") {
                try await firstUsersPage(runtime, tenant: sim.tenant.id)
            }
            #expect(error?.description.contains("User.Read.All") == true)
            let groups = await expectError(.permissionMissing, fixMentions: "GroupMember.Read.All") {
                let client = runtime.client.tenant(sim.tenant.id)
                _ = try await client.fetchDeltaPage(resource: .groups, link: client.initialDeltaURL(.groups))
            }
            #expect(groups?.message.contains("GroupMember.Read.All") == true)
        }
    }

    @Test("a deltaLink the service no longer knows is resyncRequired: 410 syncStateNotFound, 400 SyncStateNotFound, or expired by age",
          arguments: ["gone410", "badRequest400", "expired"])
    func resyncRequired(_ variant: String) async throws {
        try await SimulatorHarness.with(users: 10, groups: 2) { sim in
            let runtime = try await sim.runtime(.secret(Secret(sim.clientSecret)), logger: RecordingLog().logger)
            let client = runtime.client.tenant(sim.tenant.id)
            let round = try await DeltaRound.collect(client, .users)
            switch variant {
            case "gone410":
                try sim.addFaults(#"{"kind":"deltaLinkGone"}"#)
            case "badRequest400":
                try sim.configureTenant(#"{"expiredDeltaStyle":"badRequest400"}"#)
                try sim.addFaults(#"{"kind":"deltaLinkGone"}"#)
            default:
                try sim.configureTenant(#"{"deltaTokenLifetimeSeconds":0}"#)
                sim.clock.advance(1)  // the link is now a second old
            }
            let error = await expectError(.resyncRequired, fixMentions: "full round") {
                _ = try await client.fetchDeltaPage(resource: .users, link: round.deltaLink)
            }
            #expect(error?.requiresResync == true)
            switch variant {
            case "badRequest400":
                #expect(error?.status == 400)
                #expect(error?.serverCode == "SyncStateNotFound")
            default:
                #expect(error?.status == 410)
                #expect(error?.serverCode == "syncStateNotFound")
            }
            #expect(error?.description.contains("$deltatoken") == false)
        }
    }

    @Test("a Retry-After that ends past the run's deadline fails at once as throttledBeyondDeadline")
    func throttledBeyondDeadline() async throws {
        try await SimulatorHarness.with(users: 10, groups: 2) { sim in
            let clock = sim.clock
            let runtime = try await sim.runtime(.secret(Secret(sim.clientSecret)), deadline: clock.now().addingTimeInterval(5),
                                          logger: RecordingLog().logger)
            try sim.addFaults(#"{"kind":"throttle","pathPrefix":"/v1.0/users/delta","probability":1,"retryAfter":"30"}"#)
            let error = await expectError(.throttledBeyondDeadline, fixMentions: "next run") {
                try await firstUsersPage(runtime, tenant: sim.tenant.id)
            }
            #expect(clock.sleeps.isEmpty, "it must not sleep towards the deadline: slept \(clock.sleeps)")
            #expect(error?.status == 429)
            #expect(error?.retryAfter == 30)
            #expect(sim.simulator.stats.throttled == 1)
        }
    }

    @Test("a token endpoint that throttles past the run's deadline fails at once as throttledBeyondDeadline too")
    func tokenThrottledBeyondDeadline() async throws {
        try await SimulatorHarness.with(users: 10, groups: 2) { sim in
            let clock = sim.clock
            let runtime = try await sim.runtime(.secret(Secret(sim.clientSecret)), deadline: clock.now().addingTimeInterval(3),
                                          logger: RecordingLog().logger)
            try sim.addFaults(#"{"kind":"throttle","pathPrefix":"/\#(sim.tenant.id)/oauth2/v2.0/token","retryAfter":"8"}"#)
            let error = await expectError(.throttledBeyondDeadline, fixMentions: "next run") {
                try await firstUsersPage(runtime, tenant: sim.tenant.id)
            }
            #expect(clock.sleeps.isEmpty, "it must not sleep past the deadline: slept \(clock.sleeps)")
            #expect(error?.status == 429)
            #expect(error?.retryAfter == 8)
            #expect(sim.simulator.stats.throttled == 1, "one token request, not retried")
        }
    }
}
