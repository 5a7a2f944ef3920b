import Foundation
import GraphSimulator
import Synchronization
import Testing

/// A settable clock for token and deltaLink expiry.
final class ManualClock: Sendable {
    private let time = Mutex<Double>(1_800_000_000)
    var now: Double { time.withLock { $0 } }
    func advance(_ seconds: Double) { time.withLock { $0 += seconds } }
}

/// Drives a simulator in-process (no sockets) the way an HTTP client would.
struct SimulatorHarness {
    let simulator: GraphSimulator
    let clock: ManualClock
    static let base = "http://127.0.0.1:9"

    init(_ configure: (inout SimulatorConfiguration) -> Void = { _ in }) {
        var configuration = SimulatorConfiguration()
        configuration.seed = 42
        configuration.spec = TenantSpec(users: 60, groups: 12, membersPerGroup: 8)
        configure(&configuration)
        let clock = ManualClock()
        self.clock = clock
        simulator = GraphSimulator(configuration: configuration, clock: { clock.now })
        simulator.setBaseURL(Self.base)
    }

    var tenantId: String { simulator.tenant(0).id }

    /// Sends a request given an absolute URL on the base or a path with query.
    func send(_ method: String, _ url: String, headers: [String: String] = [:], body: String = "") -> SimResponse {
        var rest = url
        if rest.hasPrefix("http://") {
            rest = String(rest.dropFirst(7))
            let host = String(rest.prefix { $0 != "/" })
            rest = String(rest.dropFirst(host.count))
            var h = headers
            h["Host"] = h["Host"] ?? host
            return send(method, rest, headers: h, body: body)
        }
        let parts = rest.split(separator: "?", maxSplits: 1)
        var query: [(name: String, value: String)] = []
        if parts.count == 2 {
            for item in parts[1].split(separator: "&") {
                let kv = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                query.append((String(kv[0]), kv.count > 1 ? (String(kv[1]).removingPercent()) : ""))
            }
        }
        var h = headers
        h["Host"] = h["Host"] ?? "127.0.0.1:9"
        return simulator.handle(SimRequest(method: method, path: String(parts[0]), query: query, headers: h, body: Array(body.utf8)))
    }

    /// A token for the default app of tenant `index`.
    func token(tenant index: Int = 0) throws -> String {
        let response = send("POST", "/\(simulator.tenant(index).id)/oauth2/v2.0/token",
                            body: "grant_type=client_credentials&client_id=11111111-2222-3333-4444-555555555555&client_secret=graph-sim-secret&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default")
        #expect(response.status == 200, "token request failed: \(response.text)")
        return try #require(JSONValue.parse(response.body)["access_token"]?.stringValue)
    }

    func get(_ url: String, token: String, headers: [String: String] = [:]) -> SimResponse {
        var h = headers
        h["Authorization"] = "Bearer \(token)"
        return send("GET", url, headers: h)
    }

    func control(_ method: String, _ path: String, _ body: String = "") -> SimResponse {
        send(method, "/_graphsim/" + path, body: body)
    }
}

extension String {
    func removingPercent() -> String {
        var bytes: [UInt8] = []
        var iterator = Array(utf8).makeIterator()
        while let b = iterator.next() {
            if b == UInt8(ascii: "%"), let h = iterator.next(), let l = iterator.next(),
               let v = UInt8(String(decoding: [h, l], as: UTF8.self), radix: 16) {
                bytes.append(v)
            } else {
                bytes.append(b)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A minimal delta client: follows rounds of users, groups and contacts selecting every modelled property
/// (users also `manager` and the directory extensions), applies changes, and can be compared with `truth`.
struct MirrorClient {
    var objects: [String: [String: [String: JSONValue]]] = ["users": [:], "groups": [:], "contacts": [:]]
    var deleted: [String: [String: String]] = ["users": [:], "groups": [:], "contacts": [:]]
    var memberships: Set<String> = []
    var deltaLinks: [String: String] = [:]
    var resyncs = 0
    var pages = 0
    var retries = 0

    var users: [String: [String: JSONValue]] { objects["users"] ?? [:] }
    var groups: [String: [String: JSONValue]] { objects["groups"] ?? [:] }

    /// Collections: Graph writes a cleared one as `[]`, the truth a never-set one as `null`.
    static let collections: Set<String> = ["proxyAddresses", "groupTypes", "otherMails", "businessPhones"]

    /// The initial URL of a round of `resource`, selecting everything the simulator models.
    static func initialURL(_ resource: String, harness: SimulatorHarness) -> String {
        let select: [String]
        switch resource {
        case "users": select = UserProperty.names + harness.simulator.tenant(0).directoryExtensions.map(\.name) + ["manager"]
        case "groups": select = GroupProperty.names + ["members"]
        default: select = ContactProperty.names
        }
        return "/v1.0/\(resource)/delta?$select=" + select.joined(separator: ",")
    }

    /// Runs one round of `resource`; `between` runs after each page (to mutate mid-round).
    mutating func round(_ resource: String, harness: SimulatorHarness, token: String, minimal: Bool,
                        between: (Int) -> Void = { _ in }) throws {
        var url = deltaLinks[resource] ?? Self.initialURL(resource, harness: harness)
        var fresh = deltaLinks[resource] == nil
        var staging = self
        if fresh { staging.reset(resource) }
        var pageIndex = 0
        while true {
            let response = harness.get(url, token: token, headers: minimal ? ["Prefer": "return=minimal"] : [:])
            if response.status == 429 || response.status >= 500 {
                retries += 1
                try #require(retries < 10_000)
                continue
            }
            if response.status == 410 || response.status == 400 && response.text.lowercased().contains("syncstatenotfound") {
                resyncs += 1
                url = Self.initialURL(resource, harness: harness)
                staging = self
                staging.reset(resource)
                fresh = true
                continue
            }
            try #require(response.status == 200, "unexpected \(response.status): \(response.text)")
            let page = try JSONValue.parse(response.body)
            staging.pages += 1
            for item in page["value"]?.arrayValue ?? [] { try staging.apply(item, resource: resource) }
            pageIndex += 1
            between(pageIndex)
            if let next = page["@odata.nextLink"]?.stringValue {
                #expect(page["@odata.deltaLink"] == nil, "a page never carries both links")
                url = next
            } else {
                let delta = try #require(page["@odata.deltaLink"]?.stringValue)
                staging.deltaLinks[resource] = delta
                staging.retries = retries
                staging.resyncs = resyncs
                self = staging
                return
            }
        }
    }

    mutating func reset(_ resource: String) {
        deleted[resource] = [:]
        objects[resource] = [:]
        if resource == "groups" { memberships = [] }
    }

    mutating func apply(_ item: JSONValue, resource: String) throws {
        let id = try #require(item["id"]?.stringValue)
        if let removed = item["@removed"] {
            let reason = try #require(removed["reason"]?.stringValue)
            deleted[resource]![id] = reason
            objects[resource]![id] = nil
            if resource == "groups" { memberships = memberships.filter { !$0.hasPrefix(id + "|") } }
            return
        }
        deleted[resource]![id] = nil
        var props = objects[resource]![id] ?? [:]
        for (key, value) in item.objectValue ?? [:] where key != "id" && !key.hasPrefix("@") && !key.hasSuffix("@delta") {
            props[key] = value
        }
        if let entries = item["manager@delta"]?.arrayValue {
            for entry in entries {
                props["manager"] = entry["@removed"] != nil ? .null : try #require(entry["id"])
            }
        }
        objects[resource]![id] = props
        for entry in item["members@delta"]?.arrayValue ?? [] {
            let memberId = try #require(entry["id"]?.stringValue)
            let type = try #require(entry["@odata.type"]?.stringValue).replacingOccurrences(of: "#microsoft.graph.", with: "")
            let key = "\(id)|\(memberId)|\(type)"
            if entry["@removed"] != nil {
                memberships = memberships.filter { !$0.hasPrefix("\(id)|\(memberId)|") }
            } else {
                memberships.insert(key)
            }
        }
    }

    /// Differences from the truth document (empty when the mirror is exact).
    func differences(from truth: JSONValue) -> [String] {
        var problems: [String] = []
        for resource in ["users", "groups", "contacts"] {
            let mirror = objects[resource] ?? [:]
            var seen = 0
            for object in truth[resource]?.arrayValue ?? [] {
                let id = object["id"]?.stringValue ?? ""
                let flag = object["deleted"]?.stringValue
                if let flag {
                    if deleted[resource]?[id] != flag { problems.append("\(resource) \(id): truth deleted=\(flag), mirror \(deleted[resource]?[id] ?? "live/unknown")") }
                    continue
                }
                seen += 1
                guard let props = mirror[id] else { problems.append("\(resource) \(id) missing"); continue }
                for (key, value) in object.objectValue ?? [:] where key != "id" && key != "deleted" {
                    let mine = props[key] ?? .null
                    let theirs = Self.collections.contains(key) && value == .null ? .array([]) : value
                    let mineNormalised = Self.collections.contains(key) && mine == .null ? .array([]) : mine
                    if mineNormalised != theirs { problems.append("\(resource) \(id).\(key): truth \(value), mirror \(mine)") }
                }
            }
            if seen != mirror.count { problems.append("\(resource): truth has \(seen) live, mirror \(mirror.count)") }
        }
        var truthMemberships: Set<String> = []
        for m in truth["memberships"]?.arrayValue ?? [] {
            truthMemberships.insert("\(m["groupId"]?.stringValue ?? "")|\(m["memberId"]?.stringValue ?? "")|\(m["memberType"]?.stringValue ?? "")")
        }
        if truthMemberships != memberships {
            problems.append("memberships: \(truthMemberships.subtracting(memberships).count) missing, \(memberships.subtracting(truthMemberships).count) extra")
        }
        return problems
    }
}
