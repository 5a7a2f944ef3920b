import GraphSimulator
import Testing

@Suite("Delta semantics")
struct DeltaSemanticsTests {
    static func harness(pageSize: Int = 7, membersPerPage: Int = 5, duplicates: Double = 0.1) -> SimulatorHarness {
        SimulatorHarness { config in
            config.pageSize = pageSize
            config.membersPerPage = membersPerPage
            config.duplicateRate = duplicates
        }
    }

    func truth(_ h: SimulatorHarness) throws -> JSONValue {
        try JSONValue.parse(h.control("GET", "tenants/\(h.tenantId)/truth").body)
    }

    @Test("a client following delta rounds reproduces truth over 200 seeded rounds of mutations and faults")
    func mirrorMatchesTruthOverManyRounds() throws {
        let h = Self.harness()
        _ = h.control("POST", "tenants/\(h.tenantId)/config", "{\"emptyPageRate\":0.1}")
        let token = try h.token()
        var client = MirrorClient()
        var rng = SeededRandom(seed: 2024)
        for round in 0..<200 {
            let count = rng.below(25)
            _ = h.control("POST", "tenants/\(h.tenantId)/mutations", "{\"random\":{\"seed\":\(round),\"count\":\(count)}}")
            switch rng.below(10) {
            case 0: _ = h.control("POST", "faults", "{\"kind\":\"deltaLinkGone\",\"count\":1}")
            case 1: _ = h.control("POST", "faults", "{\"kind\":\"throttle\",\"count\":2,\"retryAfter\":\"0.5\"}")
            case 2: _ = h.control("POST", "faults", "{\"kind\":\"serverError\",\"status\":502,\"count\":1}")
            default: break
            }
            let midRound = rng.chance(0.3)
            let minimal = round % 2 == 0
            for resource in ["users", "groups", "contacts"] {
                try client.round(resource, harness: h, token: token, minimal: minimal) { page in
                    if midRound && page == 1 {
                        _ = h.control("POST", "tenants/\(h.tenantId)/mutations", "{\"random\":{\"seed\":\(90_000 + round),\"count\":5}}")
                    }
                }
            }
            if midRound {
                // Changes made while paging show up in the next round.
                for resource in ["users", "groups", "contacts"] { try client.round(resource, harness: h, token: token, minimal: minimal) }
            }
            let problems = client.differences(from: try truth(h))
            #expect(problems.isEmpty, "round \(round): \(problems.prefix(5))")
            if !problems.isEmpty { return }
        }
        #expect(client.resyncs > 0, "the 410 fault must have forced at least one full resync")
        #expect(client.retries > 0, "throttling and 5xx faults must have been retried")
    }

    @Test("a group larger than the member budget is split over pages and repeated with the same properties")
    func largeGroupIsSplitAcrossPages() throws {
        let h = Self.harness(pageSize: 50, membersPerPage: 10, duplicates: 0)
        let token = try h.token()
        let groupIndex = try #require((0..<h.simulator.tenant(0).groups.count).first { h.simulator.tenant(0).members[$0].count > 10 })
        let group = h.simulator.tenant(0).groups[groupIndex]
        var url = "/v1.0/groups/delta?$select=displayName,members"
        var slices: [[JSONValue]] = []
        var names: Set<String> = []
        while true {
            let page = try JSONValue.parse(h.get(url, token: token).body)
            for item in page["value"]?.arrayValue ?? [] where item["id"]?.stringValue == group.id {
                slices.append(item["members@delta"]?.arrayValue ?? [])
                names.insert(item["displayName"]?.stringValue ?? "<absent>")
            }
            guard let next = page["@odata.nextLink"]?.stringValue else { break }
            url = next
        }
        #expect(slices.count >= 2)
        #expect(slices.allSatisfy { $0.count <= 10 })
        #expect(names.count == 1 && !names.contains("<absent>"))
        let ids = slices.flatMap { $0 }.compactMap { $0["id"]?.stringValue }
        #expect(Set(ids).count == h.simulator.tenant(0).members[groupIndex].count)
    }

    @Test("minimal incremental rounds carry id and changed properties only, with explicit null for cleared ones")
    func minimalRoundCarriesOnlyChanges() throws {
        let h = Self.harness(duplicates: 0)
        let token = try h.token()
        var client = MirrorClient()
        try client.round("users", harness: h, token: token, minimal: true)
        let user = h.simulator.tenant(0).users[3]
        _ = h.control("POST", "tenants/\(h.tenantId)/mutations",
                      "{\"operations\":[{\"op\":\"updateUser\",\"id\":\"\(user.id)\",\"set\":{\"jobTitle\":\"Chief Simulator\",\"department\":null,\"displayName\":\"\(try #require(h.simulator.tenant(0).users[3].values[1] == .string("x") ? "y" : "Renamed Ü"))\"}}]}")
        let link = try #require(client.deltaLinks["users"])
        let minimal = try JSONValue.parse(h.get(link, token: token, headers: ["Prefer": "return=minimal"]).body)
        let item = try #require(minimal["value"]?.arrayValue?.first { $0["id"]?.stringValue == user.id })
        let keys = Set((item.objectValue ?? [:]).keys)
        let hadDepartment = user.values[6] != .unset
        #expect(keys == (hadDepartment ? ["id", "jobTitle", "displayName", "department"] : ["id", "jobTitle", "displayName"]))
        if hadDepartment { #expect(item["department"] == .null) }
        let full = try JSONValue.parse(h.get(link, token: token).body)
        let fullItem = try #require(full["value"]?.arrayValue?.first { $0["id"]?.stringValue == user.id })
        #expect(fullItem["userPrincipalName"] != nil, "the default mode returns every selected property")
    }

    @Test("never-set properties are absent while cleared ones are explicit null, and $select is honoured")
    func absentIsNotNull() throws {
        let h = Self.harness(pageSize: 500, duplicates: 0)
        let token = try h.token()
        let page = try JSONValue.parse(h.get("/v1.0/users/delta?$select=displayName,mail,jobTitle", token: token).body)
        let tenant = h.simulator.tenant(0)
        var sawAbsent = false, sawNull = false
        for item in page["value"]?.arrayValue ?? [] {
            let object = try #require(tenant.users.first { $0.id == item["id"]?.stringValue })
            let keys = Set((item.objectValue ?? [:]).keys)
            #expect(keys.isSubset(of: ["id", "displayName", "mail", "jobTitle"]))
            for (ordinal, name) in [(4, "mail"), (5, "jobTitle")] {
                switch object.values[ordinal] {
                case .unset: #expect(item[name] == nil); sawAbsent = true
                case .null: #expect(item[name] == .null); sawNull = true
                default: #expect(item[name] != nil && item[name] != .null)
                }
            }
        }
        #expect(sawAbsent && sawNull)
    }

    @Test("soft delete reports reason changed, hard delete reports deleted, restore returns the object whole")
    func removalReasonsAndRestore() throws {
        let h = Self.harness(duplicates: 0)
        let token = try h.token()
        var client = MirrorClient()
        try client.round("users", harness: h, token: token, minimal: true)
        let tenant = h.simulator.tenant(0)
        let soft = tenant.users[1].id, hard = tenant.users[2].id, restored = tenant.users[4].id
        _ = h.control("POST", "tenants/\(h.tenantId)/mutations", """
            {"operations":[{"op":"softDeleteUser","id":"\(soft)"},{"op":"hardDeleteUser","id":"\(hard)"},
             {"op":"softDeleteUser","id":"\(restored)"}]}
            """)
        var page = try JSONValue.parse(h.get(try #require(client.deltaLinks["users"]), token: token).body)
        var items = page["value"]?.arrayValue ?? []
        #expect(items.first { $0["id"]?.stringValue == soft }?["@removed"]?["reason"] == .string("changed"))
        #expect(items.first { $0["id"]?.stringValue == hard }?["@removed"]?["reason"] == .string("deleted"))
        let next = try #require(page["@odata.deltaLink"]?.stringValue)
        _ = h.control("POST", "tenants/\(h.tenantId)/mutations", "{\"operations\":[{\"op\":\"restoreUser\",\"id\":\"\(restored)\"}]}")
        page = try JSONValue.parse(h.get(next, token: token, headers: ["Prefer": "return=minimal"]).body)
        items = page["value"]?.arrayValue ?? []
        let back = try #require(items.first { $0["id"]?.stringValue == restored })
        #expect(back["@removed"] == nil)
        #expect(back["userPrincipalName"] != nil && back["displayName"] != nil, "a restored object comes back whole")
    }

    @Test("hard-deleting a user shows as a member removal on its groups; soft delete keeps memberships")
    func hardDeleteRemovesMemberships() throws {
        let h = Self.harness(duplicates: 0)
        let token = try h.token()
        var client = MirrorClient()
        try client.round("groups", harness: h, token: token, minimal: true)
        let tenant = h.simulator.tenant(0)
        let g = try #require(tenant.members.firstIndex { $0.contains { $0.kind == .user } })
        let userRef = try #require(tenant.members[g].first { $0.kind == .user })
        let userId = tenant.id(of: userRef)
        _ = h.control("POST", "tenants/\(h.tenantId)/mutations", "{\"operations\":[{\"op\":\"softDeleteUser\",\"id\":\"\(userId)\"}]}")
        var page = try JSONValue.parse(h.get(try #require(client.deltaLinks["groups"]), token: token).body)
        #expect(page["value"]?.arrayValue?.isEmpty == true, "a soft-deleted user is still a member")
        _ = h.control("POST", "tenants/\(h.tenantId)/mutations", "{\"operations\":[{\"op\":\"hardDeleteUser\",\"id\":\"\(userId)\"}]}")
        page = try JSONValue.parse(h.get(try #require(page["@odata.deltaLink"]?.stringValue), token: token).body)
        let group = try #require(page["value"]?.arrayValue?.first { $0["id"]?.stringValue == tenant.groups[g].id })
        let entry = try #require(group["members@delta"]?.arrayValue?.first { $0["id"]?.stringValue == userId })
        #expect(entry["@removed"]?["reason"] == .string("deleted"))
        #expect(entry["@odata.type"] == .string("#microsoft.graph.user"))
    }

    @Test("$deltatoken=latest returns no objects and a deltaLink that sees only later changes")
    func latestDeltaToken() throws {
        let h = Self.harness(duplicates: 0)
        let token = try h.token()
        let first = try JSONValue.parse(h.get("/v1.0/users/delta?$deltatoken=latest&$select=displayName", token: token).body)
        #expect(first["value"]?.arrayValue?.isEmpty == true)
        let link = try #require(first["@odata.deltaLink"]?.stringValue)
        #expect(link.hasPrefix(SimulatorHarness.base + "/v1.0/users/delta?$deltatoken="))
        let created = try JSONValue.parse(h.control("POST", "tenants/\(h.tenantId)/mutations",
                                                    "{\"operations\":[{\"op\":\"createUser\",\"user\":{\"displayName\":\"Zoë New\"}}]}").body)
        let newId = try #require(created["createdUsers"]?.arrayValue?.first?.stringValue)
        let next = try JSONValue.parse(h.get(link, token: token).body)
        #expect(next["value"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == [newId])
    }

    @Test("a deltaLink older than the tenant's lifetime is answered 410 syncStateNotFound, or 400 SyncStateNotFound if configured")
    func expiredDeltaLink() throws {
        let h = Self.harness(duplicates: 0)
        let token = try h.token()
        _ = h.control("POST", "tenants/\(h.tenantId)/config", "{\"deltaTokenLifetimeSeconds\":60}")
        let first = try JSONValue.parse(h.get("/v1.0/users/delta?$deltatoken=latest", token: token).body)
        let link = try #require(first["@odata.deltaLink"]?.stringValue)
        #expect(h.get(link, token: token).status == 200)
        h.clock.advance(61)
        let gone = h.get(link, token: token)
        #expect(gone.status == 410)
        #expect(try JSONValue.parse(gone.body)["error"]?["code"] == .string("syncStateNotFound"))
        #expect(gone.header("Location")?.hasSuffix("$deltatoken=") == true)
        _ = h.control("POST", "tenants/\(h.tenantId)/config", "{\"expiredDeltaStyle\":\"badRequest400\"}")
        let bad = h.get(link, token: token)
        #expect(bad.status == 400)
        #expect(try JSONValue.parse(bad.body)["error"]?["code"] == .string("SyncStateNotFound"))
    }

    @Test("pages hold about pageSize objects and links are absolute and opaque")
    func pagingAndLinks() throws {
        let h = SimulatorHarness { $0.spec = TenantSpec(users: 450, groups: 2, membersPerGroup: 2); $0.duplicateRate = 0 }
        let token = try h.token()
        let page = try JSONValue.parse(h.get("/v1.0/users/delta?$select=displayName", token: token).body)
        #expect(page["value"]?.arrayValue?.count == 200)
        let next = try #require(page["@odata.nextLink"]?.stringValue)
        #expect(next.hasPrefix(SimulatorHarness.base + "/v1.0/users/delta?$skiptoken="))
        #expect(!next.contains("displayName"), "the selection travels inside the opaque token")
        var tampered = next
        tampered.removeLast()
        tampered.append(next.hasSuffix("A") ? "B" : "A")
        #expect(h.get(tampered, token: token).status == 400)
    }

    @Test("$count needs ConsistencyLevel: eventual and counts live objects")
    func countEndpoint() throws {
        let h = Self.harness()
        let token = try h.token()
        #expect(h.get("/v1.0/users/$count", token: token).status == 400)
        let counted = h.get("/v1.0/users/$count", token: token, headers: ["ConsistencyLevel": "eventual"])
        #expect(counted.status == 200 && counted.text == "60")
        _ = h.control("POST", "tenants/\(h.tenantId)/mutations",
                      "{\"operations\":[{\"op\":\"softDeleteUser\",\"id\":\"\(h.simulator.tenant(0).users[0].id)\"}]}")
        #expect(h.get("/v1.0/users/$count", token: token, headers: ["ConsistencyLevel": "eventual"]).text == "59")
        #expect(h.get("/v1.0/groups/$count", token: token, headers: ["ConsistencyLevel": "eventual"]).text == "12")
    }

    @Test("unknown $select properties answer 400 and untracked ones 501")
    func selectValidation() throws {
        let h = Self.harness()
        let token = try h.token()
        #expect(h.get("/v1.0/users/delta?$select=displayName,shoeSize", token: token).status == 400)
        #expect(h.get("/v1.0/users/delta?$select=skills", token: token).status == 501)
    }

    @Test("an empty page may still carry a nextLink, and the round goes on past it")
    func emptyPagesCarryNextLink() throws {
        let h = Self.harness(pageSize: 5, duplicates: 0)
        _ = h.control("POST", "tenants/\(h.tenantId)/config", "{\"emptyPageRate\":0.3}")
        let token = try h.token()
        var url = "/v1.0/users/delta?$select=displayName"
        var ids: Set<String> = []
        var empties = 0
        while true {
            let page = try JSONValue.parse(h.get(url, token: token).body)
            let value = page["value"]?.arrayValue ?? []
            if value.isEmpty && page["@odata.nextLink"] != nil { empties += 1 }
            ids.formUnion(value.compactMap { $0["id"]?.stringValue })
            guard let next = page["@odata.nextLink"]?.stringValue else { break }
            url = next
        }
        #expect(empties > 0)
        #expect(ids.count == 60)
    }

    @Test("duplicate objects appear at page starts when the tenant's duplicate rate says so")
    func duplicatesAppear() throws {
        let h = Self.harness(pageSize: 5, duplicates: 0.5)
        let token = try h.token()
        var url = "/v1.0/users/delta?$select=displayName"
        var ids: [String] = []
        while true {
            let page = try JSONValue.parse(h.get(url, token: token).body)
            ids += (page["value"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue }
            guard let next = page["@odata.nextLink"]?.stringValue else { break }
            url = next
        }
        #expect(ids.count > Set(ids).count)
        #expect(Set(ids).count == 60)
    }
}
