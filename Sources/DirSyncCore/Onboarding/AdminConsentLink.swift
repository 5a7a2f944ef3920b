import Foundation

/// The admin-consent link a customer's administrator opens to grant the dirsync app its application
/// permissions in their tenant: the identity platform's v2.0 `adminconsent` endpoint.
///
/// `{authority}/{tenant}/v2.0/adminconsent?client_id=…&scope=<graph root>/.default&redirect_uri=…&state=…`;
/// after the grant Entra redirects to the redirect URI with `admin_consent=True`, `tenant=<guid>` and the
/// same `state`. Without a redirect URI Entra uses the one registered on the app.
public struct AdminConsentLink: Sendable, Equatable {
    /// Why a redirect URI was refused.
    public struct InvalidRedirectURI: Error, Sendable, Equatable, CustomStringConvertible {
        public var uri: String
        public var reason: String
        public var description: String { "--redirect-uri '\(uri)' \(reason)" }
    }

    /// The application (client) id.
    public var clientID: String
    /// The tenant GUID (or a domain name the identity platform accepts).
    public var tenant: String
    /// The identity platform's root, e.g. `https://login.microsoftonline.com`.
    public var authorityHost: String
    /// `<graph root>/.default`: consent covers every application permission the app registration lists.
    public var scope: String
    /// Where Entra sends the admin afterwards; `nil` uses the app's registered redirect URI.
    public var redirectURI: String?
    /// An unguessable value echoed back on the redirect, so a dashboard can correlate it; empty leaves
    /// it out (the links status messages carry, which must not change from one call to the next).
    public var state: String

    /// - Parameters:
    ///   - clientID: the application (client) id.
    ///   - tenant: the tenant GUID or domain.
    ///   - endpoints: the configured cloud's authority host and Graph root.
    ///   - redirectURI: a validated redirect URI (see ``validateRedirectURI(_:)``).
    ///   - state: the correlation value (see ``randomState()``).
    public init(clientID: String, tenant: String, endpoints: GraphEndpoints, redirectURI: String? = nil, state: String) {
        self.clientID = clientID
        self.tenant = tenant
        self.authorityHost = endpoints.authorityHost
        self.scope = endpoints.defaultScope
        self.redirectURI = redirectURI
        self.state = state
    }

    /// The link to open in a browser.
    public var url: String {
        var query = [("client_id", clientID), ("scope", scope)]
        if let redirectURI { query.append(("redirect_uri", redirectURI)) }
        if !state.isEmpty { query.append(("state", state)) }
        let encoded = query.map { "\($0.0)=\(Self.queryValue($0.1))" }.joined(separator: "&")
        return "\(authorityHost)/\(GraphEndpoints.pathSegment(tenant))/v2.0/adminconsent?\(encoded)"
    }

    /// 32 random bytes, base64url: unguessable, URL-safe.
    public static func randomState() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes: [UInt8] = []
        for _ in 0..<4 { withUnsafeBytes(of: generator.next() as UInt64) { bytes.append(contentsOf: $0) } }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// Accepts an absolute `https` URL, or `http` to a loopback host (`localhost`, 127.0.0.0/8, `::1`),
    /// which is what Entra allows as a redirect URI; no fragment.
    /// - Returns: the URI unchanged.
    /// - Throws: ``InvalidRedirectURI`` naming what is wrong.
    public static func validateRedirectURI(_ uri: String) throws(InvalidRedirectURI) -> String {
        func invalid(_ reason: String) -> InvalidRedirectURI { InvalidRedirectURI(uri: uri, reason: reason) }
        guard let components = URLComponents(string: uri), let scheme = components.scheme?.lowercased(),
              let host = components.host, !host.isEmpty
        else { throw invalid("is not an absolute URL (like https://dashboard.example.com/consent-done)") }
        guard components.fragment == nil else { throw invalid("must not contain a #fragment") }
        switch scheme {
        case "https":
            return uri
        case "http":
            let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
            guard bare == "localhost" || bare == "::1" || bare.hasPrefix("127.") else {
                throw invalid("must use https (http is allowed only for localhost)")
            }
            return uri
        default:
            throw invalid("must be an https URL")
        }
    }

    /// Percent-encodes a query value: RFC 3986 unreserved characters stay, everything else is encoded.
    static func queryValue(_ text: String) -> String {
        GraphEndpoints.pathSegment(text)
    }
}
