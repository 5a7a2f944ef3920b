import Foundation

/// Reads the `roles` claim of an app-only access token: the application permissions admin consent
/// granted in the tenant.
///
/// Advisory only. Access tokens are meant for Graph, not for their client, and may one day not be
/// readable JWTs; the permission probes remain the proof. The token is never printed or kept: only
/// the role names leave this function.
public enum AccessTokenRoles {
    /// The roles the token carries.
    /// - Returns: the role names (empty when the token is a JWT without a `roles` claim, which is how
    ///   Entra issues tokens to an app nobody consented to), or `nil` when the token is not a readable JWT.
    public static func roles(in token: AccessToken) -> Set<String>? {
        guard let claims = JWTClaims.payload(of: token.value) else { return nil }
        guard let roles = claims["roles"] else { return [] }
        guard let list = roles as? [Any] else { return nil }
        return Set(list.compactMap { $0 as? String })
    }
}
