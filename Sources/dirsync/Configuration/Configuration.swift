import DirSyncCore
import Foundation
import GraphHTTP
import PostgresStore

/// A setting that cannot be used: names the setting and the fix; the command exits 2.
struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Everything a command needs to know about where and as whom it works, built once per command from
/// its flags and the environment (flags win). The core and the adapters receive these values; they
/// never read the environment themselves.
///
/// Environment variables (Azure ones follow Azure Identity's conventions):
/// - `DATABASE_URL`: a `postgresql://` URI or a `key=value` string; unset, libpq's `PG*` variables apply.
/// - `AZURE_CLIENT_ID`: the app registration's application (client) id, a GUID (`--client-id` wins).
/// - `AZURE_CLIENT_SECRET`, `AZURE_CLIENT_CERTIFICATE_PATH` (+ `AZURE_CLIENT_CERTIFICATE_PASSWORD`) or
///   `AZURE_FEDERATED_TOKEN_FILE`: the credential; when several are set the secret wins, then the certificate.
/// - `AZURE_TENANT_ID`: a default tenant (optional).
/// - `DIRSYNC_CLOUD`: `global`, `usgovernment`, `dod` or `china` (`--cloud` wins); default `global`.
/// - `AZURE_AUTHORITY_HOST`, `DIRSYNC_GRAPH_URL`: override the cloud's identity platform and Graph URLs.
/// - `DIRSYNC_CA_FILE`: an extra CA bundle; TLS verification is always on.
/// - `DIRSYNC_USER_PROPERTIES`, `DIRSYNC_GROUP_PROPERTIES`: extra Graph properties to keep in the
///   `attributes` column, comma-separated (`--user-properties`/`--group-properties` on `run` win).
/// - `DIRSYNC_CLIENT_SECRET_EXPIRES_AT`: when the client secret expires (ISO 8601 date or date-time;
///   Entra does not tell clients), so `status` warns before it does.
/// - `DIRSYNC_CREDENTIAL_WARNING_DAYS`: how many days before a secret or certificate expires `status`
///   warns (default 30).
/// - `DIRSYNC_PROFILE=1`: count CPU per phase and print it when `run` ends (for `scripts/bench`).
///
/// Malformed values fail at once; missing ones only when a command needs them (``graphSettings()``).
struct Configuration: Sendable {
    /// Where PostgreSQL is.
    var database: PostgresConfiguration
    /// Whether `DATABASE_URL` is set: commands that can work without a database use one only then.
    var databaseURLIsSet: Bool
    /// The Microsoft cloud.
    var cloud: GraphCloud
    /// Graph's and the identity platform's URLs.
    var endpoints: GraphEndpoints
    /// The application (client) id, from `--client-id` or `AZURE_CLIENT_ID`.
    var clientID: String?
    /// The credential, if one is configured.
    var credential: ClientCredential?
    /// `AZURE_TENANT_ID`.
    var tenantID: String?
    /// `DIRSYNC_CA_FILE`.
    var caFile: String?
    /// `AZURE_CLIENT_CERTIFICATE_PASSWORD`.
    var certificatePassword: Secret?
    /// `DIRSYNC_CLIENT_SECRET_EXPIRES_AT`.
    var secretExpiresAt: Date?
    /// `DIRSYNC_CREDENTIAL_WARNING_DAYS`, in seconds.
    var credentialWarningWindow: TimeInterval
    /// Whether to count CPU per phase (`DIRSYNC_PROFILE=1`).
    var profile: Bool
    /// The properties each object type's rounds select and store: the contract's, plus the ones the
    /// operator chose.
    var schema: DirectorySchema
    /// This process, recorded with the runs it starts.
    var identity: RunIdentity
    /// The clock commands read "now" from.
    var time: any TimeSource

    /// Flags that override the environment.
    struct Overrides: Sendable {
        /// `--cloud`.
        var cloud: String?
        /// `--client-id`.
        var clientID: String?
        /// `--now` (hidden; tests age status with it).
        var now: Date?
        /// `--user-properties`.
        var userProperties: String?
        /// `--group-properties`.
        var groupProperties: String?
    }

    /// Builds the configuration.
    /// - Throws: ``ConfigurationError`` for the first malformed value, naming it and the fix.
    init(environment: ProcessEnvironment, overrides: Overrides = Overrides(),
         identity: RunIdentity = RunIdentity(host: ProcessInfo.processInfo.hostName, processID: Int(ProcessInfo.processInfo.processIdentifier))) throws(ConfigurationError) {
        func fail(_ message: String) -> ConfigurationError { ConfigurationError(message: message) }

        let url = environment.value("DATABASE_URL")
        database = PostgresConfiguration(connectionString: url)
        databaseURLIsSet = url != nil

        if let name = overrides.cloud {
            guard let parsed = GraphCloud(name: name) else { throw fail("--cloud '\(name)' names no known cloud: use global, usgovernment, dod or china") }
            cloud = parsed
        } else if let name = environment.value("DIRSYNC_CLOUD") {
            guard let parsed = GraphCloud(name: name) else { throw fail("DIRSYNC_CLOUD names no known cloud: set it to global, usgovernment, dod or china") }
            cloud = parsed
        } else {
            cloud = .global
        }
        let authority = environment.value("AZURE_AUTHORITY_HOST") ?? cloud.authorityHost
        let graph = environment.value("DIRSYNC_GRAPH_URL") ?? cloud.graphBaseURL
        guard URLOrigin(authority) != nil else {
            throw fail("AZURE_AUTHORITY_HOST is not an absolute http(s) URL: set it to e.g. https://login.microsoftonline.com")
        }
        guard URLOrigin(graph) != nil else {
            throw fail("DIRSYNC_GRAPH_URL is not an absolute http(s) URL: set it to e.g. https://graph.microsoft.com")
        }
        endpoints = GraphEndpoints(graphBaseURL: graph, authorityHost: authority)

        if let id = overrides.clientID {
            guard UUID(uuidString: id) != nil else { throw fail("--client-id '\(id)' is not a GUID (like 11111111-2222-3333-4444-555555555555)") }
            clientID = id.lowercased()
        } else if let id = environment.value("AZURE_CLIENT_ID") {
            guard UUID(uuidString: id) != nil else {
                throw fail("AZURE_CLIENT_ID is not a GUID: set it to the application (client) id, e.g. 11111111-2222-3333-4444-555555555555")
            }
            clientID = id.lowercased()
        } else {
            clientID = nil
        }
        if let secret = environment.raw("AZURE_CLIENT_SECRET") {
            credential = .secret(Secret(secret))
        } else if let path = environment.value("AZURE_CLIENT_CERTIFICATE_PATH") {
            credential = .certificate(path: path)
        } else if let path = environment.value("AZURE_FEDERATED_TOKEN_FILE") {
            credential = .federatedTokenFile(path: path)
        } else {
            credential = nil
        }
        tenantID = environment.value("AZURE_TENANT_ID")
        caFile = environment.value("DIRSYNC_CA_FILE")
        certificatePassword = environment.raw("AZURE_CLIENT_CERTIFICATE_PASSWORD").map(Secret.init)
        if let text = environment.value("DIRSYNC_CLIENT_SECRET_EXPIRES_AT") {
            guard let date = CredentialHealth.parseExpiry(text) else {
                throw fail("DIRSYNC_CLIENT_SECRET_EXPIRES_AT '\(text)' is not an ISO 8601 date: set it to the secret's expiry as the app registration shows it, e.g. 2027-06-30 or 2027-06-30T12:00:00Z")
            }
            secretExpiresAt = date
        } else {
            secretExpiresAt = nil
        }
        if let text = environment.value("DIRSYNC_CREDENTIAL_WARNING_DAYS") {
            guard let days = Int(text), (1...3650).contains(days) else {
                throw fail("DIRSYNC_CREDENTIAL_WARNING_DAYS '\(text)' is not a number of days: set it to a whole number from 1 to 3650 (default 30)")
            }
            credentialWarningWindow = TimeInterval(days) * 86_400
        } else {
            credentialWarningWindow = CredentialHealth.defaultWarningWindow
        }
        profile = environment.value("DIRSYNC_PROFILE") == "1"
        func chosen(_ table: FieldTable, flag: String, _ override: String?, variable: String) throws(ConfigurationError) -> FieldTable {
            let (text, setting) = override.map { ($0, flag) } ?? (environment.raw(variable) ?? "", variable)
            do {
                return table.selecting(attributes: try PropertySelection.parse(text, for: table, setting: setting).names)
            } catch {
                throw fail(error.description)
            }
        }
        schema = DirectorySchema(
            users: try chosen(.users, flag: "--user-properties", overrides.userProperties, variable: "DIRSYNC_USER_PROPERTIES"),
            groups: try chosen(.groups, flag: "--group-properties", overrides.groupProperties, variable: "DIRSYNC_GROUP_PROPERTIES"))
        self.identity = identity
        time = overrides.now.map(FixedTimeSource.init) ?? SystemTimeSource()
    }

    /// The app id and credential for commands that get tokens.
    /// - Throws: ``ConfigurationError`` naming what is missing.
    func graphSettings() throws(ConfigurationError) -> GraphRuntimeSettings {
        guard let clientID else {
            throw ConfigurationError(message: "AZURE_CLIENT_ID is not set: set it to the application (client) id of the app registration")
        }
        guard let credential else {
            throw ConfigurationError(message: "no credential is configured: set one of AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH or AZURE_FEDERATED_TOKEN_FILE")
        }
        return GraphRuntimeSettings(
            credentials: GraphCredentialConfiguration(clientID: clientID, credential: credential, tenantID: tenantID, cloud: cloud, endpoints: endpoints),
            caFile: caFile, certificatePassword: certificatePassword, schema: schema)
    }
}

extension Configuration {
    /// What `status` needs beyond the database: the time, the consent link's parts and the credential.
    /// The credential is inspected only when both a client id and a credential are configured.
    func statusContext() async throws -> DomainStatus.Context {
        var credentialFacts: CredentialHealth.Facts?
        if let clientID, let credential {
            credentialFacts = try await CredentialInspection.inspect(credential, clientID: clientID, secretExpiresAt: secretExpiresAt)
        }
        return DomainStatus.Context(now: time.now(), endpoints: endpoints, clientID: clientID, credential: credentialFacts,
                                    credentialWarningWindow: credentialWarningWindow)
    }
}

/// A clock stopped at one instant (`--now`), so tests can age a status without waiting.
struct FixedTimeSource: TimeSource {
    let instant: Date

    init(_ instant: Date) { self.instant = instant }

    func now() -> Date { instant }

    func sleep(seconds: TimeInterval) async throws {
        try await SystemTimeSource().sleep(seconds: seconds)
    }
}
