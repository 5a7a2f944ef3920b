import DirSyncCore
import Foundation
import Logging

/// What the Graph wiring needs beyond the core's credential configuration, as plain values.
public struct GraphRuntimeSettings: Sendable {
    /// Who the app is, its credential, and the Graph and identity-platform URLs.
    public var credentials: GraphCredentialConfiguration
    /// An extra CA bundle (a TLS-inspecting proxy's root); TLS verification is always on.
    public var caFile: String?
    /// The password of an encrypted certificate private key.
    public var certificatePassword: Secret?
    /// The properties selected and read for each object type.
    public var schema: DirectorySchema

    public init(credentials: GraphCredentialConfiguration, caFile: String? = nil, certificatePassword: Secret? = nil, schema: DirectorySchema = .standard) {
        self.credentials = credentials
        self.caFile = caFile
        self.certificatePassword = certificatePassword
        self.schema = schema
    }
}

/// A ready Graph client with its transport and token cache, built from ``GraphRuntimeSettings``.
public struct GraphRuntime: Sendable {
    /// The ready client.
    public let client: GraphClient
    /// The token source (its request count goes into the run record).
    public let tokens: EntraTokenProvider
    /// The credential configuration (the secret is redacted in any printout).
    public let configuration: GraphCredentialConfiguration
    /// The libcurl transport every client of this runtime shares (one connection pool).
    let transport: any HTTPTransport
    let time: any TimeSource
    let logger: Logger
    let profiler: any Profiler

    /// A client with its own request counters over the shared transport and token cache, so a
    /// tenant's run record counts exactly its own requests and throttled responses.
    public func makeClient(logger: Logger? = nil) throws -> GraphClient {
        try GraphClient(configuration: client.configuration, transport: transport, tokens: tokens, time: time, logger: logger ?? self.logger,
                        profiler: profiler)
    }

    /// Builds the production wiring: libcurl transport, and a token provider for the configured
    /// credential (secret, certificate signed with libcrypto, or workload-identity token file).
    ///
    /// - Parameters:
    ///   - settings: credential, URLs, CA file, certificate password.
    ///   - version: dirsync's version for the `User-Agent`.
    ///   - deadline: the run's deadline.
    ///   - retryPolicy: retry settings.
    ///   - logger: the run's logger.
    ///   - connections: concurrent transfers; a run needs one per round in flight (three per tenant
    ///     synced at once) plus one for token requests.
    ///   - profiler: counts the CPU of transfers and decoding.
    ///   - time: the clock token expiry, deadlines and retry waits are measured with (tests pass one they control).
    /// - Throws: ``DirSyncCore/GraphError`` with code `configuration` (for example an unreadable certificate).
    public static func make(_ settings: GraphRuntimeSettings, version: String, deadline: Date? = nil, retryPolicy: RetryPolicy = RetryPolicy(),
                            logger: Logger, connections: Int = 3, profiler: any Profiler = NoProfiler(),
                            time: any TimeSource = SystemTimeSource()) async throws -> GraphRuntime {
        let configuration = settings.credentials
        let transport = CurlTransport(configuration: .init(connections: max(1, connections), caFile: settings.caFile), profiler: profiler)
        let material: CredentialMaterial
        switch configuration.credential {
        case .secret(let secret):
            material = .secret(secret)
        case .certificate(let path):
            material = .certificate(try await OpenSSLAssertionSigner.load(pemFile: path, password: settings.certificatePassword?.value))
        case .federatedTokenFile(let path):
            material = .federatedTokenFile(path: path, reader: FileCredentialReader())
        }
        let tokens = EntraTokenProvider(clientID: configuration.clientID, credential: material, endpoints: configuration.endpoints,
                                        transport: transport, time: time, deadline: deadline, logger: logger)
        let client = try GraphClient(configuration: .init(endpoints: configuration.endpoints, version: version, retryPolicy: retryPolicy, deadline: deadline,
                                                          schema: settings.schema),
                                     transport: transport, tokens: tokens, time: time, logger: logger, profiler: profiler)
        return GraphRuntime(client: client, tokens: tokens, configuration: configuration, transport: transport, time: time, logger: logger,
                            profiler: profiler)
    }
}

extension GraphClient {
    /// A client for requests that need no token (tenant discovery from a domain's OpenID
    /// configuration), for commands that work without a credential.
    /// - Parameter clientID: the app whose id such requests name, if any.
    public static func withoutCredential(endpoints: GraphEndpoints, clientID: String?, version: String, caFile: String?, logger: Logger) throws -> GraphClient {
        try GraphClient(configuration: .init(endpoints: endpoints, version: version), transport: CurlTransport(configuration: .init(caFile: caFile)),
                        tokens: NoTokens(clientID: clientID ?? ""), logger: logger)
    }
}

/// A token source for requests that need none; asking it for a token is a configuration error.
private struct NoTokens: AccessTokenSource {
    let clientID: String
    var defaultClientID: String { clientID }
    func token(for key: TokenKey) async throws -> AccessToken {
        throw GraphError(code: .configuration, message: "no credential is configured for this command",
                         fix: "set AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH or AZURE_FEDERATED_TOKEN_FILE")
    }
    func invalidate(_ token: AccessToken, for key: TokenKey) {}
}
