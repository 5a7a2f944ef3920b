import BlockingCalls
import COpenSSL
import DirSyncCore
import Foundation

/// Reads what can be known locally about the configured credential, for `dirsync status`: a
/// certificate's `notAfter`, a workload-identity token's `exp`, or the secret expiry the operator
/// declared. Never reads or keeps more than that: no key is loaded, no token leaves.
public enum CredentialInspection {
    /// ``facts(_:clientID:secretExpiresAt:)`` on a thread of its own: file reads and libcrypto stay off
    /// Swift's cooperative pool.
    public static func inspect(_ credential: ClientCredential, clientID: String, secretExpiresAt: Date?) async throws -> CredentialHealth.Facts {
        let worker = BlockingWorker(name: "dirsync-credential")
        defer { worker.shutdown() }
        return try await worker.run { facts(credential, clientID: clientID, secretExpiresAt: secretExpiresAt) }
    }

    /// - Parameters:
    ///   - credential: the configured credential.
    ///   - clientID: the application (client) id it belongs to.
    ///   - secretExpiresAt: `DIRSYNC_CLIENT_SECRET_EXPIRES_AT`, for a secret.
    public static func facts(_ credential: ClientCredential, clientID: String, secretExpiresAt: Date?) -> CredentialHealth.Facts {
        switch credential {
        case .secret:
            return CredentialHealth.Facts(kind: .secret, clientID: clientID, expiresAt: secretExpiresAt)
        case .certificate(let path):
            var facts = CredentialHealth.Facts(kind: .certificate, clientID: clientID, path: path)
            guard let pem = FileManager.default.contents(atPath: path) else {
                facts.unusable = FileManager.default.fileExists(atPath: path)
                    ? "the certificate file \(path) cannot be read: check its permissions and AZURE_CLIENT_CERTIFICATE_PATH"
                    : "the certificate file \(path) does not exist: check AZURE_CLIENT_CERTIFICATE_PATH and the volume it is mounted from"
                return facts
            }
            guard let notAfter = CertificateValidity.notAfter(pem: Array(pem)) else {
                facts.unusable = "\(path) contains no PEM certificate: put the certificate (BEGIN CERTIFICATE) and its private key in one PEM file"
                return facts
            }
            facts.expiresAt = notAfter
            return facts
        case .federatedTokenFile(let path):
            var facts = CredentialHealth.Facts(kind: .federated, clientID: clientID, path: path)
            guard FileManager.default.fileExists(atPath: path) else {
                facts.unusable = "the federated token file \(path) does not exist: check AZURE_FEDERATED_TOKEN_FILE and the pod's azure-identity-token volume mount"
                return facts
            }
            guard let data = FileManager.default.contents(atPath: path) else {
                facts.unusable = "the federated token file \(path) cannot be read: check its permissions and the pod's azure-identity-token volume mount"
                return facts
            }
            let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !token.isEmpty else {
                facts.unusable = "the federated token file \(path) is empty: check the pod's azure-identity-token volume mount"
                return facts
            }
            facts.expiresAt = JWTClaims.expiry(of: token)
            return facts
        }
    }
}

/// A certificate's validity end, read with libcrypto.
enum CertificateValidity {
    /// The `notAfter` of the first certificate in `pem`; `nil` when there is none.
    static func notAfter(pem: [UInt8]) -> Date? {
        ERR_clear_error()
        defer { ERR_clear_error() }
        guard let certificate = OpenSSLAssertionSigner.readPEM(pem, { bio in PEM_read_bio_X509(bio, nil, nil, nil) }) else { return nil }
        defer { X509_free(certificate) }
        return notAfter(certificate)
    }

    /// The `notAfter` of a loaded `X509*` (borrowed, not freed here).
    static func notAfter(_ certificate: OpaquePointer) -> Date? {
        guard let time = X509_get0_notAfter(certificate) else { return nil }
        var parts = tm()
        guard ASN1_TIME_to_tm(time, &parts) == 1 else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(timegm(&parts)))
    }
}
