import GraphSimulator
import Testing

@Suite("Resource units and throttling budgets")
struct ResourceUnitsTests {
    static let app = "11111111-2222-3333-4444-555555555555"

    @Test("every response carries Graph's documented cost in x-ms-resource-unit")
    func costs() throws {
        let h = SimulatorHarness { $0.spec = TenantSpec(users: 300, groups: 20, membersPerGroup: 30) }
        let token = try h.token()
        let group = h.simulator.tenant(0).groups[1].id
        let table: [(String, String)] = [
            ("/v1.0/users", "2"), ("/v1.0/users?$select=id", "1"), ("/v1.0/users?$top=5", "1"), ("/v1.0/users?$top=19&$select=id", "1"),
            ("/v1.0/users?$top=20", "2"), ("/v1.0/users?$top=999&$select=id,displayName", "1"),
            ("/v1.0/users?$expand=manager", "3"), ("/v1.0/groups", "1"), ("/v1.0/groups?$select=id", "1"), ("/v1.0/contacts", "1"),
            ("/v1.0/groups/\(group)/members", "3"), ("/v1.0/groups/\(group)/members?$select=id", "2"),
            ("/v1.0/groups/\(group)/members?$select=id&$top=999", "2"), ("/v1.0/groups/\(group)/members?$select=id&$top=5", "1"),
            ("/beta/groups/\(group)/members?$select=id&$top=999", "2"), ("/v1.0/groups/\(group)/members?$top=999", "3"),
            ("/v1.0/users/delta", "1"), ("/v1.0/users/delta?$select=displayName", "1"), ("/v1.0/groups/delta?$deltatoken=latest", "1"),
            ("/v1.0/organization", "1"), ("/v1.0/domains", "1"),
        ]
        for (url, cost) in table {
            let response = h.get(url, token: token)
            #expect(response.header("x-ms-resource-unit") == cost, "\(url): \(response.header("x-ms-resource-unit") ?? "none"), status \(response.status)")
            #expect(response.header("x-ms-throttle-limit-percentage") == nil, "\(url): budgets are off")
        }
    }

    @Test("budgets are off by default: nothing is throttled, yet every unit is counted per tenant and app")
    func offByDefault() throws {
        let h = SimulatorHarness()
        let token = try h.token()
        var spent = 0
        for _ in 0..<300 {
            let response = h.get("/v1.0/users", token: token)
            #expect(response.status == 200)
            spent += Int(response.header("x-ms-resource-unit") ?? "0") ?? 0
        }
        #expect(spent == 600)
        let stats = h.simulator.stats
        #expect(stats.resourceUnitsByTenant[h.tenantId]?.resourceUnits == 600)
        #expect(stats.resourceUnitsByTenant[h.tenantId]?.requests == 300)
        #expect(stats.resourceUnitsByApp[Self.app]?.resourceUnits == 600)
        #expect(stats.resourceUnitsByApp[Self.app]?.throttled == 0)
        #expect(h.simulator.ruBudget.enabled == false)
    }

    @Test("the app+tenant bucket warns above 80 %, throttles with Retry-After, charges throttled requests and refills over the clock")
    func tenantBucket() throws {
        // 60 users: a medium tenant, 5,000 RU per 10 s; scaled by 0.01 that is 50 RU, refilled at 5 RU a second.
        let h = SimulatorHarness { $0.ruBudget = ResourceBudgetSettings(enabled: true, scale: 0.01) }
        let token = try h.token()
        let url = "/v1.0/users?$select=id&$top=1"
        for k in 1...50 {
            let response = h.get(url, token: token)
            #expect(response.status == 200)
            let signal = response.header("x-ms-throttle-limit-percentage")
            if k <= 40 {
                #expect(signal == nil, "request \(k) is at \(k * 2) %")
            } else {
                #expect(signal == String(Double(k * 2) / 100), "request \(k)")
            }
        }
        let throttled = h.get(url, token: token)
        #expect(throttled.status == 429)
        #expect(throttled.header("Retry-After") == "1")
        #expect(throttled.header("x-ms-throttle-scope") == "Tenant_Application/ReadWrite/\(Self.app)/\(h.tenantId)")
        #expect(throttled.header("x-ms-throttle-information") == "ResourceUnitLimitExceeded")
        #expect(throttled.header("x-ms-resource-unit") == "1")
        let body = try JSONValue.parse(throttled.body)
        #expect(body["error"]?["code"] == .string("TooManyRequests"))
        // Throttled requests accrue too: two refusals leave the bucket 2 RU in debt.
        #expect(h.get(url, token: token).status == 429)
        h.clock.advance(1)
        // 1 s refills 5 RU: -2 + 5 leaves room for exactly three more.
        #expect((0..<3).allSatisfy { _ in h.get(url, token: token).status == 200 })
        let again = h.get(url, token: token)
        #expect(again.status == 429 && again.header("Retry-After") == "1")
        h.clock.advance(10)
        #expect(h.get(url, token: token).status == 200)
        let stats = h.simulator.stats.resourceUnitsByTenant[h.tenantId]
        #expect(stats?.throttled == 3)
        #expect(stats?.resourceUnits == 50 + 3 + 3 + 1)
        #expect(stats?.peakPer10s == 56)
    }

    @Test("a whole second of Retry-After is always enough, and a dearer request waits longer")
    func retryAfterCoversTheDeficit() throws {
        let h = SimulatorHarness { $0.ruBudget = ResourceBudgetSettings(enabled: true, scale: 0.01) }
        let token = try h.token()
        for _ in 0..<25 { #expect(h.get("/v1.0/users", token: token).status == 200) }
        // 50 RU spent at 2 RU each; a 3-RU members read finds 0 and leaves -3: it needs 6 RU, 1.2 s at 5 RU/s.
        let group = h.simulator.tenant(0).groups[0].id
        let refused = h.get("/v1.0/groups/\(group)/members", token: token)
        #expect(refused.status == 429)
        #expect(refused.header("Retry-After") == "2")
        h.clock.advance(2)
        #expect(h.get("/v1.0/groups/\(group)/members", token: token).status == 200)
    }

    @Test("tenant size decides the app+tenant budget: under 50 users 3,500, 50 to 500 5,000, over 500 8,000")
    func tenantSizes() throws {
        for (users, budget) in [(30, 35), (50, 50), (500, 50), (501, 80)] {
            let h = SimulatorHarness {
                $0.spec = TenantSpec(users: users, groups: 5, membersPerGroup: 3)
                $0.ruBudget = ResourceBudgetSettings(enabled: true, scale: 0.01)
            }
            let token = try h.token()
            var allowed = 0
            while h.get("/v1.0/organization", token: token).status == 200 { allowed += 1 }
            #expect(allowed == budget, "\(users) users")
        }
    }

    @Test("the app bucket spans tenants and answers with the Application scope")
    func appBucket() throws {
        // Two medium tenants with full app+tenant budgets; the app budget scaled to 30 RU per 20 s (1.5 RU a second).
        let h = SimulatorHarness {
            $0.tenantCount = 2
            $0.ruBudget = ResourceBudgetSettings(enabled: true, scale: 1, appScale: 0.0002)
        }
        let tokens = [try h.token(tenant: 0), try h.token(tenant: 1)]
        for i in 0..<30 { #expect(h.get("/v1.0/organization", token: tokens[i % 2]).status == 200) }
        let refused = h.get("/v1.0/organization", token: tokens[1])
        #expect(refused.status == 429)
        #expect(refused.header("x-ms-throttle-scope") == "Application/ReadWrite/\(Self.app)/\(h.simulator.tenant(1).id)")
        #expect(refused.header("Retry-After") == "2")
        #expect(h.get("/v1.0/organization", token: tokens[0]).status == 429)
        h.clock.advance(2)
        // -2 + 3 RU: one request passes.
        #expect(h.get("/v1.0/organization", token: tokens[0]).status == 200)
        #expect(h.get("/v1.0/organization", token: tokens[1]).status == 429)
        let stats = h.simulator.stats
        #expect(stats.resourceUnitsByApp[Self.app]?.throttled == 3)
        #expect(stats.resourceUnitsByTenant[h.simulator.tenant(0).id]?.throttled == 1)
        #expect(stats.resourceUnitsByTenant[h.simulator.tenant(1).id]?.throttled == 2)
    }

    @Test("the control API turns budgets on, shows each bucket, and stats report units per 10 and 20 seconds")
    func controlAndStats() throws {
        let h = SimulatorHarness()
        let token = try h.token()
        #expect(h.control("POST", "budget", "{\"enabled\":true,\"scale\":0.01}").status == 200)
        #expect(h.control("POST", "budget", "{\"enabled\":\"yes\"}").status == 400)
        #expect(h.control("POST", "budget", "{\"speed\":1}").status == 400)
        for _ in 0..<10 { _ = h.get("/v1.0/users", token: token) }
        h.clock.advance(12)
        for _ in 0..<5 { _ = h.get("/v1.0/users", token: token) }
        let budget = try JSONValue.parse(h.control("GET", "budget").body)
        #expect(budget["enabled"] == .bool(true))
        let buckets = budget["buckets"]?.arrayValue ?? []
        let pair = try #require(buckets.first { $0["scope"] == .string("Tenant_Application") })
        #expect(pair["tenantId"] == .string(h.tenantId) && pair["capacity"] == .number(50) && pair["windowSeconds"] == .number(10))
        #expect(buckets.contains { $0["scope"] == .string("Application") && $0["capacity"] == .number(1500) })
        let stats = try JSONValue.parse(h.control("GET", "stats").body)
        let tenant = stats["resourceUnits"]?["byTenant"]?[h.tenantId]
        #expect(tenant?["resourceUnits"] == .number(30))
        #expect(tenant?["last10s"] == .number(10))
        #expect(tenant?["last20s"] == .number(30))
        #expect(tenant?["peakPer10s"] == .number(20))
        #expect(stats["resourceUnits"]?["byApp"]?[Self.app]?["requests"] == .number(15))
    }
}
