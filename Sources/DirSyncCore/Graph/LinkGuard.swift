import Foundation

/// Decides whether a URL may receive the Graph access token: only the configured Graph origin may.
///
/// A nextLink or deltaLink comes from a response body; if it named another host, following it would
/// hand that host a bearer token for a customer directory. The origin check compares scheme, host
/// (case-insensitively) and port (default ports normalised), and rejects URLs with user-info, so
/// `https://graph.microsoft.com@evil.example/` is refused.
public struct LinkGuard: Sendable, Equatable {
    /// The origin every Graph request must target.
    public let origin: URLOrigin

    /// - Parameter graphBaseURL: the configured Graph root, e.g. `https://graph.microsoft.com`.
    /// - Throws: ``GraphError/Code/configuration`` when the base URL has no usable origin.
    public init(graphBaseURL: String) throws(GraphError) {
        guard let origin = URLOrigin(graphBaseURL) else {
            throw GraphError(code: .configuration, message: "the Graph base URL \(URLRedaction.withoutQuery(graphBaseURL)) is not an absolute http(s) URL",
                             fix: "set DIRSYNC_GRAPH_URL to e.g. https://graph.microsoft.com")
        }
        self.origin = origin
    }

    /// Checks a link before any request (and any token) goes to it.
    /// - Throws: ``GraphError/Code/foreignLink`` naming the link's host, never its query.
    public func check(_ link: String) throws(GraphError) {
        guard let target = URLOrigin(link) else {
            throw GraphError(code: .foreignLink, message: "refused to follow a link that is not an absolute http(s) URL without user-info",
                             fix: "none: the response was not trustworthy; the next run starts again", url: link)
        }
        guard target == origin else {
            throw GraphError(code: .foreignLink,
                             message: "refused to send the Graph token to \(target.host):\(target.port) (\(target.scheme)); only \(origin.host):\(origin.port) (\(origin.scheme)) is trusted",
                             fix: "if Graph really moved, set DIRSYNC_GRAPH_URL to the new host", url: link)
        }
    }
}

/// Scheme, host and port of an absolute URL, normalised for comparison.
public struct URLOrigin: Sendable, Hashable {
    /// `http` or `https`, lower-cased.
    public let scheme: String
    /// The host, lower-cased, without IPv6 brackets.
    public let host: String
    /// The explicit port, or 443/80 for https/http.
    public let port: Int

    /// Parses `url`; `nil` unless it is an absolute http(s) URL with a host and no user-info.
    public init?(_ url: String) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
              scheme == "https" || scheme == "http",
              components.user == nil, components.password == nil,
              var host = components.host?.lowercased(), !host.isEmpty
        else { return nil }
        // Anything between "//" and the host that URLComponents may have normalised away must not hide an '@'.
        if let authorityStart = url.range(of: "//") {
            let authority = url[authorityStart.upperBound...].prefix { $0 != "/" && $0 != "?" && $0 != "#" }
            if authority.contains("@") || authority.contains("\\") { return nil }
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.hasSuffix(".") { host.removeLast() }
        self.scheme = scheme
        self.host = host
        self.port = components.port ?? (scheme == "https" ? 443 : 80)
    }
}

/// Guards one delta round against loops: the same link twice, or more pages than any tenant has.
///
/// The sync engine owns the round loop; it keeps one `DeltaRoundGuard` per round and calls
/// ``visit(_:)`` with each link before fetching it.
public struct DeltaRoundGuard: Sendable {
    /// The most pages a round may have before it is considered a loop.
    public let maxPages: Int
    /// Hashes of the links fetched so far (not the links: a round may have a million of them).
    private var seen: Set<Int> = []
    /// Pages visited so far.
    public private(set) var pageCount = 0

    /// - Parameter maxPages: the page budget (1,000,000 by default: 200 objects a page covers any tenant).
    public init(maxPages: Int = 1_000_000) {
        self.maxPages = max(1, maxPages)
    }

    /// Records a link about to be fetched.
    /// - Throws: ``GraphError/Code/linkLoop`` when the link was already fetched in this round or the page budget is spent.
    public mutating func visit(_ link: String) throws(GraphError) {
        guard pageCount < maxPages else {
            throw GraphError(code: .linkLoop, message: "the delta round exceeded \(maxPages) pages; Graph appears to be looping",
                             fix: "none needed: the next run starts the round again", url: link)
        }
        guard seen.insert(link.hashValue).inserted else {
            throw GraphError(code: .linkLoop, message: "Graph returned the same page link twice in one round",
                             fix: "none needed: the next run starts the round again", url: link)
        }
        pageCount += 1
    }
}
