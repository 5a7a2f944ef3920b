import DirSyncCore
@testable import dirsync
import Foundation
import GraphHTTP
import Testing

@Suite("Configuration: one typed value from flags and environment")
struct ConfigurationTests {
    private let clientID = "11111111-2222-3333-4444-555555555555"
    private let identity = RunIdentity(host: "test", processID: 1)

    private func configuration(_ variables: [String: String], overrides: Configuration.Overrides = .init()) throws(ConfigurationError) -> Configuration {
        try Configuration(environment: ProcessEnvironment(variables), overrides: overrides, identity: identity)
    }

    @Test("the secret wins over the certificate, which wins over the token file")
    func credentialPrecedence() throws {
        var env = ["AZURE_CLIENT_ID": clientID, "AZURE_CLIENT_SECRET": "s3cr3t", "AZURE_CLIENT_CERTIFICATE_PATH": "/c.pem", "AZURE_FEDERATED_TOKEN_FILE": "/t"]
        #expect(try configuration(env).graphSettings().credentials.credential == .secret(Secret("s3cr3t")))
        env["AZURE_CLIENT_SECRET"] = nil
        #expect(try configuration(env).graphSettings().credentials.credential == .certificate(path: "/c.pem"))
        env["AZURE_CLIENT_CERTIFICATE_PATH"] = nil
        let settings = try configuration(env).graphSettings()
        #expect(settings.credentials.credential == .federatedTokenFile(path: "/t"))
        #expect(settings.credentials.endpoints.graphBaseURL == "https://graph.microsoft.com")
        #expect(settings.credentials.endpoints.authorityHost == "https://login.microsoftonline.com")
    }

    @Test("URLs and cloud come from DIRSYNC_CLOUD, AZURE_AUTHORITY_HOST and DIRSYNC_GRAPH_URL")
    func urlOverrides() throws {
        let gov = try configuration(["AZURE_CLIENT_ID": clientID, "AZURE_CLIENT_SECRET": "x", "DIRSYNC_CLOUD": "usgovernment", "AZURE_TENANT_ID": "t"])
        #expect(gov.endpoints.graphBaseURL == "https://graph.microsoft.us")
        #expect(gov.endpoints.authorityHost == "https://login.microsoftonline.us")
        #expect(try gov.graphSettings().credentials.tenantID == "t")
        let sim = try configuration(["AZURE_CLIENT_ID": clientID, "AZURE_CLIENT_SECRET": "x",
                                     "AZURE_AUTHORITY_HOST": "http://127.0.0.1:9000/", "DIRSYNC_GRAPH_URL": "http://127.0.0.1:9000"])
        #expect(sim.endpoints.tokenURL(tenant: "t") == "http://127.0.0.1:9000/t/oauth2/v2.0/token")
        #expect(sim.endpoints.initialDeltaURL(.users).hasPrefix("http://127.0.0.1:9000/v1.0/users/delta?$select="))
    }

    @Test("flags win over the environment, and --cloud does not change the environment")
    func flagsWin() throws {
        let environment = ProcessEnvironment(["AZURE_CLIENT_ID": clientID, "DIRSYNC_CLOUD": "global"])
        let config = try Configuration(environment: environment, overrides: .init(cloud: "china", clientID: "99999999-8888-7777-6666-555555555555"), identity: identity)
        #expect(config.cloud == .china)
        #expect(config.endpoints.graphBaseURL == "https://microsoftgraph.chinacloudapi.cn")
        #expect(config.clientID == "99999999-8888-7777-6666-555555555555")
        #expect(environment.value("DIRSYNC_CLOUD") == "global")
    }

    @Test("a command that needs no credential works without one; one that does names what is missing")
    func credentialOnlyWhenNeeded() throws {
        let config = try configuration(["DIRSYNC_CLOUD": "usgov"])
        #expect(config.clientID == nil)
        #expect(config.endpoints.authorityHost == "https://login.microsoftonline.us")
        #expect(throws: ConfigurationError.self) { try config.graphSettings() }
    }

    @Test("errors are one clear line naming the variable, without the secret", arguments: [
        ([String: String](), "AZURE_CLIENT_ID"),
        (["AZURE_CLIENT_ID": "not-a-guid", "AZURE_CLIENT_SECRET": "hunter2"], "AZURE_CLIENT_ID"),
        (["AZURE_CLIENT_ID": "11111111-2222-3333-4444-555555555555"], "AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH or AZURE_FEDERATED_TOKEN_FILE"),
        (["AZURE_CLIENT_ID": "11111111-2222-3333-4444-555555555555", "AZURE_CLIENT_SECRET": "hunter2", "DIRSYNC_CLOUD": "mars"], "DIRSYNC_CLOUD"),
        (["AZURE_CLIENT_ID": "11111111-2222-3333-4444-555555555555", "AZURE_CLIENT_SECRET": "hunter2", "DIRSYNC_GRAPH_URL": "graph"], "DIRSYNC_GRAPH_URL"),
        (["AZURE_CLIENT_ID": "11111111-2222-3333-4444-555555555555", "AZURE_CLIENT_SECRET": "hunter2", "AZURE_AUTHORITY_HOST": "x"], "AZURE_AUTHORITY_HOST"),
    ])
    func errors(env: [String: String], mentions: String) {
        do {
            _ = try configuration(env).graphSettings()
            Issue.record("expected a configuration error")
        } catch {
            #expect(error.description.contains(mentions))
            #expect(!error.description.contains("hunter2"))
            #expect(!error.description.contains("\n"))
        }
    }

    @Test("--now stops the clock at the given instant; without it the clock runs")
    func clock() throws {
        let instant = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(try configuration([:], overrides: .init(now: instant)).time.now() == instant)
        #expect(abs(try configuration([:]).time.now().timeIntervalSinceNow) < 60)
    }

    @Test("DIRSYNC_PROFILE=1 turns CPU profiling on; anything else leaves it off")
    func profile() throws {
        #expect(try configuration(["DIRSYNC_PROFILE": "1"]).profile)
        #expect(try !configuration(["DIRSYNC_PROFILE": "yes"]).profile)
        #expect(try !configuration([:]).profile)
    }
}

@Suite("Configuration: credential expiry settings")
struct CredentialSettingsTests {
    private func configuration(_ variables: [String: String]) throws(ConfigurationError) -> Configuration {
        try Configuration(environment: ProcessEnvironment(variables), identity: RunIdentity(host: "test", processID: 1))
    }

    @Test("DIRSYNC_CLIENT_SECRET_EXPIRES_AT and DIRSYNC_CREDENTIAL_WARNING_DAYS are read once, and a malformed value names itself and the fix")
    func expirySettings() throws {
        let set = try configuration(["DIRSYNC_CLIENT_SECRET_EXPIRES_AT": "2027-06-30", "DIRSYNC_CREDENTIAL_WARNING_DAYS": "45"])
        #expect(set.secretExpiresAt == (try Date("2027-06-30T23:59:59Z", strategy: .iso8601)))
        #expect(set.credentialWarningWindow == 45 * 86_400)
        #expect(try configuration([:]).credentialWarningWindow == 30 * 86_400)
        for (name, value) in [("DIRSYNC_CLIENT_SECRET_EXPIRES_AT", "June 2027"), ("DIRSYNC_CREDENTIAL_WARNING_DAYS", "0"), ("DIRSYNC_CREDENTIAL_WARNING_DAYS", "soon")] {
            #expect { try configuration([name: value]) } throws: { error in
                (error as? ConfigurationError)?.message.hasPrefix(name) == true
            }
        }
    }
}
