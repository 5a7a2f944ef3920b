import GraphSimulator
import Testing

@Suite("Tenant generation and control API")
struct TenantGeneratorTests {
    @Test("the same seed gives the same tenant ids, objects and memberships; another seed differs")
    func deterministic() {
        let spec = TenantSpec(users: 300, groups: 30, membersPerGroup: 10)
        let a = TenantGenerator.generate(index: 0, seed: 9, spec: spec, apps: [])
        let b = TenantGenerator.generate(index: 0, seed: 9, spec: spec, apps: [])
        let c = TenantGenerator.generate(index: 0, seed: 10, spec: spec, apps: [])
        #expect(a.id == b.id && a.users.map(\.id) == b.users.map(\.id) && a.members == b.members)
        #expect(a.users.map(\.values) == b.users.map(\.values))
        #expect(a.id != c.id)
    }

    @Test("ids, contract values and memberships generated for a seed are those generated before contacts, managers and derived properties existed")
    func stableAcrossAdditions() {
        // FNV-1a over what benchmarks compare; the value was computed by the generator before the additions.
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        func mix(_ text: String) { for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 } }
        func mix(_ value: PropertyValue) {
            switch value {
            case .unset: mix("U")
            case .null: mix("N")
            case .string(let s): mix("S" + s)
            case .bool(let b): mix(b ? "T" : "F")
            case .strings(let list): mix("L" + list.joined(separator: "\u{1}"))
            default: mix("?")
            }
        }
        for index in 0..<2 {
            let t = TenantGenerator.generate(index: index, seed: 42, spec: TenantSpec(users: 3000, groups: 300, membersPerGroup: 20), apps: [])
            mix(t.id)
            for user in t.users { mix(user.id); for value in user.values.prefix(10) { mix(value) } }
            for group in t.groups { mix(group.id); for value in group.values.prefix(7) { mix(value) } }
            for list in t.members { mix(list.map { String($0.raw) }.joined(separator: ",")) }
            t.devices.forEach(mix)
            t.servicePrincipals.forEach(mix)
            t.contacts.map(\.id).forEach(mix)
        }
        #expect(String(hash, radix: 16) == "6d987b315058e559")
    }

    @Test("generated tenants are realistic: guests, disabled users, null and never-set mail, non-ASCII names, all member kinds")
    func realistic() {
        let t = TenantGenerator.generate(index: 2, seed: 1, spec: TenantSpec(users: 2000, groups: 200, membersPerGroup: 30), apps: [])
        #expect(t.domains.map(\.name) == ["tenant3-verified.example", "tenant3-unverified.example", "tenant3.onmicrosoft.com",
                                          "tenant3-mail.example"])
        #expect(t.domains.map(\.isVerified) == [true, false, true, true])
        #expect(t.users.contains { $0.values[8] == .string("Guest") })
        #expect(t.users.contains { $0.values[7] == .bool(false) })
        #expect(t.users.contains { $0.values[4] == .null } && t.users.contains { $0.values[4] == .unset })
        #expect(t.users.contains { if case .strings(let p) = $0.values[9] { return p.count >= 2 }; return false })
        #expect(t.users.contains { if case .string(let n) = $0.values[1] { return n.unicodeScalars.contains { !$0.isASCII } }; return false })
        let kinds = Set(t.members.flatMap { $0.map(\.kind) })
        #expect(kinds == Set(MemberKind.allCases))
        #expect(t.members.allSatisfy { $0 == $0.sorted() && Set($0).count == $0.count })
    }

    @Test("mutations report what they did, and an invalid operation stops the batch with its index")
    func mutationsEndpoint() throws {
        let h = SimulatorHarness()
        let user = h.simulator.tenant(0).users[0].id
        let group = h.simulator.tenant(0).groups[0].id
        let ok = try JSONValue.parse(h.control("POST", "tenants/\(h.tenantId)/mutations", """
            {"operations":[{"op":"updateUser","id":"\(user)","set":{"jobTitle":null,"department":"QA"}},
                           {"op":"createGroup","group":{"displayName":"Ünïcode"}},
                           {"op":"addMember","groupId":"\(group)","memberId":"\(user)","memberType":"user"}],
             "random":{"seed":5,"count":10}}
            """).body)
        #expect(ok["counts"]?["createGroup"]?.intValue ?? 0 >= 1)
        #expect(ok["createdGroups"]?.arrayValue?.isEmpty == false)
        let truth = try JSONValue.parse(h.control("GET", "tenants/tenant1-verified.example/truth").body)
        let row = try #require(truth["users"]?.arrayValue?.first { $0["id"]?.stringValue == user })
        #expect(row["department"] == .string("QA") && row["jobTitle"] == .null && row["deleted"] == .null)
        let bad = h.control("POST", "tenants/\(h.tenantId)/mutations", """
            {"operations":[{"op":"softDeleteUser","id":"\(user)"},{"op":"updateUser","id":"\(user)","set":{"jobTitle":"x"}}]}
            """)
        #expect(bad.status == 400)
        #expect(try JSONValue.parse(bad.body)["index"]?.intValue == 1)
        let after = try JSONValue.parse(h.control("GET", "tenants/0/truth").body)
        #expect(after["users"]?.arrayValue?.first { $0["id"]?.stringValue == user }?["deleted"] == .string("changed"))
    }

    @Test("a scenario file defines tenants, domains, apps and permissions")
    func scenario() throws {
        var configuration = SimulatorConfiguration()
        try configuration.apply(scenario: JSONValue.parse(Array("""
            {"seed": 3, "tenants": [{"displayName": "Fabrikam", "users": 15, "groups": 2,
              "domains": [{"name": "fabrikam.example", "verified": true, "default": true}],
              "apps": [{"clientId": "ABCDEF00-0000-0000-0000-000000000001", "secrets": ["x"]}],
              "permissions": ["User.Read.All"], "consent": false}]}
            """.utf8)))
        let simulator = GraphSimulator(configuration: configuration)
        let tenant = simulator.tenant(0)
        #expect(tenant.displayName == "Fabrikam" && tenant.users.count == 15 && tenant.answers(to: "FABRIKAM.example"))
        #expect(tenant.apps.first?.clientId == "abcdef00-0000-0000-0000-000000000001")
        #expect(tenant.settings.permissions == ["User.Read.All"] && !tenant.settings.consent)
        #expect(throws: SimulatorInputError.self) {
            var broken = SimulatorConfiguration()
            try broken.apply(scenario: JSONValue.parse(Array(#"{"tenants":[{"apps":[{"secrets":[]}]}]}"#.utf8)))
        }
    }
}
