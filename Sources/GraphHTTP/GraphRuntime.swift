import DirSyncCore
import Foundation
import Logging

/// What ``GraphClient/make(environment:version:deadline:logger:)`` built.
public struct GraphRuntime: Sendable {
    /// The ready client.
    public let client: GraphClient
    /// The token source (its request count goes into the run record).
    public let tokens: EntraTokenProvider
    /// The configuration read from the environment (secret redacted in any printout).
    public let configuration: GraphCredentialConfiguration
    /// The libcurl transport every client of this runtime shares (one connection pool).
    let transport: any HTTPTransport
    let logger: Logger

    /// A client with its own request counters over the shared transport and token cache, so a
    /// tenant's run record counts exactly its own requests and throttled responses.
    public func makeClient(logger: Logger? = nil) throws -> GraphClient {
        try GraphClient(configuration: client.configuration, transport: transport, tokens: tokens, logger: logger ?? self.logger)
    }
}

extension GraphClient {
    /// Builds a production client from the environment: libcurl transport, token provider for the
    /// configured credential (secret, certificate via libcrypto, or workload-identity token file).
    ///
    /// Keys: those of ``DirSyncCore/GraphCredentialConfiguration/init(environment:)``, plus
    /// `AZURE_CLIENT_CERTIFICATE_PASSWORD` (optional, for an encrypted key) and `DIRSYNC_CA_FILE`
    /// (optional extra CA bundle, e.g. for a TLS-inspecting proxy).
    ///
    /// - Parameters:
    ///   - environment: the process environment (passed in; tests pass a dictionary).
    ///   - version: dirsync's version for the `User-Agent`.
    ///   - deadline: the run's deadline.
    ///   - retryPolicy: retry settings.
    ///   - logger: the run's logger.
    ///   - connections: concurrent transfers; a run needs two per tenant synced at once (users and
    ///     groups rounds) plus one for token requests.
    /// - Throws: ``DirSyncCore/GraphError`` with code `configuration`.
    public static func make(environment: [String: String], version: String, deadline: Date? = nil,
                            retryPolicy: RetryPolicy = RetryPolicy(), logger: Logger, connections: Int = 3) throws -> GraphRuntime {
        let configuration = try GraphCredentialConfiguration(environment: environment)
        let transport = CurlTransport(configuration: .init(connections: max(1, connections), caFile: environment["DIRSYNC_CA_FILE"].flatMap { $0.isEmpty ? nil : $0 }))
        let material: CredentialMaterial
        switch configuration.credential {
        case .secret(let secret):
            material = .secret(secret)
        case .certificate(let path):
            material = .certificate(try OpenSSLAssertionSigner(pemFile: path, password: environment["AZURE_CLIENT_CERTIFICATE_PASSWORD"]))
        case .federatedTokenFile(let path):
            material = .federatedTokenFile(path: path, reader: FileCredentialReader())
        }
        let tokens = EntraTokenProvider(clientID: configuration.clientID, credential: material, endpoints: configuration.endpoints,
                                        transport: transport, deadline: deadline, logger: logger)
        let client = try GraphClient(configuration: .init(endpoints: configuration.endpoints, version: version, retryPolicy: retryPolicy, deadline: deadline),
                                     transport: transport, tokens: tokens, logger: logger)
        return GraphRuntime(client: client, tokens: tokens, configuration: configuration, transport: transport, logger: logger)
    }
}
