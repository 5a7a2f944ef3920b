import GraphSimulator
import Testing

@Suite("Delta: sync from now, and page sizes")
struct DeltaLatestAndPageSizeTests {
    /// Follows a delta round from `url`; returns its pages.
    static func round(_ h: SimulatorHarness, _ url: String, token: String, prefer: String? = nil) throws -> [JSONValue] {
        var pages: [JSONValue] = []
        var next: String? = url
        while let link = next {
            let response = h.get(link, token: token, headers: prefer.map { ["Prefer": $0] } ?? [:])
            try #require(response.status == 200, "\(response.status): \(response.text)")
            let page = try JSONValue.parse(response.body)
            pages.append(page)
            next = page["@odata.nextLink"]?.stringValue
        }
        return pages
    }

    @Test("$deltaToken=latest answers a deltaLink and no data; the link reports changes made after it, on selected properties only")
    func latestUsers() throws {
        let h = SimulatorHarness()
        let token = try h.token()
        let before = try h.mutate("{\"op\":\"createUser\",\"user\":{\"displayName\":\"Before\"}}")["createdUsers"]?.arrayValue?.first?.stringValue
        let latest = h.get("/v1.0/users/delta?$select=displayName,jobTitle&$deltaToken=latest", token: token)
        #expect(latest.status == 200)
        let body = try JSONValue.parse(latest.body)
        #expect(body["value"] == .array([]))
        #expect(body["@odata.nextLink"] == nil)
        let link = try #require(body["@odata.deltaLink"]?.stringValue)
        #expect(!link.contains("$select"))
        #expect(try Self.round(h, link, token: token).flatMap { $0["value"]?.arrayValue ?? [] }.isEmpty)

        let users = h.simulator.tenant(0).users
        let after = try h.mutate("""
            {"op":"createUser","user":{"displayName":"After"}},
            {"op":"updateUser","id":"\(users[1].id)","set":{"jobTitle":"Cartographer"}},
            {"op":"updateUser","id":"\(users[2].id)","set":{"mobilePhone":"+1 555 0100"}}
            """)["createdUsers"]?.arrayValue?.first?.stringValue
        let changed = try Self.round(h, link, token: token).flatMap { $0["value"]?.arrayValue ?? [] }
        let ids = Set(changed.compactMap { $0["id"]?.stringValue })
        #expect(ids == Set([try #require(after), users[1].id]))
        #expect(!ids.contains(try #require(before)))
        #expect(changed.first { $0["id"]?.stringValue == users[1].id }?["jobTitle"] == .string("Cartographer"))
    }

    @Test("a latest groups link with members selected reports members added and removed after it")
    func latestGroupMembers() throws {
        let h = SimulatorHarness()
        let token = try h.token()
        let link = try #require(try JSONValue.parse(h.get("/v1.0/groups/delta?$select=displayName,members&$deltatoken=latest", token: token).body)["@odata.deltaLink"]?.stringValue)
        let tenant = h.simulator.tenant(0)
        let g = try #require(tenant.members.indices.first { tenant.members[$0].contains { $0.kind == .user } })
        let leaving = try #require(tenant.members[g].first { $0.kind == .user })
        let joining = try #require(tenant.users.indices.first { u in !tenant.members[g].contains(MemberRef(kind: .user, index: u)) })
        try h.mutate("""
            {"op":"addMember","groupId":"\(tenant.groups[g].id)","memberId":"\(tenant.users[joining].id)"},
            {"op":"removeMember","groupId":"\(tenant.groups[g].id)","memberId":"\(tenant.id(of: leaving))"}
            """)
        let items = try Self.round(h, link, token: token).flatMap { $0["value"]?.arrayValue ?? [] }
        #expect(items.count == 1 && items[0]["id"] == .string(tenant.groups[g].id))
        let entries = items[0]["members@delta"]?.arrayValue ?? []
        #expect(entries.contains { $0["id"] == .string(tenant.users[joining].id) && $0["@removed"] == nil })
        #expect(entries.contains { $0["id"] == .string(tenant.id(of: leaving)) && $0["@removed"]?["reason"] == .string("deleted") })
    }

    @Test("Prefer: odata.maxpagesize sizes users and contacts delta pages up to 999, per request, and groups delta ignores it")
    func maxPageSize() throws {
        let h = SimulatorHarness {
            $0.spec = TenantSpec(users: 2_500, groups: 30, membersPerGroup: 5)
            $0.duplicateRate = 0
        }
        let token = try h.token()
        let users = try Self.round(h, "/v1.0/users/delta?$select=id", token: token, prefer: "odata.maxpagesize=999")
        #expect(users.map { $0["value"]?.arrayValue?.count ?? 0 } == [999, 999, 502])
        let clamped = try Self.round(h, "/v1.0/users/delta?$select=id", token: token, prefer: "return=minimal, odata.maxpagesize=5000")
        #expect(clamped.map { $0["value"]?.arrayValue?.count ?? 0 } == [999, 999, 502])
        let minimal = h.get("/v1.0/users/delta?$select=id", token: token, headers: ["Prefer": "return=minimal; odata.maxpagesize=10"])
        #expect(try JSONValue.parse(minimal.body)["value"]?.arrayValue?.count == 10)
        #expect(minimal.header("Preference-Applied") == "return=minimal")
        // Headers are not carried in links: a page asked for without the header is the default size.
        let first = try JSONValue.parse(h.get("/v1.0/users/delta?$select=id", token: token, headers: ["Prefer": "odata.maxpagesize=999"]).body)
        let second = try JSONValue.parse(h.get(try #require(first["@odata.nextLink"]?.stringValue), token: token).body)
        #expect(second["value"]?.arrayValue?.count == 200)
        let contacts = try Self.round(h, "/v1.0/contacts/delta", token: token, prefer: "odata.maxpagesize=20")
        #expect(contacts.map { $0["value"]?.arrayValue?.count ?? 0 } == [20, 20, 10])
        let groups = try Self.round(h, "/v1.0/groups/delta?$select=displayName", token: token, prefer: "odata.maxpagesize=5")
        #expect(groups.map { $0["value"]?.arrayValue?.count ?? 0 } == [30])
        let sizes = h.simulator.stats.pageSizes
        #expect(sizes["users/delta"]?[999] == 7)
        #expect(sizes["users/delta"]?[10] == 1 && sizes["users/delta"]?[200] == 1)
        #expect(sizes["contacts/delta"]?[20] == 3)
        #expect(sizes["groups/delta"]?[200] == 1)
    }
}
