import DirSyncCore
import Foundation
import Testing

@Suite("Credential health")
struct CredentialHealthTests {
    private let now = Date(timeIntervalSince1970: 1_800_000_000)
    private let client = "11111111-2222-3333-4444-555555555555"

    private func health(_ kind: CredentialHealth.Kind, expiresIn seconds: TimeInterval?, window: TimeInterval = CredentialHealth.defaultWarningWindow) -> CredentialHealth {
        CredentialHealth.evaluate(.init(kind: kind, clientID: client, expiresAt: seconds.map { now.addingTimeInterval($0) }, path: kind == .secret ? nil : "/etc/dirsync/credential"),
                                  now: now, warningWindow: window)
    }

    @Test("a certificate or secret expiring within the window gets a warning naming days left and the fix, and no problem",
          arguments: [CredentialHealth.Kind.certificate, .secret])
    func expiringSoonWarns(kind: CredentialHealth.Kind) {
        let result = health(kind, expiresIn: 10 * 86_400)
        #expect(result.problem == nil)
        let warning = result.warning ?? ""
        #expect(warning.contains("expires in 10 days"), "\(warning)")
        #expect(warning.contains(kind == .certificate ? "AZURE_CLIENT_CERTIFICATE_PATH" : "AZURE_CLIENT_SECRET"), "\(warning)")
        #expect(abs((result.expiresInSeconds ?? 0) - 10 * 86_400) < 0.01)
    }

    @Test("an expiry beyond the window is reported as a date only; a configured window moves the line",
          arguments: [CredentialHealth.Kind.certificate, .secret])
    func farExpiryIsQuiet(kind: CredentialHealth.Kind) {
        let far = health(kind, expiresIn: 40 * 86_400)
        #expect(far.warning == nil && far.problem == nil && far.expiresAt != nil)
        #expect(health(kind, expiresIn: 40 * 86_400, window: 60 * 86_400).warning != nil)
    }

    @Test("an expired certificate, secret or federated token is a problem that says it stops token requests and how to fix it",
          arguments: [CredentialHealth.Kind.certificate, .secret, .federated])
    func expiredIsAProblem(kind: CredentialHealth.Kind) {
        let result = health(kind, expiresIn: -3600)
        let problem = result.problem ?? ""
        #expect(problem.contains("expired"), "\(problem)")
        #expect(result.warning == nil)
        switch kind {
        case .certificate: #expect(problem.contains("upload a new certificate to the app registration"))
        case .secret: #expect(problem.contains("DIRSYNC_CLIENT_SECRET_EXPIRES_AT") && problem.contains("new client secret"))
        case .federated: #expect(problem.contains("azure-identity-token"))
        }
    }

    @Test("a federated token an hour from expiry is normal (the kubelet renews it), and a secret without a declared expiry is fine")
    func shortLivedAndUnknownAreQuiet() {
        #expect(health(.federated, expiresIn: 3600).warning == nil)
        #expect(health(.federated, expiresIn: 3600).problem == nil)
        let unknown = health(.secret, expiresIn: nil)
        #expect(unknown.problem == nil && unknown.warning == nil && unknown.expiresAt == nil && unknown.expiresInSeconds == nil)
    }

    @Test("an unusable credential file is the problem whatever its expiry")
    func unusableWins() {
        let result = CredentialHealth.evaluate(.init(kind: .federated, clientID: client, path: "/var/run/token", unusable: "the federated token file /var/run/token does not exist: fix"), now: now)
        #expect(result.problem?.contains("does not exist") == true)
    }

    @Test("DIRSYNC_CLIENT_SECRET_EXPIRES_AT takes a date (end of that day, UTC) or a date-time with zone, and nothing else",
          arguments: [("2027-06-30", "2027-06-30T23:59:59Z"), ("2027-06-30T12:00:00Z", "2027-06-30T12:00:00Z"),
                      ("2027-06-30T12:00:00+02:00", "2027-06-30T10:00:00Z"), ("2027-06-30T12:00:00.500Z", "2027-06-30T12:00:00Z"),
                      ("30/06/2027", nil), ("tomorrow", nil), ("", nil)])
    func parsesExpiry(text: String, expected: String?) throws {
        let parsed = CredentialHealth.parseExpiry(text)
        if let expected {
            let date = try #require(parsed, "\(text)")
            #expect(abs(date.timeIntervalSince(try Date(expected, strategy: .iso8601))) < 1, "\(text) → \(date)")
        } else {
            #expect(parsed == nil, "\(text)")
        }
    }

    @Test("status puts a credential problem in a succeeded domain's message, a warning only where nothing more pressing is said, and never over a failed run's cause")
    func statusMessagePrecedence() {
        let tenant = UUID()
        var facts = StatusFacts(domain: DomainRecord(domain: "contoso.example", tenantID: tenant))
        facts.lastRun = RunRecord(runID: 1, startedAt: now.addingTimeInterval(-60), finishedAt: now.addingTimeInterval(-30), mode: "incremental", state: "succeeded")
        facts.lastSuccess = facts.lastRun
        func context(expiresIn seconds: TimeInterval) -> DomainStatus.Context {
            DomainStatus.Context(now: now, clientID: client, credential: .init(kind: .certificate, clientID: client, expiresAt: now.addingTimeInterval(seconds), path: "/c.pem"))
        }
        let warned = DomainStatus.from(facts, context: context(expiresIn: 10 * 86_400))
        #expect(warned.state == .succeeded && warned.message?.contains("expires in 10 days") == true, "\(warned.message ?? "")")
        #expect(warned.credential?.clientID == client)
        let expired = DomainStatus.from(facts, context: context(expiresIn: -86_400))
        #expect(expired.message?.contains("expired") == true)

        facts.lastRun = RunRecord(runID: 2, startedAt: now.addingTimeInterval(-20), finishedAt: now.addingTimeInterval(-10), mode: "incremental", state: "failed",
                                  errorClass: "permission_missing", errorMessage: "Graph refused the request.")
        let failed = DomainStatus.from(facts, context: context(expiresIn: 10 * 86_400))
        #expect(failed.state == .failed && failed.message?.hasPrefix("permission removed in the tenant") == true, "\(failed.message ?? "")")
        #expect(failed.credential?.warning != nil)

        facts.lastRun = RunRecord(runID: 3, startedAt: now.addingTimeInterval(-20), finishedAt: now.addingTimeInterval(-10), mode: "incremental", state: "halted",
                                  deletionsPending: 40, deletionLimit: 10)
        let halted = DomainStatus.from(facts, context: context(expiresIn: -86_400))
        #expect(halted.state == .halted && halted.message?.contains("--allow-deletes") == true, "\(halted.message ?? "")")
        #expect(halted.credential?.problem != nil)
    }

    @Test("a domain with its own app registration gets the credential under its own client id")
    func perDomainClientID() {
        let own = UUID()
        let facts = StatusFacts(domain: DomainRecord(domain: "fabrikam.example", tenantID: UUID(), clientID: own))
        let status = DomainStatus.from(facts, context: DomainStatus.Context(now: now, clientID: client, credential: .init(kind: .secret, clientID: client)))
        #expect(status.credential?.clientID == own.uuidString.lowercased())
    }
}
