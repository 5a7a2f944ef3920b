import Foundation

/// A bearer token for Microsoft Graph. Its value never appears in `description`, string
/// interpolation, `dump` of the description, or `debugDescription`.
public struct AccessToken: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The token itself; only the HTTP `Authorization` header may use it.
    public let value: String
    /// When the identity platform said it stops working.
    public let expiresOn: Date
    /// When it was issued (as seen by this process).
    public let issuedAt: Date

    public init(value: String, expiresOn: Date, issuedAt: Date) {
        self.value = value
        self.expiresOn = expiresOn
        self.issuedAt = issuedAt
    }

    /// The lifetime the identity platform granted.
    public var lifetime: TimeInterval { expiresOn.timeIntervalSince(issuedAt) }

    /// When to fetch a replacement: 5 minutes or 10 % of the lifetime before expiry, whichever is less.
    public var refreshAt: Date {
        expiresOn.addingTimeInterval(-min(300, max(0, lifetime) * 0.1))
    }

    /// Whether the token is still good to use at `now` (before ``refreshAt``).
    public func isFresh(at now: Date) -> Bool { now < refreshAt }

    public var description: String { "AccessToken(<redacted>, expires \(expiresOn))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["expiresOn": expiresOn, "issuedAt": issuedAt]) }
}

/// A secret string (client secret, assertion) that never prints itself.
public struct Secret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The secret; use only to build a request body.
    public let value: String

    public init(_ value: String) { self.value = value }

    public var description: String { "<redacted>" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}
