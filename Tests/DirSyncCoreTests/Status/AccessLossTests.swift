import DirSyncCore
import DirSyncTestDoubles
import Foundation
import Testing

/// Revoked consent, a deleted or disabled app, a removed permission, an expired or wrong credential,
/// and a Graph outage each end in their own class and a message that names them and the fix.
@Suite("Access loss and outages: classes and messages")
struct AccessLossTests {
    private let now = Date(timeIntervalSince1970: 1_800_000_000)
    private let tenant = "8f1c2d3e-0000-4000-8000-000000000001"
    private let client = "11111111-2222-3333-4444-555555555555"

    private func tokenError(_ code: Int) -> GraphError {
        let body = #"{"error":"invalid_client","error_description":"AADSTS\#(code): something","error_codes":[\#(code)]}"#
        return GraphError.classifyToken(response: Fixture.json(401, body), tenant: tenant, clientID: client, url: "https://login.example/t/oauth2/v2.0/token", now: now)
    }

    @Test("token endpoint errors map to the failure classes status explains", arguments: [
        (65001, "consent_missing"), (90094, "consent_missing"), (700016, "app_missing"), (7000229, "app_missing"),
        (7000112, "app_disabled"), (7000222, "credential_expired"), (7000215, "credential_invalid"), (700027, "credential_invalid"),
        (70021, "credential_invalid"), (53003, "unauthorized"),
    ])
    func tokenErrorClasses(code: Int, kind: String) {
        #expect(SyncFailure.classify(tokenError(code)).kind.rawValue == kind, "AADSTS\(code)")
    }

    @Test("an expired secret and a wrong secret say which, and what to do about each")
    func secretMessages() {
        let expired = tokenError(7000222).description
        #expect(expired.contains("has expired") && expired.contains("create a new client secret"), "\(expired)")
        let wrong = tokenError(7000215).description
        #expect(wrong.contains("is invalid") && wrong.contains("value (not the id)"), "\(wrong)")
    }

    @Test("a 403 with a token carrying no roles is consent revoked; with some roles it names the missing permission and what was granted")
    func forbiddenRefinedByRoles() {
        let forbidden = GraphError.classify(response: Fixture.json(403, #"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges"}}"#),
                                            operation: .delta(.users), url: "https://graph.example/v1.0/users/delta", now: now)
        let none = forbidden.refined(grantedRoles: [], operation: .delta(.users))
        #expect(SyncFailure.classify(none).kind == .consentMissing)
        #expect(none.description.contains("carries no application permissions"))
        let some = forbidden.refined(grantedRoles: ["Group.Read.All", "Domain.Read.All"], operation: .delta(.users))
        #expect(SyncFailure.classify(some).kind == .permissionMissing)
        #expect(some.description.contains("User.Read.All") && some.description.contains("granted: Domain.Read.All, Group.Read.All"), "\(some.description)")
        let opaque = forbidden.refined(grantedRoles: nil, operation: .delta(.users))
        #expect(SyncFailure.classify(opaque).kind == .permissionMissing && opaque.tokenRoles == nil)
    }

    @Test("5xx and no response after retries are an outage: how often it was retried, that nothing is lost, that the next run resumes")
    func outageMessage() {
        var error = GraphError(code: .serverError, status: 503, message: "Graph kept failing with a server error (HTTP 503)")
        error.attempts = 4
        let failure = SyncFailure.classify(error)
        #expect(failure.kind == .transport)
        #expect(failure.message.hasPrefix("Graph unavailable, retried 3 times; nothing lost; next run resumes"), "\(failure.message)")
        let timeout = SyncFailure.classify(GraphError(code: .transport, message: "no response from Graph: timed out"))
        #expect(timeout.message.hasPrefix("Graph unavailable"), "\(timeout.message)")
    }

    private func status(errorClass: String, everSucceeded: Bool) -> DomainStatus {
        var facts = StatusFacts(domain: DomainRecord(domain: "contoso.example", tenantID: UUID(uuidString: tenant)!))
        let success = RunRecord(runID: 1, startedAt: now.addingTimeInterval(-7200), finishedAt: now.addingTimeInterval(-7100), mode: "full", state: "succeeded")
        facts.lastSuccess = everSucceeded ? success : nil
        facts.lastRun = RunRecord(runID: 2, startedAt: now.addingTimeInterval(-60), finishedAt: now.addingTimeInterval(-50), mode: "incremental", state: "failed",
                                  errorClass: errorClass, errorMessage: "Graph error detail.")
        return DomainStatus.from(facts, context: DomainStatus.Context(now: now, endpoints: GraphEndpoints(cloud: .global), clientID: client))
    }

    @Test("status names what was lost since the last success, and carries the tenant's consent link", arguments: [
        ("consent_missing", true, "consent revoked in the tenant"), ("consent_missing", false, "admin consent missing"),
        ("app_missing", true, "app deleted in the tenant"), ("app_missing", false, "app not in the tenant"),
        ("permission_missing", true, "permission removed in the tenant"), ("permission_missing", false, "permission missing"),
    ])
    func accessLossMessages(errorClass: String, everSucceeded: Bool, prefix: String) throws {
        let result = status(errorClass: errorClass, everSucceeded: everSucceeded)
        let message = try #require(result.message)
        #expect(result.state == .failed)
        #expect(message.hasPrefix(prefix), "\(message)")
        #expect(message.contains("https://login.microsoftonline.com/\(tenant)/v2.0/adminconsent?client_id=\(client)"), "\(message)")
        #expect(!message.contains("state="), "a status message's link must not change between calls")
        #expect(message.contains("dirsync domains consent-url contoso.example"))
        #expect(message.contains("Graph error detail"))
    }

    @Test("a disabled app says who can turn it back on")
    func disabledApp() {
        #expect(status(errorClass: "app_disabled", everSucceeded: true).message?.hasPrefix("app disabled in the tenant") == true)
    }
}
