import GraphSimulator
import Testing

@Suite("Faults for a first load under stress: expiring page tokens, replication lag")
struct LoadStressTests {
    static func error(_ response: SimResponse) throws -> (code: String?, message: String?) {
        let body = try JSONValue.parse(response.body)
        return (body["error"]?["code"]?.stringValue, body["error"]?["message"]?.stringValue)
    }

    @Test("an expiredPageToken rule with afterPages refuses a list chain's later pages; a restarted chain and delta are unaffected")
    func expiryAfterPages() throws {
        let h = SimulatorHarness { $0.pageSize = 10 }
        let token = try h.token()
        #expect(h.control("POST", "faults", "{\"kind\":\"expiredPageToken\",\"afterPages\":2,\"probability\":1}").status == 200)
        let first = try JSONValue.parse(h.get("/v1.0/users?$select=id&$top=10", token: token).body)
        let second = h.get(try #require(first["@odata.nextLink"]?.stringValue), token: token)
        #expect(second.status == 200)
        let third = h.get(try #require(try JSONValue.parse(second.body)["@odata.nextLink"]?.stringValue), token: token)
        #expect(third.status == 400)
        let error = try Self.error(third)
        #expect(error.code == "Directory_ExpiredPageToken")
        #expect(error.message == "The specified page token value has expired and can no longer be included in your request.")
        #expect(h.get("/v1.0/users?$select=id&$top=10", token: token).status == 200)
        let delta = try DeltaLatestAndPageSizeTests.round(h, "/v1.0/users/delta?$select=id", token: token)
        #expect(delta.count == 6)
        #expect(h.simulator.stats.faults["expiredPageToken"] == 1)
    }

    @Test("an expiredPageToken rule with afterSeconds refuses a members chain that took too long, not a quick one")
    func expiryAfterSeconds() throws {
        let h = SimulatorHarness { $0.spec = TenantSpec(users: 400, groups: 10, membersPerGroup: 60) }
        let token = try h.token()
        let tenant = h.simulator.tenant(0)
        let group = try #require(tenant.groups.indices.first { tenant.members[$0].count > 10 }.map { tenant.groups[$0].id })
        _ = h.control("POST", "faults", "{\"kind\":\"expiredPageToken\",\"afterSeconds\":30,\"probability\":1,\"pathPrefix\":\"/v1.0/groups\"}")
        let quick = try h.chain("/v1.0/groups/\(group)/members?$select=id&$top=5", token: token)
        #expect(quick.count > 2)
        let first = try JSONValue.parse(h.get("/v1.0/groups/\(group)/members?$select=id&$top=5", token: token).body)
        h.clock.advance(31)
        let late = h.get(try #require(first["@odata.nextLink"]?.stringValue), token: token)
        #expect(late.status == 400)
        #expect(try Self.error(late).code == "Directory_ExpiredPageToken")
        #expect(h.control("POST", "faults", "{\"kind\":\"throttle\",\"afterPages\":2}").status == 400)
    }

    @Test("a change made just before a latest token is in neither the lagging list nor that token's delta until the lag passes")
    func lagHidesChangeBeforeToken() throws {
        let h = SimulatorHarness()
        let token = try h.token()
        #expect(h.control("POST", "tenants/0/config", "{\"listLagMillis\":5000}").status == 200)
        let created = try #require(try h.mutate("{\"op\":\"createUser\",\"user\":{\"displayName\":\"Just Before\"}}")["createdUsers"]?.arrayValue?.first?.stringValue)
        h.clock.advance(1)
        let link = try #require(try JSONValue.parse(h.get("/v1.0/users/delta?$select=displayName&$deltatoken=latest", token: token).body)["@odata.deltaLink"]?.stringValue)
        let listed = Set(h.ids(try h.chain("/v1.0/users?$select=id&$top=999", token: token)))
        #expect(!listed.contains(created))
        #expect(listed.count == 60)
        #expect(try DeltaLatestAndPageSizeTests.round(h, link, token: token).flatMap { $0["value"]?.arrayValue ?? [] }.isEmpty)
        h.clock.advance(4.5)
        #expect(Set(h.ids(try h.chain("/v1.0/users?$select=id&$top=999", token: token))).contains(created))
    }

    @Test("during the lag delta reports a change at once while lists, members, getByIds and $count show the state before it")
    func lagAcrossReads() throws {
        let h = SimulatorHarness { $0.listLagMillis = 2000 }
        let token = try h.token()
        let tenant = h.simulator.tenant(0)
        let link = try #require(try JSONValue.parse(h.get("/v1.0/users/delta?$select=displayName&$deltatoken=latest", token: token).body)["@odata.deltaLink"]?.stringValue)
        let g = try #require(tenant.groups.indices.first { g in tenant.members[g].contains { $0.kind == .user } })
        let groupId = tenant.groups[g].id
        let leaving = try #require(tenant.members[g].first { $0.kind == .user })
        let answer = try h.mutate("""
            {"op":"updateUser","id":"\(tenant.users[0].id)","set":{"displayName":"Renamed Now"}},
            {"op":"createUser","user":{"displayName":"Brand New"}},
            {"op":"softDeleteUser","id":"\(tenant.users[1].id)"},
            {"op":"removeMember","groupId":"\(groupId)","memberId":"\(tenant.id(of: leaving))"}
            """)
        let created = try #require(answer["createdUsers"]?.arrayValue?.first?.stringValue)
        let delta = try DeltaLatestAndPageSizeTests.round(h, link, token: token).flatMap { $0["value"]?.arrayValue ?? [] }
        #expect(delta.contains { $0["id"] == .string(tenant.users[0].id) && $0["displayName"] == .string("Renamed Now") })
        #expect(delta.contains { $0["id"] == .string(created) })
        #expect(delta.contains { $0["id"] == .string(tenant.users[1].id) && $0["@removed"] != nil })

        func usersNow() throws -> [JSONValue] {
            try h.chain("/v1.0/users?$select=id,displayName&$top=999", token: token).flatMap { $0["value"]?.arrayValue ?? [] }
        }
        let lagging = try usersNow()
        #expect(lagging.first { $0["id"] == .string(tenant.users[0].id) }?["displayName"] == tenant.users[0].values[1].json)
        #expect(!lagging.contains { $0["id"] == .string(created) })
        #expect(lagging.contains { $0["id"] == .string(tenant.users[1].id) })
        #expect(h.ids(try h.chain("/v1.0/groups/\(groupId)/members?$select=id", token: token)).contains(tenant.id(of: leaving)))
        let byIds = h.send("POST", "/v1.0/directoryObjects/getByIds", headers: ["Authorization": "Bearer \(token)"], body: "{\"ids\":[\"\(created)\"]}")
        #expect(try JSONValue.parse(byIds.body)["value"] == .array([]))
        #expect(h.get("/v1.0/users/$count", token: token, headers: ["ConsistencyLevel": "eventual"]).text == "60")

        h.clock.advance(2)
        let caught = try usersNow()
        #expect(caught.first { $0["id"] == .string(tenant.users[0].id) }?["displayName"] == .string("Renamed Now"))
        #expect(caught.contains { $0["id"] == .string(created) })
        #expect(!caught.contains { $0["id"] == .string(tenant.users[1].id) })
        #expect(!h.ids(try h.chain("/v1.0/groups/\(groupId)/members?$select=id", token: token)).contains(tenant.id(of: leaving)))
        #expect(h.get("/v1.0/users/$count", token: token, headers: ["ConsistencyLevel": "eventual"]).text == "60")
    }

    @Test("during the lag a renamed user stays in its old startswith partition, and moves once the lag has passed")
    func lagKeepsOldPartition() throws {
        let h = SimulatorHarness { $0.listLagMillis = 1000 }
        let token = try h.token()
        let user = try h.mutate("{\"op\":\"createUser\",\"user\":{\"userPrincipalName\":\"aardvark@tenant1-verified.example\"}}")["createdUsers"]?.arrayValue?.first?.stringValue
        let id = try #require(user)
        h.clock.advance(1)
        try h.mutate("{\"op\":\"updateUser\",\"id\":\"\(id)\",\"set\":{\"userPrincipalName\":\"zebra@tenant1-verified.example\"}}")
        func partition(_ prefix: String) throws -> [JSONValue] {
            try h.chain("/v1.0/users?$filter=startswith(userPrincipalName,'\(prefix)')&$select=id,userPrincipalName&$top=2", token: token)
                .flatMap { $0["value"]?.arrayValue ?? [] }
        }
        #expect(try partition("a").contains { $0["id"] == .string(id) && $0["userPrincipalName"] == .string("aardvark@tenant1-verified.example") })
        #expect(!(try partition("z")).contains { $0["id"] == .string(id) })
        let eventual = ["ConsistencyLevel": "eventual"]
        let aCount = try JSONValue.parse(h.get("/v1.0/users?$filter=startswith(userPrincipalName,'a')&$count=true", token: token, headers: eventual).body)["@odata.count"]
        #expect(aCount?.intValue == (try partition("a")).count)
        h.clock.advance(1)
        #expect(!(try partition("a")).contains { $0["id"] == .string(id) })
        #expect(try partition("z").contains { $0["id"] == .string(id) && $0["userPrincipalName"] == .string("zebra@tenant1-verified.example") })
    }

    @Test("a scenario turns the budgets on with its scales and sets each tenant's lag, its own or the scenario's")
    func scenarioSettings() throws {
        var configuration = SimulatorConfiguration()
        let text = #"{"listLagMillis":250,"ruBudget":{"scale":0.5,"appScale":0.1},"tenants":[{"users":10},{"users":10,"listLagMillis":0}]}"#
        try configuration.apply(scenario: try JSONValue.parse(Array(text.utf8)))
        #expect(configuration.ruBudget == ResourceBudgetSettings(enabled: true, scale: 0.5, appScale: 0.1))
        let simulator = GraphSimulator(configuration: configuration)
        #expect(simulator.ruBudget.enabled)
        #expect(simulator.tenant(0).settings.listLagMillis == 250)
        #expect(simulator.tenant(1).settings.listLagMillis == 0)
        var refused = SimulatorConfiguration()
        #expect(throws: SimulatorInputError.self) { try refused.apply(scenario: try JSONValue.parse(Array(#"{"ruBudget":{"scale":0}}"#.utf8))) }
    }
}

extension PropertyValue {
    /// The JSON a plain read writes for a string value (null otherwise).
    var json: JSONValue {
        if case .string(let text) = self { return .string(text) }
        return .null
    }
}
