import Foundation

/// Which token: one per (tenant, application) pair.
public struct TokenKey: Sendable, Hashable, CustomStringConvertible {
    /// The tenant GUID or domain name.
    public var tenantID: String
    /// The application (client) id.
    public var clientID: String

    public init(tenantID: String, clientID: String) {
        self.tenantID = tenantID
        self.clientID = clientID
    }

    public var description: String { "tenant \(tenantID), client \(clientID)" }
}

/// Hands out Graph access tokens. The Graph client asks before every request and reports a token
/// that Graph rejected with 401, so the source can drop it.
public protocol AccessTokenSource: Sendable {
    /// The application (client) id used when a call does not name one.
    var defaultClientID: String { get }
    /// A token valid for a while yet (cached when possible).
    func token(for key: TokenKey) async throws -> AccessToken
    /// Forgets `token` if it is still the cached one, so the next ``token(for:)`` fetches a new one.
    func invalidate(_ token: AccessToken, for key: TokenKey)
}

/// Signs a client assertion (the certificate credential). Implemented with libcrypto in GraphHTTP.
public protocol AssertionSigner: Sendable {
    /// base64url of the SHA-256 of the certificate's DER encoding, for the JWT header `x5t#S256`.
    var certificateThumbprintSHA256: String { get }
    /// The RSA-PSS SHA-256 (PS256) signature of `message`.
    func signPS256(_ message: [UInt8]) async throws -> [UInt8]
    /// The certificate's `notAfter`, when known: token requests stop once it has passed.
    var certificateNotAfter: Date? { get }
}

extension AssertionSigner {
    public var certificateNotAfter: Date? { nil }
}

/// Reads a small credential file, such as the Kubernetes projected service-account token.
public protocol CredentialFileReader: Sendable {
    /// The file's contents, read afresh on every call (the kubelet rotates the file).
    func read(path: String) async throws -> String
}
