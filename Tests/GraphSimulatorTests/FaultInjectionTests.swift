import GraphSimulator
import Testing

@Suite("Fault injection")
struct FaultInjectionTests {
    @Test("throttling answers 429 with Retry-After as integer, fractional or absent, and the Graph throttling body")
    func throttle() throws {
        let h = SimulatorHarness()
        let token = try h.token()
        for (retry, json) in [("2", "\"2\""), ("0.5", "\"0.5\""), (nil, "null")] as [(String?, String)] {
            _ = h.control("POST", "faults", "{\"kind\":\"throttle\",\"count\":1,\"retryAfter\":\(json)}")
            let response = h.get("/v1.0/users/delta", token: token)
            #expect(response.status == 429)
            #expect(response.header("Retry-After") == retry)
            #expect(response.header("x-ms-throttle-scope")?.hasPrefix("Tenant_Application/ReadWrite/") == true)
            #expect(response.header("x-ms-resource-unit") != nil && response.header("request-id") != nil)
            let body = try JSONValue.parse(response.body)
            #expect(body["error"]?["code"] == .string("TooManyRequests"))
            #expect(body["error"]?["innerError"]?["status"] == .string("429"))
        }
        #expect(h.get("/v1.0/users/delta", token: token).status == 200)
        #expect(h.simulator.stats.throttled == 3)
    }

    @Test("server errors hit only the configured tenant and path, the configured number of times")
    func serverErrors() throws {
        let h = SimulatorHarness { $0.tenantCount = 2 }
        let token0 = try h.token(tenant: 0), token1 = try h.token(tenant: 1)
        _ = h.control("POST", "faults", "{\"kind\":\"serverError\",\"status\":504,\"count\":2,\"tenant\":\"\(h.simulator.tenant(1).id)\",\"pathPrefix\":\"/v1.0/groups\"}")
        #expect(h.get("/v1.0/groups/delta", token: token0).status == 200)
        #expect(h.get("/v1.0/users/delta", token: token1).status == 200)
        #expect(h.get("/v1.0/groups/delta", token: token1).status == 504)
        #expect(h.get("/v1.0/groups/delta", token: token1).status == 504)
        #expect(h.get("/v1.0/groups/delta", token: token1).status == 200)
        #expect(h.control("POST", "faults", "{\"kind\":\"serverError\",\"status\":418}").status == 400)
    }

    @Test("a probabilistic 503 rule fails roughly that fraction of requests until the faults are cleared")
    func probabilisticFaults() throws {
        let h = SimulatorHarness()
        let token = try h.token()
        _ = h.control("POST", "faults", "{\"kind\":\"serverError\",\"status\":503,\"probability\":0.3,\"retryAfter\":\"1\"}")
        let failures = (0..<200).filter { _ in h.get("/v1.0/organization", token: token).status == 503 }.count
        #expect((30...90).contains(failures))
        _ = h.control("DELETE", "faults")
        #expect((0..<20).allSatisfy { _ in h.get("/v1.0/organization", token: token).status == 200 })
    }

    @Test("latency, truncated body, malformed body and connection reset are handed to the transport")
    func transportFaults() throws {
        let h = SimulatorHarness()
        let token = try h.token()
        _ = h.control("POST", "faults", "{\"kind\":\"latency\",\"latencyMs\":150,\"count\":1}")
        let slow = h.get("/v1.0/users/delta", token: token)
        #expect(slow.delayMillis == 150 && slow.status == 200)
        _ = h.control("POST", "faults", "{\"kind\":\"truncatedBody\"}")
        #expect(h.get("/v1.0/users/delta", token: token).transport == .truncateBody)
        _ = h.control("POST", "faults", "{\"kind\":\"connectionReset\"}")
        #expect(h.get("/v1.0/users/delta", token: token).transport == .resetConnection)
        _ = h.control("POST", "faults", "{\"kind\":\"malformedBody\"}")
        let malformed = h.get("/v1.0/users/delta", token: token)
        #expect(malformed.status == 200)
        #expect((try? JSONValue.parse(malformed.body)) == nil)
        #expect(h.get("/v1.0/users/delta", token: token).transport == .normal)
    }

    @Test("deltaLinkGone answers the next deltaLink request with 410 syncStateNotFound but leaves initial rounds alone")
    func deltaLinkGone() throws {
        let h = SimulatorHarness()
        let token = try h.token()
        let link = try #require(try JSONValue.parse(h.get("/v1.0/users/delta?$deltatoken=latest", token: token).body)["@odata.deltaLink"]?.stringValue)
        _ = h.control("POST", "faults", "{\"kind\":\"deltaLinkGone\"}")
        #expect(h.get("/v1.0/users/delta", token: token).status == 200)
        let gone = h.get(link, token: token)
        #expect(gone.status == 410)
        #expect(try JSONValue.parse(gone.body)["error"]?["code"] == .string("syncStateNotFound"))
        #expect(h.get(link, token: token).status == 200)
    }

    @Test("tokenExpiry makes the current access token fail with 401 until a new one is fetched")
    func tokenExpiry() throws {
        let h = SimulatorHarness()
        let token = try h.token()
        _ = h.control("POST", "faults", "{\"kind\":\"tokenExpiry\"}")
        #expect(h.get("/v1.0/users/delta", token: token).status == 401)
        #expect(h.get("/v1.0/users/delta", token: token).status == 401)
        #expect(h.get("/v1.0/users/delta", token: try h.token()).status == 200)
    }

    @Test("foreignNextLink points the next link at another host, and a bearer token sent there is recorded as a leak")
    func foreignNextLink() throws {
        let h = SimulatorHarness { $0.pageSize = 10 }
        let token = try h.token()
        _ = h.control("POST", "faults", "{\"kind\":\"foreignNextLink\"}")
        let page = try JSONValue.parse(h.get("/v1.0/users/delta", token: token).body)
        let next = try #require(page["@odata.nextLink"]?.stringValue)
        #expect(next.hasPrefix("http://localhost:9/v1.0/users/delta?"))
        #expect(h.simulator.stats.tokenLeaks.isEmpty)
        _ = h.get(next, token: token)
        let leaks = h.simulator.stats.tokenLeaks
        #expect(leaks.count == 1 && leaks.first?.host == "localhost:9")
        let stats = try JSONValue.parse(h.control("GET", "stats").body)
        #expect(stats["tokenLeaks"]?.arrayValue?.count == 1)
        #expect(stats["requestsByEndpoint"]?["GET /v1.0/users/delta"]?.intValue == 2)
        _ = h.control("POST", "stats/reset")
        #expect(h.simulator.stats.tokenLeaks.isEmpty)
    }
}
