import Foundation

/// How the credential of an app registration stands: its kind, when it expires and what is wrong,
/// so ops see an expiring secret or certificate weeks before the sync stops.
///
/// Entra does not tell a client when its secret expires, so a secret's expiry comes from the
/// operator (`DIRSYNC_CLIENT_SECRET_EXPIRES_AT`); a certificate's is its `notAfter`; a workload
/// identity token's is its `exp` (the kubelet renews it hourly, so only an expired one matters).
public struct CredentialHealth: Sendable, Equatable {
    /// The credential's kind, as the JSON and the Prometheus label name it.
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        case secret, certificate, federated
    }

    /// What the adapters found out about the credential, before any judgement.
    public struct Facts: Sendable, Equatable {
        public var kind: Kind
        /// The application (client) id the credential belongs to.
        public var clientID: String
        /// The certificate's `notAfter`, the operator's secret expiry, or the federated token's `exp`.
        public var expiresAt: Date?
        /// Where the credential is (a file path), named in messages; `nil` for a secret.
        public var path: String?
        /// Why the credential cannot be used at all (a missing or unreadable file), with the fix.
        public var unusable: String?

        public init(kind: Kind, clientID: String, expiresAt: Date? = nil, path: String? = nil, unusable: String? = nil) {
            self.kind = kind
            self.clientID = clientID
            self.expiresAt = expiresAt
            self.path = path
            self.unusable = unusable
        }
    }

    public var kind: Kind
    public var clientID: String
    public var expiresAt: Date?
    /// Seconds from now until ``expiresAt`` (negative once expired).
    public var expiresInSeconds: Double?
    /// What stops token requests now, with the fix; `nil` when the credential is usable.
    public var problem: String?
    /// An expiry within the warning window, with what to do before it; `nil` otherwise.
    public var warning: String?

    /// Warn this long before a secret or certificate expires, unless configured otherwise.
    public static let defaultWarningWindow: TimeInterval = 30 * 86_400

    /// Judges the facts at `now`.
    /// - Parameter warningWindow: how long before expiry to warn.
    public static func evaluate(_ facts: Facts, now: Date, warningWindow: TimeInterval = defaultWarningWindow) -> CredentialHealth {
        var health = CredentialHealth(kind: facts.kind, clientID: facts.clientID, expiresAt: facts.expiresAt,
                                      expiresInSeconds: facts.expiresAt.map { $0.timeIntervalSince(now) }, problem: nil, warning: nil)
        if let unusable = facts.unusable {
            health.problem = unusable
            return health
        }
        guard let expiresAt = facts.expiresAt else { return health }
        let left = expiresAt.timeIntervalSince(now)
        let place = facts.path.map { " (\($0))" } ?? ""
        switch facts.kind {
        case .certificate, .secret:
            let (name, source, renew) = facts.kind == .certificate
                ? ("client certificate\(place)", "",
                   "upload a new certificate to the app registration (Certificates & secrets) and point AZURE_CLIENT_CERTIFICATE_PATH at it")
                : ("client secret", ", per DIRSYNC_CLIENT_SECRET_EXPIRES_AT",
                   "create a new client secret in the app registration, set AZURE_CLIENT_SECRET to its value and DIRSYNC_CLIENT_SECRET_EXPIRES_AT to its expiry")
            if left <= 0 {
                health.problem = "\(name) expired on \(format(expiresAt))\(source): token requests fail; \(renew)"
                    + (facts.kind == .secret ? " (if runs still succeed, the secret was already rotated: update DIRSYNC_CLIENT_SECRET_EXPIRES_AT)" : "")
            } else if left <= warningWindow {
                health.warning = "\(name) expires in \(remaining(left)) (\(format(expiresAt))\(source)): \(renew) before then"
            }
        case .federated:
            // Projected tokens live about an hour and are renewed before they expire: only an expired one is news.
            if left <= 0 {
                health.problem = "the federated token\(place) expired at \(format(expiresAt, time: true)): the kubelet renews projected "
                    + "service-account tokens before they expire, so this file is stale; check the pod's azure-identity-token volume and AZURE_FEDERATED_TOKEN_FILE"
            }
        }
        return health
    }

    /// Parses `DIRSYNC_CLIENT_SECRET_EXPIRES_AT`: an ISO 8601 date (`2027-06-30`, read as the end of
    /// that day in UTC, as the Entra portal shows it) or date and time with a zone (`2027-06-30T12:00:00Z`).
    /// - Returns: `nil` when the text is neither.
    public static func parseExpiry(_ text: String) -> Date? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let instant = try? Date(trimmed, strategy: .iso8601) { return instant }
        if let instant = try? Date(trimmed, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) { return instant }
        let day = Date.ISO8601FormatStyle().year().month().day()
        if let start = try? Date(trimmed, strategy: day) { return start.addingTimeInterval(86_400 - 1) }
        return nil
    }

    /// `2026-12-15` (or `2026-12-15 14:03 UTC` with `time`), in UTC.
    public static func format(_ date: Date, time: Bool = false) -> String {
        let style = Date.ISO8601FormatStyle().year().month().day()
        guard time else { return style.format(date) }
        let seconds = Int(date.timeIntervalSince1970) % 86_400
        return style.format(date) + String(format: " %02d:%02d UTC", seconds / 3600, seconds % 3600 / 60)
    }

    /// `10 days`, `1 day` or `5 hours`.
    static func remaining(_ seconds: TimeInterval) -> String {
        if seconds >= 86_400 {
            let days = Int((seconds / 86_400).rounded())
            return days == 1 ? "1 day" : "\(days) days"
        }
        let hours = max(1, Int((seconds / 3600).rounded()))
        return hours == 1 ? "1 hour" : "\(hours) hours"
    }
}
