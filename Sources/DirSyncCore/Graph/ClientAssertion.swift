import Foundation

/// Builds the signed JWT that proves possession of the app's certificate.
///
/// Header `{"alg":"PS256","typ":"JWT","x5t#S256":…}`; claims `aud` (the tenant's token endpoint),
/// `iss` = `sub` = client id, a fresh `jti`, `nbf` = `iat` = now, `exp` = now + lifetime (≤ 10 min).
public struct ClientAssertionBuilder: Sendable {
    /// How long an assertion is valid; capped at 10 minutes.
    public let lifetime: TimeInterval

    public init(lifetime: TimeInterval = 300) {
        self.lifetime = min(max(lifetime, 30), 600)
    }

    /// A signed assertion.
    /// - Parameters:
    ///   - clientID: the application id (`iss`, `sub`).
    ///   - audience: the token endpoint URL the assertion is sent to.
    ///   - now: the issue time.
    ///   - jti: the unique id (a fresh UUID by default).
    ///   - signer: signs with the certificate's private key.
    /// - Throws: the signer's error.
    public func assertion(clientID: String, audience: String, now: Date, jti: UUID = UUID(), signer: any AssertionSigner) async throws -> Secret {
        let issued = Int(now.timeIntervalSince1970)
        let header = "{\"alg\":\"PS256\",\"typ\":\"JWT\",\"x5t#S256\":\(JSONText.string(signer.certificateThumbprintSHA256))}"
        let claims = "{\"aud\":\(JSONText.string(audience)),\"iss\":\(JSONText.string(clientID)),\"sub\":\(JSONText.string(clientID)),"
            + "\"jti\":\(JSONText.string(jti.uuidString.lowercased())),\"nbf\":\(issued),\"iat\":\(issued),\"exp\":\(issued + Int(lifetime))}"
        let signingInput = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(claims.utf8))
        let signature = try await signer.signPS256(Array(signingInput.utf8))
        return Secret(signingInput + "." + Base64URL.encode(signature))
    }
}

/// base64url without padding (RFC 4648 §5), as JWTs use it.
public enum Base64URL {
    /// Encodes bytes.
    public static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Decodes text with or without padding; `nil` when it is not base64url.
    public static func decode(_ text: String) -> [UInt8]? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64).map { Array($0) }
    }
}
