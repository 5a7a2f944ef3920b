/// A request that carried a bearer token where none should go.
public struct TokenLeak: Sendable {
    /// The `Host` header of the request.
    public var host: String
    /// The path requested.
    public var path: String
    /// Why it counts as a leak.
    public var reason: String
}

/// Counters the control API reports under `GET /_graphsim/stats`.
public struct SimulatorStats: Sendable {
    /// Requests per endpoint (`GET /v1.0/users/delta`, `POST /{tenant}/oauth2/v2.0/token`, …).
    public var byEndpoint: [String: Int] = [:]
    /// Requests per tenant id.
    public var byTenant: [String: Int] = [:]
    /// Responses per status code.
    public var byStatus: [Int: Int] = [:]
    /// Faults injected per kind.
    public var faults: [String: Int] = [:]
    /// 429 responses sent.
    public var throttled = 0
    /// Token endpoint requests.
    public var tokenRequests = 0
    /// Access tokens issued.
    public var tokensIssued = 0
    /// Delta pages served.
    public var deltaPages = 0
    /// Bearer tokens sent to a foreign host or a non-Graph path.
    public var tokenLeaks: [TokenLeak] = []

    /// Empty counters.
    public init() {}

    func write(_ w: inout JSONWriter) {
        w.beginObject()
        func map(_ name: String, _ values: [String: Int]) {
            w.beginObject(name)
            for key in values.keys.sorted() { w.int(values[key]!, key: key) }
            w.endObject()
        }
        map("requestsByEndpoint", byEndpoint)
        map("requestsByTenant", byTenant)
        var statuses: [String: Int] = [:]
        for (code, count) in byStatus { statuses[String(code)] = count }
        map("responsesByStatus", statuses)
        map("faultsInjected", faults)
        w.int(throttled, key: "throttled")
        w.int(tokenRequests, key: "tokenRequests")
        w.int(tokensIssued, key: "tokensIssued")
        w.int(deltaPages, key: "deltaPages")
        w.beginArray("tokenLeaks")
        for leak in tokenLeaks {
            w.beginObject()
            w.string(leak.host, key: "host")
            w.string(leak.path, key: "path")
            w.string(leak.reason, key: "reason")
            w.endObject()
        }
        w.endArray()
        w.endObject()
    }
}
