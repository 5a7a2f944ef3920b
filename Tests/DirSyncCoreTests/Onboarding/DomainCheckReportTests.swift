import DirSyncCore
import Foundation
import Testing

@Suite("domain check judgement")
struct DomainCheckReportTests {
    static let tenant = UUID(uuidString: "72f988bf-86f1-41af-91ab-2d7cd011db47")!
    static let all = Set(GraphPermission.allCases.map(\.rawValue))

    private func facts(roles: Set<String>? = all, lookup: DomainLookup = .verified,
                       probes: [GraphPermission: ProbeResult] = [.userReadAll: .allowed, .groupReadAll: .allowed, .groupMemberReadAll: .allowed]) -> DomainCheckFacts {
        var facts = DomainCheckFacts(domain: "contoso.com", clientID: "11111111-2222-3333-4444-555555555555")
        facts.tenantID = Self.tenant
        facts.tenantSource = .onboarded
        facts.token = .acquired(roles: roles)
        facts.domainLookup = lookup
        facts.probes = probes
        facts.consentURL = "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0/adminconsent?client_id=x&scope=y&state=z"
        return facts
    }

    private func line(_ report: DomainCheckReport, _ check: String) throws -> DomainCheckReport.Line {
        try #require(report.lines.first { $0.check == check })
    }

    @Test("a healthy tenant passes every check in a fixed order and has no status message")
    func healthy() {
        let report = DomainCheckReport.evaluate(facts())
        #expect(report.ok)
        #expect(report.lines.map(\.check) == ["tenant", "token", "consent", "domain", "User.Read.All", "Group.Read.All", "GroupMember.Read.All", "Directory.Read.All"])
        #expect(report.lines.allSatisfy { $0.outcome == .passed })
        #expect(report.statusMessage == nil && report.domainVerified == true && !report.consentMissing)
    }

    @Test("a token without roles means no consent: awaiting consent, with the consent URL as the fix")
    func noConsent() throws {
        let report = DomainCheckReport.evaluate(facts(roles: [], lookup: .denied, probes: [.userReadAll: .denied, .groupReadAll: .denied]))
        #expect(!report.ok && report.consentMissing)
        #expect(try line(report, "consent").outcome == .failed)
        #expect(try line(report, "consent").fix?.contains("/v2.0/adminconsent?") == true)
        #expect(report.statusMessage?.hasPrefix("awaiting consent") == true)
        #expect(report.missingPermissions == GraphPermission.allCases)
    }

    @Test("the app missing from the tenant (AADSTS700016) is also awaiting consent")
    func appNotInTenant() {
        var f = facts()
        f.token = .consentMissing("application … is not installed in tenant …")
        let report = DomainCheckReport.evaluate(f)
        #expect(report.consentMissing && report.statusMessage?.hasPrefix("awaiting consent") == true)
        #expect(report.lines.filter { $0.outcome == .skipped }.count == 5)
    }

    @Test("unreadable token: every probe refused also means no consent")
    func opaqueTokenNoConsent() {
        let report = DomainCheckReport.evaluate(facts(roles: nil, lookup: .denied, probes: [.userReadAll: .denied, .groupReadAll: .denied, .groupMemberReadAll: .notProbed("no group could be listed")]))
        #expect(report.consentMissing)
    }

    @Test("one role missing from the token fails that permission even though a broader one makes the read work")
    func oneRoleMissing() throws {
        let report = DomainCheckReport.evaluate(facts(roles: Self.all.subtracting(["GroupMember.Read.All"])))
        #expect(!report.ok && !report.consentMissing)
        #expect(report.missingPermissions == [.groupMemberReadAll])
        #expect(try line(report, "GroupMember.Read.All").outcome == .failed)
        #expect(try line(report, "Group.Read.All").outcome == .passed)
        #expect(report.statusMessage?.hasPrefix("permission missing: GroupMember.Read.All:") == true)
    }

    @Test("a 403 on a probe fails its permission; domains refused means Directory.Read.All is missing")
    func deniedProbes() throws {
        let report = DomainCheckReport.evaluate(facts(roles: nil, lookup: .denied, probes: [.userReadAll: .allowed, .groupReadAll: .denied, .groupMemberReadAll: .notProbed("no group could be listed")]))
        #expect(report.missingPermissions == [.groupReadAll, .directoryReadAll])
        #expect(try line(report, "GroupMember.Read.All").outcome == .skipped)
        #expect(try line(report, "domain").outcome == .skipped)
    }

    @Test("an unverified domain or one of another tenant fails the domain check with the fix")
    func unverified() throws {
        let report = DomainCheckReport.evaluate(facts(lookup: .unverified))
        #expect(!report.ok && report.domainVerified == false)
        #expect(try line(report, "domain").fix?.contains("Domain names") == true)
        #expect(report.statusMessage?.hasPrefix("domain not verified:") == true)
        #expect(DomainCheckReport.evaluate(facts(lookup: .notInTenant)).statusMessage?.hasPrefix("domain not verified:") == true)
    }

    @Test("an unknown tenant fails first and skips the rest")
    func unknownTenant() {
        var f = DomainCheckFacts(domain: "nowhere.example", clientID: "x")
        f.tenantFailure = "no Microsoft Entra tenant uses the domain nowhere.example in this cloud"
        let report = DomainCheckReport.evaluate(f)
        #expect(report.lines.first?.outcome == .failed)
        #expect(report.lines.dropFirst().allSatisfy { $0.outcome == .skipped })
        #expect(report.lines.count == 8)
    }

    @Test("a credential problem is a failed token, not missing consent")
    func badCredential() {
        var f = facts()
        f.token = .failed("Graph error invalidClientSecret (HTTP 401, AADSTS7000215). the client secret … is wrong.")
        let report = DomainCheckReport.evaluate(f)
        #expect(!report.ok && !report.consentMissing && report.statusMessage?.hasPrefix("check failed:") == true)
    }
}
