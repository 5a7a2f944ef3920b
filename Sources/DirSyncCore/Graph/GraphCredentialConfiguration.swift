import Foundation

/// How dirsync proves its identity to the identity platform.
public enum ClientCredential: Sendable, Equatable, CustomStringConvertible {
    /// `AZURE_CLIENT_SECRET`.
    case secret(Secret)
    /// `AZURE_CLIENT_CERTIFICATE_PATH`: a PEM file with the certificate and its private key.
    case certificate(path: String)
    /// `AZURE_FEDERATED_TOKEN_FILE`: a workload-identity token (re-read for every token request).
    case federatedTokenFile(path: String)

    public var description: String {
        switch self {
        case .secret: "client secret"
        case .certificate(let path): "certificate \(path)"
        case .federatedTokenFile(let path): "federated token file \(path)"
        }
    }
}

/// Where and as whom the Graph client works, read from an environment dictionary.
///
/// Keys (Azure Identity conventions, graph-delta-facts §6):
/// - `AZURE_CLIENT_ID` (required, a GUID): the application (client) id.
/// - `AZURE_CLIENT_SECRET`, or `AZURE_CLIENT_CERTIFICATE_PATH`, or `AZURE_FEDERATED_TOKEN_FILE`
///   (one required; the secret wins over the certificate, the certificate over the token file).
/// - `AZURE_TENANT_ID` (optional): the default tenant.
/// - `DIRSYNC_CLOUD` (optional: `global`, `usgovernment`, `dod`, `china`; default `global`).
/// - `AZURE_AUTHORITY_HOST` (optional): overrides the cloud's identity platform URL.
/// - `DIRSYNC_GRAPH_URL` (optional): overrides the cloud's Graph root (default `https://graph.microsoft.com`).
public struct GraphCredentialConfiguration: Sendable, Equatable {
    /// The application (client) id.
    public var clientID: String
    /// The credential.
    public var credential: ClientCredential
    /// The default tenant, if configured.
    public var tenantID: String?
    /// The cloud the URLs default to.
    public var cloud: GraphCloud
    /// The Graph and identity-platform URLs.
    public var endpoints: GraphEndpoints

    public init(clientID: String, credential: ClientCredential, tenantID: String? = nil, cloud: GraphCloud = .global, endpoints: GraphEndpoints? = nil) {
        self.clientID = clientID
        self.credential = credential
        self.tenantID = tenantID
        self.cloud = cloud
        self.endpoints = endpoints ?? GraphEndpoints(cloud: cloud)
    }

    /// Reads the configuration from `environment` (the caller passes the process environment; the core never reads it).
    /// - Throws: ``GraphError`` with code ``GraphError/Code/configuration`` and a one-line message naming the variables.
    public init(environment: [String: String]) throws(GraphError) {
        func value(_ key: String) -> String? {
            guard let raw = environment[key]?.trimmingCharacters(in: .whitespacesAndNewlines), !raw.isEmpty else { return nil }
            return raw
        }
        func fail(_ message: String, _ fix: String) -> GraphError {
            GraphError(code: .configuration, message: message, fix: fix)
        }
        guard let clientID = value("AZURE_CLIENT_ID") else {
            throw fail("AZURE_CLIENT_ID is not set", "set AZURE_CLIENT_ID to the application (client) id of the app registration")
        }
        guard UUID(uuidString: clientID) != nil else {
            throw fail("AZURE_CLIENT_ID is not a GUID", "set AZURE_CLIENT_ID to the application (client) id, e.g. 11111111-2222-3333-4444-555555555555")
        }
        let credential: ClientCredential
        if let secret = environment["AZURE_CLIENT_SECRET"], !secret.isEmpty {
            credential = .secret(Secret(secret))
        } else if let path = value("AZURE_CLIENT_CERTIFICATE_PATH") {
            credential = .certificate(path: path)
        } else if let path = value("AZURE_FEDERATED_TOKEN_FILE") {
            credential = .federatedTokenFile(path: path)
        } else {
            throw fail("no credential is configured",
                       "set one of AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH or AZURE_FEDERATED_TOKEN_FILE")
        }
        var cloud = GraphCloud.global
        if let name = value("DIRSYNC_CLOUD") {
            guard let parsed = GraphCloud(name: name) else {
                throw fail("DIRSYNC_CLOUD names no known cloud", "set DIRSYNC_CLOUD to global, usgovernment, dod or china")
            }
            cloud = parsed
        }
        let authority = value("AZURE_AUTHORITY_HOST") ?? cloud.authorityHost
        let graph = value("DIRSYNC_GRAPH_URL") ?? cloud.graphBaseURL
        guard URLOrigin(authority) != nil else {
            throw fail("AZURE_AUTHORITY_HOST is not an absolute http(s) URL", "set AZURE_AUTHORITY_HOST to e.g. https://login.microsoftonline.com")
        }
        guard URLOrigin(graph) != nil else {
            throw fail("DIRSYNC_GRAPH_URL is not an absolute http(s) URL", "set DIRSYNC_GRAPH_URL to e.g. https://graph.microsoft.com")
        }
        self.init(clientID: clientID.lowercased(), credential: credential, tenantID: value("AZURE_TENANT_ID"), cloud: cloud,
                  endpoints: GraphEndpoints(graphBaseURL: graph, authorityHost: authority))
    }
}
