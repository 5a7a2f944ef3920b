/// A request that carried a bearer token where none should go.
public struct TokenLeak: Sendable {
    /// The `Host` header of the request.
    public var host: String
    /// The path requested.
    public var path: String
    /// Why it counts as a leak.
    public var reason: String
}

/// Resource units, requests and 429s of one tenant or one app.
///
/// Units are also kept per second of the simulator's clock for the last 20 seconds, so the units of the last 10 and 20
/// seconds (the windows of Graph's budgets) and the most ever spent in such a window can be read.
public struct ResourceUnitCounters: Sendable {
    /// Resource units charged (throttled requests included: Graph counts them against the budgets too).
    public internal(set) var resourceUnits = 0
    /// Authenticated Graph requests.
    public internal(set) var requests = 0
    /// 429 responses (budget and injected).
    public internal(set) var throttled = 0
    /// The most units charged within any 10 seconds (to the second).
    public internal(set) var peakPer10s = 0
    /// The most units charged within any 20 seconds (to the second).
    public internal(set) var peakPer20s = 0
    /// Units per second of the clock, one slot per second modulo 20.
    private var slots: [(second: Int64, units: Int)] = Array(repeating: (Int64.min, 0), count: 20)

    /// No units yet.
    public init() {}

    /// Units charged within the `seconds` seconds up to `now` (at most 20).
    public func units(inLast seconds: Int, at now: Double) -> Int {
        let second = Int64(now.rounded(.down))
        return slots.reduce(0) { $0 + ($1.second > second - Int64(seconds) && $1.second <= second ? $1.units : 0) }
    }

    mutating func charge(_ units: Int, at now: Double) {
        resourceUnits += units
        let second = Int64(now.rounded(.down))
        let slot = Int(((second % 20) + 20) % 20)
        if slots[slot].second != second { slots[slot] = (second, 0) }
        slots[slot].units += units
        peakPer10s = max(peakPer10s, self.units(inLast: 10, at: now))
        peakPer20s = max(peakPer20s, self.units(inLast: 20, at: now))
    }

    func write(_ w: inout JSONWriter, key: String, now: Double) {
        w.beginObject(key)
        w.int(resourceUnits, key: "resourceUnits")
        w.int(requests, key: "requests")
        w.int(throttled, key: "throttled")
        w.int(units(inLast: 10, at: now), key: "last10s")
        w.int(units(inLast: 20, at: now), key: "last20s")
        w.int(peakPer10s, key: "peakPer10s")
        w.int(peakPer20s, key: "peakPer20s")
        w.endObject()
    }
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
    /// Resource units, requests and 429s per tenant id.
    public var resourceUnitsByTenant: [String: ResourceUnitCounters] = [:]
    /// Resource units, requests and 429s per app (client) id, across tenants.
    public var resourceUnitsByApp: [String: ResourceUnitCounters] = [:]
    /// Pages served per stream (`users/delta`, `users`, `groups/{id}/members`, `beta/groups/{id}/members`, …) and page
    /// size in force (`$top`, `Prefer: odata.maxpagesize` or the default).
    public var pageSizes: [String: [Int: Int]] = [:]

    /// Empty counters.
    public init() {}

    func write(_ w: inout JSONWriter, now: Double) {
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
        w.beginObject("resourceUnits")
        for (name, table) in [("byTenant", resourceUnitsByTenant), ("byApp", resourceUnitsByApp)] {
            w.beginObject(name)
            for key in table.keys.sorted() { table[key]!.write(&w, key: key, now: now) }
            w.endObject()
        }
        w.endObject()
        w.beginObject("pageSizes")
        for stream in pageSizes.keys.sorted() {
            w.beginObject(stream)
            for size in pageSizes[stream]!.keys.sorted() { w.int(pageSizes[stream]![size]!, key: String(size)) }
            w.endObject()
        }
        w.endObject()
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
