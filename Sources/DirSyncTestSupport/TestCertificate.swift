import COpenSSL
import Foundation

/// Self-signed RSA certificates with a chosen validity window, made with libcrypto, for tests of
/// certificate credentials (the openssl command line cannot make one that has already expired).
package enum TestCertificate {
    package struct Made: Sendable {
        /// The certificate alone, PEM (to register with graph-sim's app).
        package var certificatePEM: String
        /// Certificate and private key, PEM (for `AZURE_CLIENT_CERTIFICATE_PATH`).
        package var combinedPEM: String
    }

    package struct Failure: Error, CustomStringConvertible {
        package var description: String
    }

    /// - Parameters:
    ///   - notBefore: seconds from now the certificate becomes valid (negative: in the past).
    ///   - notAfter: seconds from now it expires (negative: already expired).
    package static func make(notBefore: Int = -86_400, notAfter: Int) throws -> Made {
        guard let context = EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, nil) else { throw Failure(description: "EVP_PKEY_CTX_new_id") }
        defer { EVP_PKEY_CTX_free(context) }
        var key: OpaquePointer?
        guard EVP_PKEY_keygen_init(context) == 1, EVP_PKEY_keygen(context, &key) == 1, let key else { throw Failure(description: "RSA key generation") }
        defer { EVP_PKEY_free(key) }
        guard let certificate = X509_new() else { throw Failure(description: "X509_new") }
        defer { X509_free(certificate) }
        guard X509_set_version(certificate, 2) == 1,
              ASN1_INTEGER_set(X509_get_serialNumber(certificate), Int.random(in: 1...Int(Int32.max))) == 1,
              X509_time_adj_ex(X509_getm_notBefore(certificate), 0, notBefore, nil) != nil,
              X509_time_adj_ex(X509_getm_notAfter(certificate), 0, notAfter, nil) != nil,
              X509_set_pubkey(certificate, key) == 1,
              let name = X509_get_subject_name(certificate),
              X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, "dirsync-test", -1, -1, 0) == 1,
              X509_set_issuer_name(certificate, name) == 1,
              X509_sign(certificate, key, EVP_sha256()) > 0
        else { throw Failure(description: "building the certificate") }
        let certificatePEM = try pem { PEM_write_bio_X509($0, certificate) }
        let keyPEM = try pem { PEM_write_bio_PrivateKey($0, key, nil, nil, 0, nil, nil) }
        return Made(certificatePEM: certificatePEM, combinedPEM: certificatePEM + keyPEM)
    }

    private static func pem(_ write: (OpaquePointer) -> Int32) throws -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { throw Failure(description: "BIO_new") }
        defer { BIO_free(bio) }
        guard write(bio) == 1 else { throw Failure(description: "PEM_write") }
        var pointer: UnsafeMutablePointer<CChar>?
        let length = copenssl_bio_get_mem_data(bio, &pointer)
        guard let pointer, length > 0 else { throw Failure(description: "BIO_get_mem_data") }
        return String(decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self)
    }
}
