import Foundation

/// How dirsync proves its identity to the identity platform.
public enum ClientCredential: Sendable, Equatable, CustomStringConvertible {
    /// A client secret.
    case secret(Secret)
    /// A PEM file with the certificate and its private key.
    case certificate(path: String)
    /// A workload-identity token file (re-read for every token request).
    case federatedTokenFile(path: String)

    public var description: String {
        switch self {
        case .secret: "client secret"
        case .certificate(let path): "certificate \(path)"
        case .federatedTokenFile(let path): "federated token file \(path)"
        }
    }
}

/// Where and as whom the Graph client works. The command line builds it from its flags and the
/// environment; the core takes it as a value.
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
}
