import Foundation

/// Reads the claims of a JWT without verifying it: for what a client may learn about its own
/// credentials (a workload-identity token's `exp`, an access token's `roles`). Never used to trust
/// anything; the token itself is never kept or printed, only the claims asked for leave.
public enum JWTClaims {
    /// The payload of a compact JWT as a JSON object; `nil` when `token` is not one.
    public static func payload(of token: String) -> [String: Any]? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let bytes = Base64URL.decode(String(parts[1])) else { return nil }
        return JSONValue.object(bytes)
    }

    /// The `exp` claim (seconds since 1970) as a date; `nil` when absent or not a JWT.
    public static func expiry(of token: String) -> Date? {
        guard let payload = payload(of: token), let exp = payload["exp"] else { return nil }
        if let seconds = JSONValue.int(exp) { return Date(timeIntervalSince1970: TimeInterval(seconds)) }
        if let seconds = exp as? Double { return Date(timeIntervalSince1970: seconds) }
        return nil
    }
}
