import Foundation

/// An HTTP request as the core builds it; adapters carry it out.
public struct HTTPRequest: Sendable, Equatable {
    public var method: String
    /// The absolute URL, used exactly as given (Graph's nextLink and deltaLink are opaque).
    public var url: String
    /// Header fields in order. Names are sent as given.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]?

    public init(method: String = "GET", url: String, headers: [(name: String, value: String)] = [], body: [UInt8]? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.method == rhs.method && lhs.url == rhs.url && lhs.body == rhs.body
            && lhs.headers.map(\.name) == rhs.headers.map(\.name) && lhs.headers.map(\.value) == rhs.headers.map(\.value)
    }
}

/// An HTTP response: status, header fields and the whole body.
public struct HTTPResponse: Sendable, Equatable {
    public var status: Int
    /// Header fields as received; look them up with ``header(_:)``.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first value of a header field, matched case-insensitively.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.status == rhs.status && lhs.body == rhs.body
            && lhs.headers.map(\.name) == rhs.headers.map(\.name) && lhs.headers.map(\.value) == rhs.headers.map(\.value)
    }
}

/// The seam between the core and the network: request in, status and bytes out.
///
/// The libcurl adapter (`CurlTransport` in GraphHTTP) implements it for production; tests use
/// in-process fakes. Implementations throw ``TransportError`` for failures below HTTP (no status).
public protocol HTTPTransport: Sendable {
    /// Sends one request and returns the complete response. A non-2xx status is not an error here.
    func send(_ request: HTTPRequest) async throws -> HTTPResponse
}

/// A failure below HTTP: no complete response arrived.
public struct TransportError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, in terms the retry policy understands.
    public enum Kind: String, Sendable, Equatable {
        /// DNS, refused or unreachable: nothing was sent.
        case connect
        /// The connect or total timeout elapsed.
        case timeout
        /// The connection broke mid-exchange (reset, partial body).
        case connectionLost
        /// TLS negotiation or certificate verification failed; never retried.
        case tls
        /// The request itself was refused locally (e.g. plain http to a non-loopback host); never retried.
        case refused
        /// Anything else.
        case other
    }

    public var kind: Kind
    /// A plain-language explanation. Holds the URL without its query, never a token.
    public var message: String

    public init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }

    /// Whether sending the same request again may succeed.
    public var isRetryable: Bool {
        switch kind {
        case .connect, .timeout, .connectionLost, .other: true
        case .tls, .refused: false
        }
    }

    public var description: String { message }
}
