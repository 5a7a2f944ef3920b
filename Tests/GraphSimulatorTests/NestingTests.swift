import GraphSimulator
import Testing

@Suite("Group nesting")
struct NestingTests {
    static let spec = TenantSpec(users: 4000, groups: 400, membersPerGroup: 10, nesting: .deep)

    /// Parent groups of every group, from the member lists.
    static func parents(_ t: Tenant) -> [[Int]] {
        var parents = [[Int]](repeating: [], count: t.groups.count)
        for (g, list) in t.members.enumerated() {
            for ref in list where ref.kind == .group { parents[ref.index].append(g) }
        }
        return parents
    }

    /// Every group that contains `g` directly or through other groups, `g` included.
    static func ancestors(of g: Int, _ parents: [[Int]]) -> Set<Int> {
        var seen: Set<Int> = [g]
        var queue = [g]
        while let next = queue.popLast() {
            for p in parents[next] where seen.insert(p).inserted { queue.append(p) }
        }
        return seen
    }

    @Test("the deep shape nests groups at least six deep, gives groups two or three parents, and stays free of cycles")
    func depthAndParents() {
        let t = TenantGenerator.generate(index: 0, seed: 42, spec: Self.spec, apps: [])
        let parents = Self.parents(t)
        var depth = [Int?](repeating: nil, count: t.groups.count)
        func chain(_ g: Int, _ visiting: inout Set<Int>) -> Int {
            if let known = depth[g] { return known }
            precondition(visiting.insert(g).inserted, "generation must not create a nesting cycle")
            let result = 1 + (parents[g].map { chain($0, &visiting) }.max() ?? 0)
            visiting.remove(g)
            depth[g] = result
            return result
        }
        var visiting: Set<Int> = []
        let deepest = (0..<t.groups.count).map { chain($0, &visiting) }.max() ?? 0
        #expect(deepest >= 6)
        let twoOrThree = parents.filter { (2...3).contains($0.count) }.count
        #expect(twoOrThree >= 20, "groups with two or three parents: \(twoOrThree)")
        let standard = TenantGenerator.generate(index: 0, seed: 42, spec: TenantSpec(users: 4000, groups: 400, membersPerGroup: 10), apps: [])
        let standardDepth = Self.parents(standard).filter { !$0.isEmpty }.count
        #expect(standardDepth < parents.filter { !$0.isEmpty }.count, "the deep shape nests more groups than the standard one")
    }

    @Test("the deep shape has one group holding half the users (50,000 in large tenants) nested under other groups")
    func bigNestedGroup() throws {
        #expect(TenantGenerator.bigGroupSize(users: 100_000) == 50_000)
        #expect(TenantGenerator.bigGroupSize(users: 60_000) == 50_000)
        #expect(TenantGenerator.bigGroupSize(users: 4001) == 2001)
        let t = TenantGenerator.generate(index: 0, seed: 42, spec: Self.spec, apps: [])
        let parents = Self.parents(t)
        let big = try #require(t.members.firstIndex { list in list.filter { $0.kind == .user }.count >= 2000 })
        #expect(parents[big].count >= 2, "nested under other groups")
        #expect(Self.ancestors(of: big, parents).count >= 6, "and under those groups' parents in turn")

        let large = TenantGenerator.generate(index: 0, seed: 7, spec: TenantSpec(users: 100_000, groups: 120, membersPerGroup: 2, nesting: .deep), apps: [])
        let largeParents = Self.parents(large)
        let fifty = try #require(large.members.firstIndex { $0.count >= 50_000 })
        #expect(large.members[fifty].filter { $0.kind == .user }.count >= 50_000)
        #expect(largeParents[fifty].count >= 2)
    }

    @Test("in the deep shape some users are members of at least fifty groups, directly or through nesting")
    func busyUsers() {
        let t = TenantGenerator.generate(index: 0, seed: 42, spec: Self.spec, apps: [])
        let parents = Self.parents(t)
        let ancestors = (0..<t.groups.count).map { Self.ancestors(of: $0, parents) }
        var groupsOf = [Set<Int>](repeating: [], count: t.users.count)
        for (g, list) in t.members.enumerated() {
            for ref in list where ref.kind == .user { groupsOf[ref.index].formUnion(ancestors[g]) }
        }
        let busy = groupsOf.filter { $0.count >= 50 }.count
        #expect(busy >= 1, "users in 50 or more groups: \(busy); most: \(groupsOf.map(\.count).max() ?? 0)")
    }

    @Test("the deep shape keeps every id, value and membership of the standard shape but its random nested groups, and is the same for the same seed")
    func deterministicSuperset() {
        let standard = TenantGenerator.generate(index: 0, seed: 42, spec: TenantSpec(users: 4000, groups: 400, membersPerGroup: 10), apps: [])
        let deep = TenantGenerator.generate(index: 0, seed: 42, spec: Self.spec, apps: [])
        let again = TenantGenerator.generate(index: 0, seed: 42, spec: Self.spec, apps: [])
        #expect(deep.members == again.members)
        #expect(deep.users.map(\.id) == standard.users.map(\.id) && deep.groups.map(\.id) == standard.groups.map(\.id))
        #expect(deep.users.map(\.values) == standard.users.map(\.values))
        #expect(zip(standard.members, deep.members).allSatisfy { Set($0.filter { $0.kind != .group }).isSubset(of: Set($1)) })
        // Only the lattice nests: groups outside it have no parent and contain no group.
        let parents = Self.parents(deep)
        #expect(parents.filter { !$0.isEmpty }.count <= TenantGenerator.deepLayers * TenantGenerator.deepWidth)
        #expect(deep.members.allSatisfy { $0 == $0.sorted() && Set($0).count == $0.count })
    }

    @Test("the nesting shape is chosen by the scenario, per tenant or for all")
    func scenarioChoosesNesting() throws {
        var configuration = SimulatorConfiguration()
        try configuration.apply(scenario: JSONValue.parse(Array(#"{"nesting":"deep","tenants":[{"users":10},{"users":10,"nesting":"standard"}]}"#.utf8)))
        #expect(configuration.scenarioTenants.map(\.spec.nesting) == [.deep, .standard])
        #expect(throws: SimulatorInputError.self) {
            var broken = SimulatorConfiguration()
            try broken.apply(scenario: JSONValue.parse(Array(#"{"tenants":[{"nesting":"very"}]}"#.utf8)))
        }
    }

    @Test("a nested group added through the control API may close a cycle, which groups delta and the truth report; self-membership is refused")
    func cyclesThroughTheControlAPI() throws {
        let h = SimulatorHarness()
        let token = try h.token()
        let first = try JSONValue.parse(h.get("/v1.0/groups/delta?$deltatoken=latest&$select=displayName,members", token: token).body)
        let link = try #require(first["@odata.deltaLink"]?.stringValue)
        let ids = h.simulator.tenant(0).groups.prefix(3).map(\.id)
        let (a, b, c) = (ids[0], ids[1], ids[2])
        let response = h.control("POST", "tenants/\(h.tenantId)/mutations", """
            {"operations":[{"op":"addMember","groupId":"\(b)","memberId":"\(a)","memberType":"group"},
                           {"op":"addMember","groupId":"\(c)","memberId":"\(b)","memberType":"group"},
                           {"op":"addMember","groupId":"\(a)","memberId":"\(c)","memberType":"group"}]}
            """)
        #expect(response.status == 200, "\(response.text)")
        let page = try JSONValue.parse(h.get(link, token: token).body)
        var edges: Set<String> = []
        for item in page["value"]?.arrayValue ?? [] {
            for entry in item["members@delta"]?.arrayValue ?? [] where entry["@odata.type"] == .string("#microsoft.graph.group") {
                edges.insert("\(entry["id"]?.stringValue ?? "")∈\(item["id"]?.stringValue ?? "")")
            }
        }
        #expect(edges.isSuperset(of: ["\(a)∈\(b)", "\(b)∈\(c)", "\(c)∈\(a)"]))
        let truth = try JSONValue.parse(h.control("GET", "tenants/0/truth").body)
        let memberships = Set((truth["memberships"]?.arrayValue ?? []).map { "\($0["memberId"]?.stringValue ?? "")∈\($0["groupId"]?.stringValue ?? "")" })
        #expect(memberships.isSuperset(of: edges))
        let own = h.control("POST", "tenants/\(h.tenantId)/mutations", #"{"operations":[{"op":"addMember","groupId":"\#(a)","memberId":"\#(a)"}]}"#)
        #expect(own.status == 400)
    }
}
