import Foundation

/// Request dispatch, fault injection and Graph error shapes.
extension SimulatorState {
    static let graphContentType = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

    mutating func handle(_ request: SimRequest, now: Double) -> SimResponse {
        let path = request.path
        let isGraph = path.hasPrefix("/v1.0/") || path == "/v1.0" || path.hasPrefix("/beta/") || path == "/beta"
        if let auth = request.headers["authorization"], auth.lowercased().hasPrefix("bearer") {
            let host = request.headers["host"] ?? ""
            if !host.isEmpty && host.lowercased() != baseAuthority.lowercased() {
                stats.tokenLeaks.append(TokenLeak(host: host, path: path, reason: "bearer token sent to a host other than the base URL's"))
            } else if !isGraph {
                stats.tokenLeaks.append(TokenLeak(host: host, path: path, reason: "bearer token sent to a non-Graph path"))
            }
        }
        if path.hasPrefix("/_graphsim/") || path == "/_graphsim" {
            return control(request, now: now)
        }
        let endpoint = endpointKey(request)
        stats.byEndpoint[endpoint, default: 0] += 1
        let tenant = requestTenant(request, isGraph: isGraph)
        if let tenant { stats.byTenant[tenants[tenant].id, default: 0] += 1 }
        var principal: (tenant: String, app: String)?
        if isGraph, let text = bearer(request), let token = tokens[text] {
            principal = (tenants[token.tenant].id, token.clientId)
            stats.resourceUnitsByTenant[tenants[token.tenant].id, default: ResourceUnitCounters()].requests += 1
            stats.resourceUnitsByApp[token.clientId, default: ResourceUnitCounters()].requests += 1
        }

        var delay = 0
        var foreignLinks = false
        var post: FaultKind?
        var index = 0
        while index < faults.count {
            let rule = faults[index]
            guard matches(rule, request: request, tenant: tenant, now: now), faultRandom.chance(rule.probability) else {
                index += 1
                continue
            }
            if let remaining = rule.remaining {
                if remaining <= 1 { faults.remove(at: index) } else { faults[index].remaining = remaining - 1; index += 1 }
            } else {
                index += 1
            }
            stats.faults[rule.kind.rawValue, default: 0] += 1
            delay += rule.latencyMs
            switch rule.kind {
            case .latency: continue
            case .tokenExpiry:
                for (key, token) in tokens where tenant == nil || token.tenant == tenant { tokens[key]?.expiresAt = min(token.expiresAt, now - 1) }
                continue
            case .foreignNextLink: foreignLinks = true; continue
            case .truncatedBody, .malformedBody, .connectionReset: post = rule.kind; continue
            case .throttle:
                var response = throttled(rule, request: request, tenant: tenant, now: now)
                response.delayMillis = delay
                return finish(response, principal)
            case .serverError:
                var response = serverError(rule, request: request, now: now)
                response.delayMillis = delay
                return finish(response, principal)
            case .expiredPageToken:
                var response = expiredPageToken(request, now: now)
                response.delayMillis = delay
                return finish(response, principal)
            case .deltaLinkGone:
                guard let t = tenant else { continue }
                let resource: Resource = path.contains("/groups") ? .groups : path.contains("/contacts") ? .contacts : .users
                var response = expiredDelta(request, tenant: t, now: now, resource: resource,
                                            selection: nil)
                response.delayMillis = delay
                return finish(response, principal)
            }
        }

        var response: SimResponse
        if isGraph {
            response = graph(request, now: now, foreignLinks: foreignLinks)
        } else {
            response = identity(request, now: now)
        }
        response.delayMillis = delay
        switch post {
        case .truncatedBody?: response.transport = .truncateBody
        case .connectionReset?: response.transport = .resetConnection
        case .malformedBody?:
            let half = response.body.prefix(max(1, response.body.count / 2))
            response.body = Array(half) + Array("\u{0}<!-- upstream error -->".utf8)
            response.status = 200
        default: break
        }
        return finish(response, principal)
    }

    private mutating func finish(_ response: SimResponse, _ principal: (tenant: String, app: String)?) -> SimResponse {
        stats.byStatus[response.status, default: 0] += 1
        if response.status == 429 {
            stats.throttled += 1
            if let principal {
                stats.resourceUnitsByTenant[principal.tenant, default: ResourceUnitCounters()].throttled += 1
                stats.resourceUnitsByApp[principal.app, default: ResourceUnitCounters()].throttled += 1
            }
        }
        return response
    }

    /// The tenant a request concerns: the bearer token's for Graph, the path segment's for the identity platform.
    func requestTenant(_ request: SimRequest, isGraph: Bool) -> Int? {
        if isGraph {
            guard let token = bearer(request) else { return nil }
            return tokens[token]?.tenant
        }
        let segment = request.path.split(separator: "/").first.map(String.init) ?? ""
        return tenants.firstIndex { $0.answers(to: segment) }
    }

    func bearer(_ request: SimRequest) -> String? {
        guard let auth = request.headers["authorization"], auth.lowercased().hasPrefix("bearer ") else { return nil }
        return String(auth.dropFirst(7)).trimmingCharacters(in: .whitespaces)
    }

    private func matches(_ rule: FaultRule, request: SimRequest, tenant: Int?, now: Double) -> Bool {
        if let prefix = rule.pathPrefix, !request.path.hasPrefix(prefix) { return false }
        if let name = rule.tenant {
            guard let tenant, tenants[tenant].id == name.lowercased() || tenants[tenant].domains.contains(where: { $0.name == name.lowercased() })
            else { return false }
        }
        if rule.kind == .deltaLinkGone {
            guard let token = request.option("$deltatoken"), !token.isEmpty, token.lowercased() != "latest" else { return false }
        }
        if rule.kind == .expiredPageToken {
            guard let text = request.option("$skiptoken"), let token = PageToken.decode(text, key: tokenKey) else { return false }
            if let pages = rule.afterPages, token.pagesServed < pages { return false }
            if let seconds = rule.afterSeconds, now - Double(token.startedMillis) / 1000 < seconds { return false }
        }
        if rule.kind == .foreignNextLink && !request.path.hasSuffix("delta") { return false }
        return true
    }

    func endpointKey(_ request: SimRequest) -> String {
        let parts = request.path.split(separator: "/").map(String.init)
        if parts.first == "v1.0" || parts.first == "beta" {
            let version = parts[0]
            if parts.count >= 3 && parts[1] == "domains" { return "\(request.method) /\(version)/domains/{name}" }
            if parts.count >= 4 && parts[1] == "groups" {
                return "\(request.method) /\(version)/groups/{id}/" + parts.dropFirst(3).joined(separator: "/")
            }
            return "\(request.method) \(request.path)"
        }
        if parts.count >= 2 {
            return "\(request.method) /{tenant}/" + parts.dropFirst().joined(separator: "/")
        }
        return "\(request.method) \(request.path)"
    }

    // MARK: Error shapes

    mutating func newRequestId() -> String {
        var system = SystemRandomNumberGenerator()
        return SeededRandom.formatGUID(hi: (system.next() & 0xFFFF_FFFF_FFFF_0FFF) | 0x4000,
                                       lo: (system.next() & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000)
    }

    /// Headers every Graph response carries.
    mutating func graphHeaders(_ request: SimRequest, resourceUnits: Int = 1) -> [(name: String, value: String)] {
        let requestId = newRequestId()
        return [("Content-Type", Self.graphContentType), ("request-id", requestId),
                ("client-request-id", request.headers["client-request-id"] ?? requestId),
                ("x-ms-resource-unit", String(resourceUnits)), ("Cache-Control", "no-cache")]
    }

    /// `{"error":{"code","message","innerError":{…}}}` with Graph's headers.
    mutating func graphError(_ status: Int, code: String, message: String, request: SimRequest, now: Double,
                             extraHeaders: [(name: String, value: String)] = [], throttled: Bool = false) -> SimResponse {
        var headers = graphHeaders(request)
        let requestId = headers[1].value
        headers.append(contentsOf: extraHeaders)
        var w = JSONWriter()
        w.beginObject()
        w.beginObject("error")
        w.string(code, key: "code")
        w.string(message, key: "message")
        w.beginObject("innerError")
        if throttled {
            w.string("429", key: "code")
            w.string(isoDate(now), key: "date")
            w.string("Please retry after", key: "message")
            w.string(requestId, key: "request-id")
            w.string("429", key: "status")
        } else {
            w.string(isoDate(now), key: "date")
            w.string(requestId, key: "request-id")
            w.string(headers[2].value, key: "client-request-id")
        }
        w.endObject()
        w.endObject()
        w.endObject()
        return SimResponse(status: status, headers: headers, body: w.bytes)
    }

    private mutating func throttled(_ rule: FaultRule, request: SimRequest, tenant: Int?, now: Double) -> SimResponse {
        var extra: [(name: String, value: String)] = []
        if let retry = rule.retryAfter { extra.append(("Retry-After", retry)) }
        let tenantId = tenant.map { tenants[$0].id } ?? "00000000-0000-0000-0000-000000000000"
        let appId = bearer(request).flatMap { tokens[$0]?.clientId } ?? "00000000-0000-0000-0000-000000000000"
        extra.append(("x-ms-throttle-scope", "Tenant_Application/ReadWrite/\(appId)/\(tenantId)"))
        extra.append(("x-ms-throttle-information", "ResourceUnitLimitExceeded"))
        extra.append(("x-ms-throttle-limit-percentage", "1.2"))
        if !request.path.hasPrefix("/v1.0") {
            var w = JSONWriter()
            w.beginObject()
            w.string("temporarily_unavailable", key: "error")
            w.string("AADSTS50196: The server terminated an operation because it encountered a client request loop.", key: "error_description")
            w.beginArray("error_codes"); w.int(50196); w.endArray()
            w.endObject()
            return SimResponse.json(429, w.bytes, headers: extra)
        }
        return graphError(429, code: "TooManyRequests", message: "Please retry again later.", request: request, now: now,
                          extraHeaders: extra, throttled: true)
    }

    private mutating func serverError(_ rule: FaultRule, request: SimRequest, now: Double) -> SimResponse {
        let (code, message): (String, String)
        switch rule.status {
        case 500: (code, message) = ("generalException", "An unexpected error occurred.")
        case 502: (code, message) = ("BadGateway", "The gateway received an invalid response.")
        case 504: (code, message) = ("GatewayTimeout", "The gateway did not receive a timely response.")
        default: (code, message) = ("serviceNotAvailable", "The service is temporarily unavailable.")
        }
        var extra: [(name: String, value: String)] = []
        if let retry = rule.retryAfter { extra.append(("Retry-After", retry)) }
        return graphError(rule.status, code: code, message: message, request: request, now: now, extraHeaders: extra)
    }
}
