import Foundation
import GraphSimulator
import Testing

@Suite("Group members and getByIds")
struct MembersTests {
    static func harness() -> SimulatorHarness {
        SimulatorHarness { $0.spec = TenantSpec(users: 1_000, groups: 40, membersPerGroup: 100) }
    }

    /// A live group with service principal members, and its members as the tenant holds them.
    static func groupWithServicePrincipals(_ h: SimulatorHarness) throws -> (id: String, members: [MemberRef]) {
        let tenant = h.simulator.tenant(0)
        let index = try #require(tenant.members.indices.first { g in
            tenant.groups[g].lifecycle == .live && tenant.members[g].contains { $0.kind == .servicePrincipal } && tenant.members[g].count > 40
        })
        return (tenant.groups[index].id, tenant.members[index])
    }

    @Test("members page by nextLink with $top; v1.0 leaves service principals out, beta lists them")
    func pagingAndServicePrincipals() throws {
        let h = Self.harness()
        let token = try h.token()
        let (group, members) = try Self.groupWithServicePrincipals(h)
        let tenant = h.simulator.tenant(0)
        let pages = try h.chain("/v1.0/groups/\(group)/members?$select=id&$top=7", token: token)
        #expect(pages.count > 1 && pages.dropLast().allSatisfy { $0["value"]?.arrayValue?.count == 7 })
        let v1 = pages.flatMap { $0["value"]?.arrayValue ?? [] }
        let expectedV1 = members.filter { $0.kind != .servicePrincipal }.map { tenant.id(of: $0) }
        #expect(v1.compactMap { $0["id"]?.stringValue } == expectedV1)
        #expect(!v1.contains { $0["@odata.type"] == .string("#microsoft.graph.servicePrincipal") })
        let next = try #require(pages[0]["@odata.nextLink"]?.stringValue)
        #expect(next.hasPrefix(SimulatorHarness.base + "/v1.0/groups/\(group)/members?$select=id&$top=7&$skiptoken="))

        let beta = try h.chain("/beta/groups/\(group)/members?$select=id&$top=999", token: token).flatMap { $0["value"]?.arrayValue ?? [] }
        #expect(beta.compactMap { $0["id"]?.stringValue } == members.map { tenant.id(of: $0) })
        #expect(beta.contains { $0["@odata.type"] == .string("#microsoft.graph.servicePrincipal") })
        #expect(beta.allSatisfy { $0.objectValue?.keys.sorted() == ["@odata.type", "id"] })
        #expect(h.get("/v1.0/groups/\(group)/members?$top=1000", token: token).status == 400)
        let eventual = ["ConsistencyLevel": "eventual"]
        #expect(h.get("/v1.0/groups/\(group)/members/$count", token: token, headers: eventual).text == String(expectedV1.count))
        #expect(h.get("/beta/groups/\(group)/members/$count", token: token, headers: eventual).text == String(members.count))
        #expect(h.get("/v1.0/groups/\(group)/members/$count", token: token).status == 400)
        let stats = h.simulator.stats
        #expect(stats.pageSizes["groups/{id}/members"]?[7] == pages.count)
        #expect(stats.byEndpoint["GET /v1.0/groups/{id}/members"] == pages.count + 1)
    }

    @Test("an unknown or deleted group answers 404 Request_ResourceNotFound")
    func unknownGroup() throws {
        let h = Self.harness()
        let token = try h.token()
        let unknown = h.get("/v1.0/groups/00000000-1111-2222-3333-444444444444/members", token: token)
        #expect(unknown.status == 404)
        #expect(try JSONValue.parse(unknown.body)["error"]?["code"] == .string("Request_ResourceNotFound"))
        let group = h.simulator.tenant(0).groups[2].id
        try h.mutate("{\"op\":\"softDeleteGroup\",\"id\":\"\(group)\"}")
        #expect(h.get("/v1.0/groups/\(group)/members", token: token).status == 404)
        #expect(h.get("/beta/groups/\(group)/members", token: token).status == 404)
        try h.mutate("{\"op\":\"restoreGroup\",\"id\":\"\(group)\"}")
        #expect(h.get("/v1.0/groups/\(group)/members", token: token).status == 200)
    }

    @Test("members the app cannot read come with @odata.type and id only; a readable user comes in full")
    func limitedInformation() throws {
        let h = Self.harness()
        let (group, _) = try Self.groupWithServicePrincipals(h)
        let full = try h.chain("/v1.0/groups/\(group)/members", token: try h.token()).flatMap { $0["value"]?.arrayValue ?? [] }
        let user = try #require(full.first { $0["@odata.type"] == .string("#microsoft.graph.user") })
        #expect(user["userPrincipalName"]?.stringValue != nil && user["displayName"] != nil)
        let device = try #require(full.first { $0["@odata.type"] == .string("#microsoft.graph.device") })
        #expect(device.objectValue?.keys.sorted() == ["@odata.type", "id"])

        #expect(h.control("POST", "tenants/0/config", "{\"permissions\":[\"GroupMember.Read.All\"]}").status == 200)
        let narrow = try h.token()
        let limited = try h.chain("/v1.0/groups/\(group)/members?$select=id,displayName", token: narrow).flatMap { $0["value"]?.arrayValue ?? [] }
        let limitedUser = try #require(limited.first { $0["@odata.type"] == .string("#microsoft.graph.user") })
        #expect(limitedUser.objectValue?.keys.sorted() == ["@odata.type", "displayName", "id"])
        #expect(limitedUser["displayName"] == .null)
        #expect(limited.count == full.count)
    }

    @Test("a soft-deleted user is not listed among members while groups delta still reports the membership")
    func softDeletedMember() throws {
        let h = Self.harness()
        let token = try h.token()
        let tenant = h.simulator.tenant(0)
        let g = try #require(tenant.members.indices.first { tenant.members[$0].contains { $0.kind == .user } })
        let ref = try #require(tenant.members[g].first { $0.kind == .user })
        let userId = tenant.id(of: ref)
        try h.mutate("{\"op\":\"softDeleteUser\",\"id\":\"\(userId)\"}")
        let listed = h.ids(try h.chain("/v1.0/groups/\(tenant.groups[g].id)/members?$select=id", token: token))
        #expect(!listed.contains(userId))
        #expect(h.simulator.tenant(0).members[g].contains(ref))
    }

    @Test("getByIds returns the live objects asked for, in order, with @odata.type, and honours types and $select")
    func getByIds() throws {
        let h = Self.harness()
        let token = try h.token()
        let tenant = h.simulator.tenant(0)
        let deleted = tenant.users[3].id
        try h.mutate("{\"op\":\"hardDeleteUser\",\"id\":\"\(deleted)\"}")
        let asked = [tenant.users[10].id, "00000000-1111-2222-3333-444444444444", deleted, tenant.groups[1].id, tenant.users[11].id.uppercased(),
                     tenant.servicePrincipals[0]]
        func post(_ body: String, query: String = "") -> SimResponse {
            h.send("POST", "/v1.0/directoryObjects/getByIds" + query, headers: ["Authorization": "Bearer \(token)", "Content-Type": "application/json"],
                   body: body)
        }
        let idsJSON = "[" + asked.map { "\"\($0)\"" }.joined(separator: ",") + "]"
        let all = try JSONValue.parse(post("{\"ids\":\(idsJSON)}").body)["value"]?.arrayValue ?? []
        #expect(all.compactMap { $0["id"]?.stringValue } == [tenant.users[10].id, tenant.groups[1].id, tenant.users[11].id, tenant.servicePrincipals[0]])
        #expect(all.map { $0["@odata.type"]?.stringValue ?? "" }
                == ["#microsoft.graph.user", "#microsoft.graph.group", "#microsoft.graph.user", "#microsoft.graph.servicePrincipal"])
        #expect(all[0]["userPrincipalName"] != nil)

        let users = post("{\"ids\":\(idsJSON),\"types\":[\"User\"]}", query: "?$select=id,userPrincipalName")
        #expect(users.status == 200)
        let items = try JSONValue.parse(users.body)["value"]?.arrayValue ?? []
        #expect(items.compactMap { $0["id"]?.stringValue } == [tenant.users[10].id, tenant.users[11].id])
        #expect(items.allSatisfy { $0.objectValue?.keys.sorted() == ["@odata.type", "id", "userPrincipalName"] })
        #expect(users.header("x-ms-resource-unit") == "2")
        #expect(post("{\"ids\":\(idsJSON)}").header("x-ms-resource-unit") == "5")

        let tooMany = "[" + (0..<1001).map { _ in "\"\(tenant.users[0].id)\"" }.joined(separator: ",") + "]"
        #expect(post("{\"ids\":\(tooMany)}").status == 400)
        #expect(post("{\"ids\":[\"not-a-guid\"]}").status == 400)
        #expect(post("{\"ids\":[],\"types\":[\"spaceship\"]}").status == 400)
        #expect(h.control("POST", "tenants/0/config", "{\"revokePermissions\":[\"Directory.Read.All\"]}").status == 200)
        let narrow = try h.token()
        let denied = h.send("POST", "/v1.0/directoryObjects/getByIds", headers: ["Authorization": "Bearer \(narrow)"], body: "{\"ids\":[]}")
        #expect(denied.status == 403)
    }
}
