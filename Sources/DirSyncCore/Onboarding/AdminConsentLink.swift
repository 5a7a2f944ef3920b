import Foundation

/// The admin-consent link a customer's administrator opens to grant the dirsync app its application
/// permissions in their tenant: the identity platform's v2.0 `adminconsent` endpoint.
///
/// `{authority}/{tenant}/v2.0/adminconsent?client_id=…&scope=<graph root>/.default&redirect_uri=…&state=…`;
/// after the grant Entra redirects to the redirect URI with `admin_consent=True`, `tenant=<guid>` and the
/// same `state` (graph-delta-facts §6). Without a redirect URI Entra uses the one registered on the app.
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
    /// An unguessable value echoed back on the redirect, so a dashboard can correlate it.
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
        query.append(("state", state))
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

extension AdminConsentLink {
    /// What a consent link needs from the configuration: no credential, only who the app is and which cloud.
    public struct Settings: Sendable, Equatable {
        /// `AZURE_CLIENT_ID`, if set (a per-domain client id may replace it).
        public var clientID: String?
        /// The cloud's authority host and Graph root, with the environment's overrides.
        public var endpoints: GraphEndpoints

        public init(clientID: String?, endpoints: GraphEndpoints) {
            self.clientID = clientID
            self.endpoints = endpoints
        }

        /// Reads `AZURE_CLIENT_ID` (optional here), `DIRSYNC_CLOUD`, `AZURE_AUTHORITY_HOST` and
        /// `DIRSYNC_GRAPH_URL`, with the meanings of ``GraphCredentialConfiguration/init(environment:)``.
        /// - Throws: ``GraphError/Code/configuration`` naming the variable and the fix.
        public init(environment: [String: String]) throws(GraphError) {
            func value(_ key: String) -> String? {
                guard let raw = environment[key]?.trimmingCharacters(in: .whitespacesAndNewlines), !raw.isEmpty else { return nil }
                return raw
            }
            var cloud = GraphCloud.global
            if let name = value("DIRSYNC_CLOUD") {
                guard let parsed = GraphCloud(name: name) else {
                    throw GraphError(code: .configuration, message: "DIRSYNC_CLOUD names no known cloud", fix: "set DIRSYNC_CLOUD to global, usgovernment, dod or china")
                }
                cloud = parsed
            }
            if let clientID = value("AZURE_CLIENT_ID"), UUID(uuidString: clientID) == nil {
                throw GraphError(code: .configuration, message: "AZURE_CLIENT_ID is not a GUID",
                                 fix: "set AZURE_CLIENT_ID to the application (client) id, e.g. 11111111-2222-3333-4444-555555555555")
            }
            let authority = value("AZURE_AUTHORITY_HOST") ?? cloud.authorityHost
            let graph = value("DIRSYNC_GRAPH_URL") ?? cloud.graphBaseURL
            guard URLOrigin(authority) != nil else {
                throw GraphError(code: .configuration, message: "AZURE_AUTHORITY_HOST is not an absolute http(s) URL", fix: "set AZURE_AUTHORITY_HOST to e.g. https://login.microsoftonline.com")
            }
            guard URLOrigin(graph) != nil else {
                throw GraphError(code: .configuration, message: "DIRSYNC_GRAPH_URL is not an absolute http(s) URL", fix: "set DIRSYNC_GRAPH_URL to e.g. https://graph.microsoft.com")
            }
            self.init(clientID: value("AZURE_CLIENT_ID")?.lowercased(), endpoints: GraphEndpoints(graphBaseURL: graph, authorityHost: authority))
        }
    }
}
