/// An HTTP request as the pure simulator sees it (the server adapter builds it from the socket).
public struct SimRequest: Sendable {
    /// `GET`, `POST`, …
    public var method: String
    /// Percent-decoded path, without the query.
    public var path: String
    /// Decoded query items, in order.
    public var query: [(name: String, value: String)]
    /// Headers with lower-cased names.
    public var headers: [String: String]
    /// The body.
    public var body: [UInt8]

    /// Creates a request.
    public init(method: String, path: String, query: [(name: String, value: String)] = [],
                headers: [String: String] = [:], body: [UInt8] = []) {
        self.method = method.uppercased()
        self.path = path
        self.query = query
        var lowered: [String: String] = [:]
        for (name, value) in headers { lowered[name.lowercased()] = value }
        self.headers = lowered
        self.body = body
    }

    /// The first query value named `name`.
    public func queryValue(_ name: String) -> String? { query.first { $0.name == name }?.value }

    /// The first value of the OData system query option `name` (`$select`, `$deltatoken`, …), whose name matches without
    /// regard to case: Graph's documentation writes `$deltaToken` and `$skipToken` where its links carry `$deltatoken` and
    /// `$skiptoken`.
    public func option(_ name: String) -> String? {
        let lower = name.lowercased()
        return query.first { $0.name.lowercased() == lower }?.value
    }

    /// The request without the query option `name` (any letter case).
    public func without(_ name: String) -> SimRequest {
        var copy = self
        copy.query.removeAll { $0.name.lowercased() == name.lowercased() }
        return copy
    }
}

/// How the server adapter must deliver a response (faults that happen below HTTP).
public enum SimTransport: Sendable, Equatable {
    /// Send the response as is.
    case normal
    /// Send the status line, headers with the full `Content-Length`, and only the first half of the body,
    /// then close the connection.
    case truncateBody
    /// Close the connection without sending a single byte.
    case resetConnection
}

/// A response from the pure simulator.
public struct SimResponse: Sendable {
    /// HTTP status code.
    public var status: Int
    /// Response headers, in order.
    public var headers: [(name: String, value: String)]
    /// The body.
    public var body: [UInt8]
    /// The response time: the answer leaves this long after the request arrived.
    public var delayMillis: Int = 0
    /// How to deliver it.
    public var transport: SimTransport = .normal
    /// Set by `POST /_graphsim/shutdown`: the server stops after answering.
    public var shutdown = false

    /// Creates a response.
    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// Replaces the value of every header named `name` (case-insensitive), or adds it.
    public mutating func setHeader(_ name: String, _ value: String) {
        let lower = name.lowercased()
        var found = false
        for i in headers.indices where headers[i].name.lowercased() == lower {
            headers[i].value = value
            found = true
        }
        if !found { headers.append((name, value)) }
    }

    /// The first header named `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// The body as UTF-8 text.
    public var text: String { String(decoding: body, as: UTF8.self) }

    /// A JSON response.
    static func json(_ status: Int, _ body: [UInt8], headers: [(name: String, value: String)] = []) -> SimResponse {
        SimResponse(status: status, headers: [("Content-Type", "application/json; charset=utf-8")] + headers, body: body)
    }
}
