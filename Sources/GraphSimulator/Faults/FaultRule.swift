/// The kinds of failure the simulator can inject.
public enum FaultKind: String, Sendable, CaseIterable {
    /// 429 with the Graph throttling body, `Retry-After` per rule (integer, fractional or absent)
    /// and `x-ms-throttle-*` headers.
    case throttle
    /// 500, 502, 503 or 504 (rule `status`, default 503), optional `Retry-After`.
    case serverError
    /// Answers normally, `latencyMs` after the request arrived (the simulator's own work counts toward it).
    case latency
    /// Answers with the full `Content-Length` but only half the body, then closes the connection.
    case truncatedBody
    /// Answers 200 with a body that is not valid JSON.
    case malformedBody
    /// Closes the connection without answering. A client that sent the request on a reused keep-alive
    /// connection may retry it once on a new one (libcurl does), so use `count: 2` to make it see the failure.
    case connectionReset
    /// Answers the next deltaLink (`$deltatoken=…`) request with the tenant's expired-token response.
    case deltaLinkGone
    /// Expires every access token of the tenant now (the request then gets 401).
    case tokenExpiry
    /// The next page's `@odata.nextLink`/`deltaLink` names another host that still reaches the simulator.
    case foreignNextLink
    /// Answers a nextLink of a plain list or of a group's members (`$skiptoken`) with 400 `Directory_ExpiredPageToken`,
    /// as Graph is reported to do on long chains: once the chain has served `afterPages` pages, or once `afterSeconds`
    /// have passed since its first page (either or both; neither: any such nextLink).
    case expiredPageToken
}

/// One fault rule: what, where, how often.
public struct FaultRule: Sendable {
    /// Identifier returned by the control API.
    public var id: Int
    /// What to inject.
    public var kind: FaultKind
    /// Only requests for this tenant (id or domain); nil: any.
    public var tenant: String?
    /// Only paths starting with this; nil: any Graph or token path.
    public var pathPrefix: String?
    /// Applications left; nil: unlimited.
    public var remaining: Int?
    /// Probability of applying to a matching request.
    public var probability: Double
    /// `Retry-After` value sent verbatim (e.g. "2", "0.5"); nil: header absent.
    public var retryAfter: String?
    /// Status for `serverError`.
    public var status: Int
    /// Response time for `latency` (and added to any other kind).
    public var latencyMs: Int
    /// `expiredPageToken`: chains that have served at least this many pages.
    public var afterPages: Int?
    /// `expiredPageToken`: chains whose first page was served at least this many seconds ago.
    public var afterSeconds: Double?

    /// Creates a rule.
    public init(id: Int = 0, kind: FaultKind, tenant: String? = nil, pathPrefix: String? = nil, remaining: Int? = 1,
                probability: Double = 1, retryAfter: String? = nil, status: Int = 503, latencyMs: Int = 0,
                afterPages: Int? = nil, afterSeconds: Double? = nil) {
        self.id = id
        self.kind = kind
        self.tenant = tenant
        self.pathPrefix = pathPrefix
        self.remaining = remaining
        self.probability = probability
        self.retryAfter = retryAfter
        self.status = status
        self.latencyMs = latencyMs
        self.afterPages = afterPages
        self.afterSeconds = afterSeconds
    }

    /// Parses a control-API rule: `{"kind", "tenant"?, "pathPrefix"?, "count"?, "probability"?,
    /// "retryAfter"?: "2"|"0.5"|null, "status"?, "latencyMs"?, "afterPages"?, "afterSeconds"?}`. Without `count` and
    /// `probability` a rule applies once; with only `probability` it applies until cleared.
    public init(json: JSONValue) throws(SimulatorInputError) {
        guard let kindName = json["kind"]?.stringValue, let kind = FaultKind(rawValue: kindName) else {
            throw SimulatorInputError("fault needs \"kind\": one of \(FaultKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let probability = json["probability"]?.doubleValue
        var remaining: Int? = json["count"]?.intValue
        if remaining == nil && probability == nil { remaining = 1 }
        let retryAfter: String?
        switch json["retryAfter"] {
        case .string(let s)?: retryAfter = s
        case .number(let n)?: retryAfter = n == n.rounded() ? String(Int(n)) : String(n)
        default: retryAfter = nil
        }
        let status = json["status"]?.intValue ?? 503
        if kind == .serverError && ![500, 502, 503, 504].contains(status) {
            throw SimulatorInputError("serverError status must be 500, 502, 503 or 504")
        }
        let afterPages = json["afterPages"]?.intValue, afterSeconds = json["afterSeconds"]?.doubleValue
        if (afterPages != nil || afterSeconds != nil) && kind != .expiredPageToken {
            throw SimulatorInputError("afterPages and afterSeconds belong to expiredPageToken rules")
        }
        if let afterPages, afterPages < 1 { throw SimulatorInputError("afterPages must be at least 1") }
        if let afterSeconds, afterSeconds < 0 { throw SimulatorInputError("afterSeconds must not be negative") }
        self.init(kind: kind, tenant: json["tenant"]?.stringValue, pathPrefix: json["pathPrefix"]?.stringValue,
                  remaining: remaining, probability: probability ?? 1, retryAfter: retryAfter, status: status,
                  latencyMs: json["latencyMs"]?.intValue ?? 0, afterPages: afterPages, afterSeconds: afterSeconds)
    }

    /// JSON for the control API.
    func write(_ w: inout JSONWriter) {
        w.beginObject()
        w.int(id, key: "id")
        w.string(kind.rawValue, key: "kind")
        w.stringOrNull(tenant, key: "tenant")
        w.stringOrNull(pathPrefix, key: "pathPrefix")
        if let remaining { w.int(remaining, key: "count") } else { w.null(key: "count") }
        w.double(probability, key: "probability")
        w.stringOrNull(retryAfter, key: "retryAfter")
        w.int(status, key: "status")
        w.int(latencyMs, key: "latencyMs")
        if let afterPages { w.int(afterPages, key: "afterPages") } else { w.null(key: "afterPages") }
        if let afterSeconds { w.double(afterSeconds, key: "afterSeconds") } else { w.null(key: "afterSeconds") }
        w.endObject()
    }
}
