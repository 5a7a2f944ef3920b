import Foundation
import GraphSimulator
import Testing

extension SimulatorHarness {
    /// Follows a plain list (or members) chain from `url` to its last page; returns every page's parsed body.
    func chain(_ url: String, token: String, headers: [String: String] = [:], limit: Int = 10_000) throws -> [JSONValue] {
        var pages: [JSONValue] = []
        var next: String? = url
        while let link = next {
            let response = get(link, token: token, headers: headers)
            try #require(response.status == 200, "\(link) answered \(response.status): \(response.text)")
            let page = try JSONValue.parse(response.body)
            pages.append(page)
            next = page["@odata.nextLink"]?.stringValue
            try #require(pages.count <= limit, "no end to the chain")
        }
        return pages
    }

    /// The ids of the `value` items of every page, in order.
    func ids(_ pages: [JSONValue]) -> [String] {
        pages.flatMap { $0["value"]?.arrayValue ?? [] }.compactMap { $0["id"]?.stringValue }
    }

    /// Ids of live objects of `resource` in tenant 0.
    func liveIds(_ resource: Resource) -> Set<String> {
        Set(simulator.tenant(0).objects(resource).filter { $0.lifecycle == .live }.map(\.id))
    }

    /// Applies control-API operations to tenant 0 and returns the answer's body.
    @discardableResult
    func mutate(_ operations: String) throws -> JSONValue {
        let response = control("POST", "tenants/0/mutations", "{\"operations\":[\(operations)]}")
        try #require(response.status == 200, "mutation refused: \(response.text)")
        return try JSONValue.parse(response.body)
    }
}

@Suite("Plain lists: /users, /groups, /contacts")
struct ListsTests {
    static func large(_ users: Int = 1_200) -> SimulatorHarness {
        SimulatorHarness { $0.spec = TenantSpec(users: users, groups: 40, membersPerGroup: 10) }
    }

    @Test("$top=999 pages the users list by nextLink until every live user was listed exactly once")
    func pagesEveryUserOnce() throws {
        let h = Self.large()
        let token = try h.token()
        let pages = try h.chain("/v1.0/users?$select=id&$top=999", token: token)
        #expect(pages.count == 2)
        #expect(pages[0]["value"]?.arrayValue?.count == 999)
        let next = try #require(pages[0]["@odata.nextLink"]?.stringValue)
        #expect(next.hasPrefix(SimulatorHarness.base + "/v1.0/users?") && next.contains("$select=id") && next.contains("$top=999&$skiptoken="))
        #expect(pages[1]["@odata.nextLink"] == nil)
        let ids = h.ids(pages)
        #expect(ids.count == Set(ids).count)
        #expect(Set(ids) == h.liveIds(.users))
    }

    @Test("$expand=manager($select=id) gives each user its manager as type and id (none: left out), at most 100 a page; other expansions are refused")
    func expandManager() throws {
        let h = Self.large(300)
        let token = try h.token()
        let tenant = h.simulator.tenant(0)
        let pages = try h.chain("/v1.0/users?$select=id,displayName&$expand=manager($select=id)&$top=999", token: token)
        #expect(pages.count == 3 && pages[0]["value"]?.arrayValue?.count == 100)
        var withManager = 0
        for user in pages.flatMap({ $0["value"]?.arrayValue ?? [] }) {
            let id = try #require(user["id"]?.stringValue)
            let index = try #require(tenant.users.firstIndex { $0.id == id })
            let manager = tenant.manager(of: index)
            if manager.isNone {
                #expect(user["manager"] == nil)
            } else {
                withManager += 1
                #expect(user["manager"]?["id"] == .string(tenant.id(of: manager)) && user["manager"]?["@odata.type"] == .string("#microsoft.graph.user"))
            }
        }
        #expect(withManager > 50, "a generated tenant gives most users a manager")
        #expect(h.get("/v1.0/users?$expand=memberOf", token: token).status == 400)
        #expect(h.get("/v1.0/groups?$expand=manager", token: token).status == 400)
    }

    @Test("/users/{id}/manager answers the manager's type and id, or 404 Request_ResourceNotFound when there is none")
    func managerOfUser() throws {
        let h = Self.large(300)
        let token = try h.token()
        let tenant = h.simulator.tenant(0)
        let managed = try #require(tenant.users.indices.first { tenant.users[$0].lifecycle == .live && !tenant.manager(of: $0).isNone })
        let answer = try JSONValue.parse(h.get("/v1.0/users/\(tenant.users[managed].id)/manager?$select=id", token: token).body)
        #expect(answer["id"] == .string(tenant.id(of: tenant.manager(of: managed))))
        let unmanaged = try #require(tenant.users.indices.first { tenant.users[$0].lifecycle == .live && tenant.manager(of: $0).isNone })
        let none = h.get("/v1.0/users/\(tenant.users[unmanaged].id)/manager", token: token)
        #expect(none.status == 404 && none.text.contains("Request_ResourceNotFound"))
        #expect(h.get("/v1.0/users/\(UUID().uuidString)/manager", token: token).status == 404)
    }

    @Test("the id-only stream returns objects with nothing but id")
    func idOnlyStream() throws {
        let h = Self.large(300)
        let token = try h.token()
        let pages = try h.chain("/v1.0/users?$select=id&$top=999", token: token)
        let items = pages.flatMap { $0["value"]?.arrayValue ?? [] }
        #expect(items.count == 300)
        #expect(items.allSatisfy { $0.objectValue?.keys.sorted() == ["id"] })
        #expect(pages[0]["@odata.context"] == .string(SimulatorHarness.base + "/v1.0/$metadata#users(id)"))
    }

    @Test("$top defaults to 100 and must lie between 1 and 999, otherwise Graph's 400 Request_UnsupportedQuery")
    func topBounds() throws {
        let h = Self.large(250)
        let token = try h.token()
        let first = try JSONValue.parse(h.get("/v1.0/users", token: token).body)
        #expect(first["value"]?.arrayValue?.count == 100)
        #expect(first["@odata.nextLink"] != nil)
        #expect(h.get("/v1.0/users?$top=999", token: token).status == 200)
        #expect(h.get("/v1.0/users?$top=1", token: token).status == 200)
        for bad in ["1000", "0", "-3", "many"] {
            let refused = h.get("/v1.0/users?$top=\(bad)", token: token)
            #expect(refused.status == 400)
            let error = try JSONValue.parse(refused.body)["error"]
            #expect(error?["code"] == .string("Request_UnsupportedQuery"))
            #expect(error?["message"] == .string("Invalid page size specified: '\(bad)'. Must be between 1 and 999 inclusive."))
        }
        #expect(h.get("/v1.0/groups?$top=1000", token: token).status == 400)
        #expect(h.get("/v1.0/contacts?$top=1000", token: token).status == 400)
    }

    @Test("startswith partitions over the documented UPN characters cover every live user exactly once, whatever the case")
    func partitionsCoverEveryone() throws {
        let h = Self.large()
        let token = try h.token()
        try h.mutate("""
            {"op":"createUser","user":{"userPrincipalName":"Zed.Upper@tenant1-verified.example"}},
            {"op":"createUser","user":{"userPrincipalName":"O'Hara@tenant1-verified.example"}},
            {"op":"createUser","user":{"userPrincipalName":"7even@tenant1-verified.example"}},
            {"op":"createUser","user":{"userPrincipalName":"_svc@tenant1-verified.example"}},
            {"op":"createUser","user":{"userPrincipalName":"#hash@tenant1-verified.example"}}
            """)
        let characters = Array("abcdefghijklmnopqrstuvwxyz0123456789'.-_!#^~")
        var seen: [String: Int] = [:]
        for c in characters {
            let literal = c == "'" ? "''" : String(c)
            let encoded = literal.replacingOccurrences(of: "#", with: "%23")
            for page in try h.chain("/v1.0/users?$filter=startswith(userPrincipalName,'\(encoded)')&$select=id,userPrincipalName&$top=999", token: token) {
                for item in page["value"]?.arrayValue ?? [] {
                    let upn = try #require(item["userPrincipalName"]?.stringValue)
                    #expect(upn.lowercased().first == c, "\(upn) listed under '\(c)'")
                    seen[try #require(item["id"]?.stringValue), default: 0] += 1
                }
            }
        }
        #expect(seen.values.allSatisfy { $0 == 1 })
        let oracle = Set(h.ids(try h.chain("/v1.0/users?$select=id&$top=999", token: token)))
        #expect(Set(seen.keys) == oracle)
        #expect(oracle == h.liveIds(.users))
    }

    @Test("startswith ignores case and reads '' inside the prefix as one quote")
    func caseAndQuotes() throws {
        let h = Self.large(100)
        let token = try h.token()
        try h.mutate("""
            {"op":"createUser","user":{"userPrincipalName":"O'Hara.Test@tenant1-verified.example","displayName":"Máire O'Hara"}}
            """)
        func upns(_ filter: String) throws -> [String] {
            try h.chain("/v1.0/users?$filter=\(filter)&$select=userPrincipalName", token: token)
                .flatMap { $0["value"]?.arrayValue ?? [] }.compactMap { $0["userPrincipalName"]?.stringValue }
        }
        #expect(try upns("startswith(userPrincipalName,'o''hara')") == ["O'Hara.Test@tenant1-verified.example"])
        #expect(try upns("StartsWith(UserPrincipalName, 'O''HARA.t')") == ["O'Hara.Test@tenant1-verified.example"])
        #expect(try upns("startswith(displayName,'MÁIRE')") == ["O'Hara.Test@tenant1-verified.example"])
        let lower = try upns("startswith(userPrincipalName,'a')"), upper = try upns("startswith(userPrincipalName,'A')")
        #expect(!lower.isEmpty && lower == upper)
    }

    @Test("filters graph-sim does not serve answer Graph's 400 shapes")
    func unsupportedFilters() throws {
        let h = Self.large(60)
        let token = try h.token()
        func error(_ url: String) throws -> (Int, String?, String?) {
            let response = h.get(url, token: token)
            let body = try JSONValue.parse(response.body)
            return (response.status, body["error"]?["code"]?.stringValue, body["error"]?["message"]?.stringValue)
        }
        let eq = try error("/v1.0/users?$filter=accountEnabled%20eq%20true")
        #expect(eq.0 == 400 && eq.1 == "Request_UnsupportedQuery")
        #expect(eq.2 == "Unsupported or invalid query filter clause specified for property 'accountEnabled' of resource 'User'.")
        let job = try error("/v1.0/users?$filter=startswith(jobTitle,'a')")
        #expect(job.2 == "Unsupported or invalid query filter clause specified for property 'jobTitle' of resource 'User'.")
        let created = try error("/v1.0/groups?$filter=createdDateTime%20ge%202021-11-01")
        #expect(created.2 == "Unsupported or invalid query filter clause specified for property 'createdDateTime' of resource 'Group'.")
        let ends = try error("/v1.0/users?$filter=endswith(mail,'@example.com')")
        #expect(ends.0 == 400 && ends.1 == "Request_UnsupportedQuery" && ends.2?.hasPrefix("Operator 'endsWith' is not supported") == true)
        let garbage = try error("/v1.0/users?$filter=((")
        #expect(garbage.0 == 400 && garbage.1 == "Request_BadRequest")
        #expect(try error("/v1.0/users?$skip=5").0 == 400)
    }

    @Test("lists show live objects only: a soft-deleted user leaves the list and comes back when restored")
    func liveOnly() throws {
        let h = Self.large(80)
        let token = try h.token()
        let victim = h.simulator.tenant(0).users[5].id
        try h.mutate("{\"op\":\"softDeleteUser\",\"id\":\"\(victim)\"}")
        #expect(!h.ids(try h.chain("/v1.0/users?$select=id", token: token)).contains(victim))
        try h.mutate("{\"op\":\"restoreUser\",\"id\":\"\(victim)\"}")
        #expect(h.ids(try h.chain("/v1.0/users?$select=id", token: token)).contains(victim))
        let contact = h.simulator.tenant(0).contacts[0].id
        try h.mutate("{\"op\":\"deleteContact\",\"id\":\"\(contact)\"}")
        #expect(!h.ids(try h.chain("/v1.0/contacts?$select=id", token: token)).contains(contact))
        #expect(Set(h.ids(try h.chain("/v1.0/groups?$select=id", token: token))) == h.liveIds(.groups))
    }

    @Test("$count=true adds @odata.count to the first page only with ConsistencyLevel: eventual, and is ignored without it")
    func countOption() throws {
        let h = Self.large(250)
        let token = try h.token()
        let eventual = ["ConsistencyLevel": "eventual"]
        let pages = try h.chain("/v1.0/users?$select=id&$count=true", token: token, headers: eventual)
        #expect(pages.count == 3)
        #expect(pages[0]["@odata.count"] == .number(250))
        #expect(pages[1]["@odata.count"] == nil && pages[2]["@odata.count"] == nil)
        let silent = try JSONValue.parse(h.get("/v1.0/users?$select=id&$count=true", token: token).body)
        #expect(silent["@odata.count"] == nil && silent["value"]?.arrayValue?.count == 100)
        let filtered = try JSONValue.parse(h.get("/v1.0/users?$filter=startswith(userPrincipalName,'a')&$count=true", token: token, headers: eventual).body)
        let listed = try h.chain("/v1.0/users?$filter=startswith(userPrincipalName,'a')&$select=id", token: token)
        #expect(filtered["@odata.count"]?.intValue == h.ids(listed).count)
        #expect(h.get("/v1.0/users/$count", token: token, headers: eventual).text == "250")
        let refused = h.get("/v1.0/users/$count", token: token)
        #expect(refused.status == 400)
        #expect(try JSONValue.parse(refused.body)["error"]?["message"] == .string("$count is not currently supported."))
    }

    @Test("$select follows delta's names: unknown answers 400, untracked is accepted, an unset property comes as null")
    func selectRules() throws {
        let h = Self.large(60)
        let token = try h.token()
        let refused = h.get("/v1.0/users?$select=displayName,favouriteColour", token: token)
        #expect(refused.status == 400)
        #expect(try JSONValue.parse(refused.body)["error"]?["message"]
                == .string("Could not find a property named 'favouriteColour' on type 'Microsoft.DirectoryServices.User'."))
        #expect(h.get("/v1.0/users?$select=id,signInActivity", token: token).status == 200)
        let created = try h.mutate("{\"op\":\"createUser\",\"user\":{\"displayName\":\"Bare\"}}")
        let id = try #require(created["createdUsers"]?.arrayValue?.first?.stringValue)
        let all = try h.chain("/v1.0/users?$select=displayName,jobTitle,proxyAddresses,onPremisesExtensionAttributes&$top=999", token: token)
        let bare = try #require(all.flatMap { $0["value"]?.arrayValue ?? [] }.first { $0["id"]?.stringValue == id })
        #expect(bare["jobTitle"] == .null)
        #expect(bare["proxyAddresses"] == .array([]))
        #expect(bare["onPremisesExtensionAttributes"]?["extensionAttribute1"] == .null)
        let defaults = try JSONValue.parse(h.get("/v1.0/users?$top=1", token: token).body)["value"]?.arrayValue?.first?.objectValue
        #expect(Set(defaults?.keys.map { $0 } ?? []) == Set(UserProperty.defaultSelection + ["id"]))
    }

    @Test("groups filter by displayName, mailNickname and mail prefix; contacts by displayName")
    func groupAndContactFilters() throws {
        let h = Self.large(300)
        let token = try h.token()
        let tenant = h.simulator.tenant(0)
        let group = tenant.groups[3]
        guard case .string(let nick) = group.values[GroupProperty.names.firstIndex(of: "mailNickname")!], case .string(let name) = group.values[GroupProperty.names.firstIndex(of: "displayName")!] else {
            Issue.record("generated group without nickname or name")
            return
        }
        let byNick = h.ids(try h.chain("/v1.0/groups?$filter=startswith(mailNickname,'\(nick.uppercased())')", token: token))
        #expect(byNick == [group.id])
        let byName = h.ids(try h.chain("/v1.0/groups?$filter=startswith(displayName,'\(name.prefix(3))')&$top=5", token: token))
        #expect(byName.contains(group.id))
        let expected = tenant.groups.filter {
            if case .string(let n) = $0.values[GroupProperty.names.firstIndex(of: "displayName")!] { return n.lowercased().hasPrefix(name.prefix(3).lowercased()) }
            return false
        }.map(\.id)
        #expect(Set(byName) == Set(expected))
        let contact = tenant.contacts[1]
        guard case .string(let contactName) = contact.values[ContactProperty.names.firstIndex(of: "displayName")!] else { return }
        let contacts = h.ids(try h.chain("/v1.0/contacts?$filter=startswith(displayName,'\(contactName)')", token: token))
        #expect(contacts.contains(contact.id))
    }

    @Test("a page token is refused for another filter, and a user renamed ahead of the position is listed under its new key")
    func tokenBinding() throws {
        let h = Self.large(400)
        let token = try h.token()
        let first = try JSONValue.parse(h.get("/v1.0/users?$filter=startswith(userPrincipalName,'a')&$top=5", token: token).body)
        let next = try #require(first["@odata.nextLink"]?.stringValue)
        let skip = try #require(next.split(separator: "$skiptoken=").last.map(String.init))
        let misused = h.get("/v1.0/users?$filter=startswith(userPrincipalName,'b')&$skiptoken=\(skip)", token: token)
        #expect(misused.status == 400)
        let renamed = h.simulator.tenant(0).users.first { user in
            if case .string(let upn) = user.values[UserProperty.names.firstIndex(of: "userPrincipalName")!] { return upn.hasPrefix("z") }
            return false
        }
        let mover = try #require(renamed)
        try h.mutate("{\"op\":\"updateUser\",\"id\":\"\(mover.id)\",\"set\":{\"userPrincipalName\":\"azzzz.moved@tenant1-verified.example\"}}")
        var ids = h.ids([first])
        ids += h.ids(try h.chain(next, token: token))
        #expect(ids.contains(mover.id))
        #expect(ids.count == Set(ids).count)
    }
}
