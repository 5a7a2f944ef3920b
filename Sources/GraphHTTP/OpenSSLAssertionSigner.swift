import BlockingCalls
import COpenSSL
import DirSyncCore
import Foundation

/// Signs certificate client assertions with libcrypto: PS256 (RSA-PSS, SHA-256, salt = digest length).
///
/// Loads a PEM file holding the certificate and its RSA private key (PKCS#8 or PKCS#1, optionally
/// encrypted with a password). The `X509*` and `EVP_PKEY*` are owned here and freed in `deinit`.
/// Errors name the file and the problem, never key material.
public final class OpenSSLAssertionSigner: AssertionSigner, @unchecked Sendable {
    // @unchecked: the key and certificate are immutable after init; signing creates a fresh
    // EVP_MD_CTX per call and is serialised by `lock` anyway.
    private let certificate: OpaquePointer
    private let key: OpaquePointer
    private let lock = NSLock()
    public let certificateThumbprintSHA256: String
    /// The certificate's DER encoding.
    public let certificateDER: [UInt8]
    /// The certificate's `notAfter`; token requests stop once it has passed.
    public let certificateNotAfter: Date?

    /// Loads the certificate and key from a PEM file.
    /// - Parameters:
    ///   - path: `AZURE_CLIENT_CERTIFICATE_PATH`.
    ///   - password: `AZURE_CLIENT_CERTIFICATE_PASSWORD` for an encrypted key.
    /// - Throws: ``DirSyncCore/GraphError`` with code `configuration`.
    /// Loads the certificate and key from a PEM file on a thread of its own: the file read and
    /// libcrypto's parsing stay off Swift's cooperative pool.
    public static func load(pemFile path: String, password: String? = nil) async throws -> OpenSSLAssertionSigner {
        let worker = BlockingWorker(name: "dirsync-certificate")
        defer { worker.shutdown() }
        return try await worker.run { try OpenSSLAssertionSigner(pemFile: path, password: password) }
    }

    public convenience init(pemFile path: String, password: String? = nil) throws {
        let pem: Data
        do {
            pem = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw Self.failure("the certificate file \(path) cannot be read", "check AZURE_CLIENT_CERTIFICATE_PATH and the file's permissions")
        }
        try self.init(pem: Array(pem), source: path, password: password)
    }

    /// Loads the certificate and key from PEM bytes.
    /// - Parameter source: names the PEM in error messages.
    public init(pem: [UInt8], source: String, password: String? = nil) throws {
        ERR_clear_error()
        defer { ERR_clear_error() }
        guard let certificate = Self.readPEM(pem, { bio in PEM_read_bio_X509(bio, nil, nil, nil) }) else {
            throw Self.failure("\(source) contains no PEM certificate", "put the certificate (BEGIN CERTIFICATE) and its private key in one PEM file")
        }
        let passphrase = password ?? ""
        let key = passphrase.withCString { phrase in
            Self.readPEM(pem) { bio in PEM_read_bio_PrivateKey(bio, nil, nil, UnsafeMutableRawPointer(mutating: phrase)) }
        }
        guard let key else {
            X509_free(certificate)
            throw Self.failure("\(source) contains no readable private key (missing, encrypted without the right password, or not PEM)",
                               "add the PKCS#8 or PKCS#1 private key to the PEM file, or set AZURE_CLIENT_CERTIFICATE_PASSWORD")
        }
        guard EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA else {
            X509_free(certificate)
            EVP_PKEY_free(key)
            throw Self.failure("the private key in \(source) is not an RSA key", "use an RSA certificate (PS256 needs RSA)")
        }
        guard X509_check_private_key(certificate, key) == 1 else {
            X509_free(certificate)
            EVP_PKEY_free(key)
            throw Self.failure("the private key in \(source) does not belong to its certificate", "put the matching certificate and key in the PEM file")
        }
        let length = i2d_X509(certificate, nil)
        var der = [UInt8](repeating: 0, count: Int(max(length, 0)))
        let written = der.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var cursor = buffer.baseAddress
            return i2d_X509(certificate, &cursor)
        }
        guard length > 0, written == length else {
            X509_free(certificate)
            EVP_PKEY_free(key)
            throw Self.failure("the certificate in \(source) cannot be encoded as DER", "regenerate the certificate")
        }
        self.certificate = certificate
        self.key = key
        self.certificateDER = der
        self.certificateNotAfter = CertificateValidity.notAfter(certificate)
        self.certificateThumbprintSHA256 = Base64URL.encode(DirSyncCore.SHA256.digest(der))
    }

    deinit {
        X509_free(certificate)
        EVP_PKEY_free(key)
    }

    /// Signs on a thread of its own: libcrypto's RSA work stays off Swift's cooperative pool.
    public func signPS256(_ message: [UInt8]) async throws -> [UInt8] {
        let worker = BlockingWorker(name: "dirsync-sign")
        defer { worker.shutdown() }
        return try await worker.run { try self.sign(message) }
    }

    /// Signs on the calling thread.
    func sign(_ message: [UInt8]) throws -> [UInt8] {
        try lock.withLock {
            ERR_clear_error()
            defer { ERR_clear_error() }
            guard let context = EVP_MD_CTX_new() else { throw Self.signingFailure("EVP_MD_CTX_new") }
            defer { EVP_MD_CTX_free(context) }
            var keyContext: OpaquePointer?
            guard EVP_DigestSignInit(context, &keyContext, EVP_sha256(), nil, key) == 1, let keyContext else {
                throw Self.signingFailure("EVP_DigestSignInit")
            }
            guard copenssl_set_rsa_padding(keyContext, RSA_PKCS1_PSS_PADDING) > 0,
                  copenssl_set_rsa_pss_saltlen(keyContext, RSA_PSS_SALTLEN_DIGEST) > 0
            else { throw Self.signingFailure("PSS padding") }
            var length = 0
            guard EVP_DigestSign(context, nil, &length, message, message.count) == 1 else { throw Self.signingFailure("EVP_DigestSign (size)") }
            var signature = [UInt8](repeating: 0, count: length)
            guard EVP_DigestSign(context, &signature, &length, message, message.count) == 1 else { throw Self.signingFailure("EVP_DigestSign") }
            return Array(signature.prefix(length))
        }
    }

    /// Runs a PEM reader over a fresh memory BIO of `pem`.
    static func readPEM(_ pem: [UInt8], _ read: (OpaquePointer) -> OpaquePointer?) -> OpaquePointer? {
        pem.withUnsafeBytes { bytes -> OpaquePointer? in
            guard let base = bytes.baseAddress, let bio = BIO_new_mem_buf(base, Int32(bytes.count)) else { return nil }
            defer { BIO_free(bio) }
            return read(bio)
        }
    }

    private static func failure(_ message: String, _ fix: String) -> GraphError {
        GraphError(code: .configuration, message: message, fix: fix)
    }

    private static func signingFailure(_ step: String) -> GraphError {
        GraphError(code: .configuration, message: "signing the client assertion failed in \(step)", fix: "check that the certificate's key is a valid RSA key")
    }
}

/// Reads credential files (the workload-identity token) from disk, afresh on every call, on a thread
/// of its own: the file read stays off Swift's cooperative pool.
public struct FileCredentialReader: CredentialFileReader {
    public init() {}

    public func read(path: String) async throws -> String {
        let worker = BlockingWorker(name: "dirsync-credential-file")
        defer { worker.shutdown() }
        return try await worker.run { try Self.readNow(path: path) }
    }

    static func readNow(path: String) throws -> String {
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw GraphError(code: .configuration, message: "the federated token file \(path) cannot be read",
                             fix: "check AZURE_FEDERATED_TOKEN_FILE and the azure-identity-token volume mount")
        }
    }
}
