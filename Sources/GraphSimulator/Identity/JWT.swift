/// A compact JWS split into its parts (no signature check here).
public struct JWT: Sendable {
    /// Decoded header.
    public var header: JSONValue
    /// Decoded claims.
    public var claims: JSONValue
    /// `base64url(header).base64url(claims)` as bytes: what the signature covers.
    public var signingInput: [UInt8]
    /// The signature bytes (empty for an unsigned token).
    public var signature: [UInt8]

    /// Splits and decodes `text`; nil if it is not a JWT.
    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 || parts.count == 2,
              let headerBytes = Base64URL.decode(parts[0]), let claimBytes = Base64URL.decode(parts[1]),
              let header = try? JSONValue.parse(headerBytes), let claims = try? JSONValue.parse(claimBytes),
              header.objectValue != nil, claims.objectValue != nil else { return nil }
        let signature = parts.count == 3 ? Base64URL.decode(parts[2]) : []
        guard let signature else { return nil }
        self.header = header
        self.claims = claims
        self.signingInput = Array("\(parts[0]).\(parts[1])".utf8)
        self.signature = signature
    }

    /// Builds and signs a certificate client assertion the way MSAL does (for tests and demos).
    /// - Parameters:
    ///   - algorithm: `PS256` (current docs, with `x5t#S256`) or `RS256` (older docs, with `x5t`).
    /// - Returns: The compact JWS, or nil if the key cannot sign.
    public static func clientAssertion(clientId: String, audience: String, certificate: RegisteredCertificate,
                                       privateKeyPEM: String, algorithm: String = "PS256", now: Double,
                                       lifetime: Double = 600, jti: String? = nil) -> String? {
        var header = JSONWriter()
        header.beginObject()
        header.string(algorithm, key: "alg")
        header.string("JWT", key: "typ")
        if algorithm == "PS256" { header.string(certificate.x5tS256, key: "x5t#S256") } else { header.string(certificate.x5t, key: "x5t") }
        header.endObject()
        var claims = JSONWriter()
        claims.beginObject()
        claims.string(audience, key: "aud")
        claims.string(clientId, key: "iss")
        claims.string(clientId, key: "sub")
        var rng = SystemRandomNumberGenerator()
        claims.string(jti ?? SeededRandom.formatGUID(hi: rng.next(), lo: rng.next()), key: "jti")
        claims.int(Int(now), key: "nbf")
        claims.int(Int(now), key: "iat")
        claims.int(Int(now + lifetime), key: "exp")
        claims.endObject()
        let input = Base64URL.encode(header.bytes) + "." + Base64URL.encode(claims.bytes)
        guard let signature = CertificateCrypto.sign(signingInput: Array(input.utf8), algorithm: algorithm, privateKeyPEM: privateKeyPEM)
        else { return nil }
        return input + "." + Base64URL.encode(signature)
    }

    /// Builds an unsigned external token (`alg: none`) such as a federated credential would present.
    public static func unsignedToken(claims: [String: String], expires: Double) -> String {
        var header = JSONWriter()
        header.beginObject(); header.string("none", key: "alg"); header.string("JWT", key: "typ"); header.endObject()
        var body = JSONWriter()
        body.beginObject()
        for key in claims.keys.sorted() { body.string(claims[key]!, key: key) }
        body.int(Int(expires), key: "exp")
        body.endObject()
        return Base64URL.encode(header.bytes) + "." + Base64URL.encode(body.bytes) + "."
    }
}
