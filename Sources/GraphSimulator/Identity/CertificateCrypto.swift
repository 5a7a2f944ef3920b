import COpenSSL

/// A certificate registered on an app: its PEM plus the thumbprints an assertion header may name.
public struct RegisteredCertificate: Sendable, Equatable {
    /// The certificate as PEM (`-----BEGIN CERTIFICATE-----`).
    public var pem: String
    /// base64url(SHA-256(DER)): the `x5t#S256` header value.
    public var x5tS256: String
    /// base64url(SHA-1(DER)): the `x5t` header value.
    public var x5t: String

    /// Parses a PEM certificate.
    /// - Throws: `SimulatorInputError` if it is not a PEM X.509 certificate.
    public init(pem: String) throws(SimulatorInputError) {
        guard let der = CertificateCrypto.certificateDER(pem: pem) else {
            throw SimulatorInputError("not a PEM X.509 certificate")
        }
        self.pem = pem
        self.x5tS256 = Base64URL.encode(CertificateCrypto.digest(der, sha256: true))
        self.x5t = Base64URL.encode(CertificateCrypto.digest(der, sha256: false))
    }
}

/// The few libcrypto operations the identity platform needs: certificate DER, digests, RSA signatures.
///
/// Every handle is created and freed inside one call, so nothing here is shared between threads.
public enum CertificateCrypto {
    /// The DER bytes of a PEM certificate, or nil.
    public static func certificateDER(pem: String) -> [UInt8]? {
        withCertificate(pem: pem) { cert -> [UInt8]? in
            let length = i2d_X509(cert, nil)
            guard length > 0 else { return nil }
            var der = [UInt8](repeating: 0, count: Int(length))
            let written = der.withUnsafeMutableBufferPointer { buffer -> Int32 in
                var cursor: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
                return i2d_X509(cert, &cursor)
            }
            return written == length ? der : nil
        } ?? nil
    }

    /// SHA-256 or SHA-1 of `bytes`.
    public static func digest(_ bytes: [UInt8], sha256: Bool) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var size: UInt32 = 0
        _ = bytes.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { output in
                EVP_Digest(input.baseAddress, input.count, output.baseAddress, &size, sha256 ? EVP_sha256() : EVP_sha1(), nil)
            }
        }
        return Array(out.prefix(Int(size)))
    }

    /// Verifies an RS256 (PKCS#1 v1.5) or PS256 (PSS, any salt length) signature with a certificate's key.
    public static func verify(signingInput: [UInt8], signature: [UInt8], algorithm: String, certificatePEM: String) -> Bool {
        guard algorithm == "RS256" || algorithm == "PS256" else { return false }
        return withCertificate(pem: certificatePEM) { cert -> Bool in
            guard let key = X509_get_pubkey(cert) else { return false }
            defer { EVP_PKEY_free(key) }
            guard let ctx = EVP_MD_CTX_new() else { return false }
            defer { EVP_MD_CTX_free(ctx) }
            var pctx: OpaquePointer?
            guard EVP_DigestVerifyInit(ctx, &pctx, EVP_sha256(), nil, key) == 1, let pctx else { return false }
            if algorithm == "PS256" {
                guard copenssl_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0,
                      copenssl_set_rsa_pss_saltlen(pctx, -2) > 0 else { return false }
            }
            return signature.withUnsafeBufferPointer { sig in
                signingInput.withUnsafeBufferPointer { tbs in
                    EVP_DigestVerify(ctx, sig.baseAddress, sig.count, tbs.baseAddress, tbs.count) == 1
                }
            }
        } ?? false
    }

    /// Signs `signingInput` with a PEM private key (PKCS#8 or PKCS#1), RS256 or PS256 (salt = digest length).
    /// Used by tests and demos to build certificate client assertions.
    public static func sign(signingInput: [UInt8], algorithm: String, privateKeyPEM: String) -> [UInt8]? {
        let bytes = Array(privateKeyPEM.utf8)
        return bytes.withUnsafeBufferPointer { buffer -> [UInt8]? in
            guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else { return nil }
            defer { BIO_free(bio) }
            guard let key = PEM_read_bio_PrivateKey(bio, nil, nil, nil) else { return nil }
            defer { EVP_PKEY_free(key) }
            guard let ctx = EVP_MD_CTX_new() else { return nil }
            defer { EVP_MD_CTX_free(ctx) }
            var pctx: OpaquePointer?
            guard EVP_DigestSignInit(ctx, &pctx, EVP_sha256(), nil, key) == 1, let pctx else { return nil }
            if algorithm == "PS256" {
                guard copenssl_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0,
                      copenssl_set_rsa_pss_saltlen(pctx, -1) > 0 else { return nil }
            }
            return signingInput.withUnsafeBufferPointer { tbs -> [UInt8]? in
                var length = 0
                guard EVP_DigestSign(ctx, nil, &length, tbs.baseAddress, tbs.count) == 1 else { return nil }
                var signature = [UInt8](repeating: 0, count: length)
                let ok = signature.withUnsafeMutableBufferPointer {
                    EVP_DigestSign(ctx, $0.baseAddress, &length, tbs.baseAddress, tbs.count)
                }
                return ok == 1 ? Array(signature.prefix(length)) : nil
            }
        }
    }

    private static func withCertificate<T>(pem: String, _ body: (OpaquePointer) -> T) -> T? {
        let bytes = Array(pem.utf8)
        return bytes.withUnsafeBufferPointer { buffer -> T? in
            guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else { return nil }
            defer { BIO_free(bio) }
            guard let cert = PEM_read_bio_X509(bio, nil, nil, nil) else { return nil }
            defer { X509_free(cert) }
            return body(cert)
        }
    }
}
