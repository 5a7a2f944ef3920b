import Foundation
import GraphSimulator
import Testing

/// `groups/delta?$filter=id eq '…' or …`: delta rounds over chosen groups only, as Microsoft's own
/// membership tooling runs them and as a parallel first load reads groups with their members.
@Suite("Scoped groups delta")
struct ScopedGroupsDeltaTests {
    static func harness() -> SimulatorHarness {
        SimulatorHarness {
            $0.spec = TenantSpec(users: 400, groups: 60, membersPerGroup: 30)
            $0.membersPerPage = 25
            $0.duplicateRate = 0
        }
    }

    static func scoped(_ ids: [String]) -> String {
        let filter = ids.map { "id eq '\($0)'" }.joined(separator: " or ").addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        return "/v1.0/groups/delta?$select=displayName,members&$filter=\(filter)"
    }

    /// Members of each group the pages carried, added and removed, by group id.
    static func members(_ pages: [JSONValue]) -> [String: (added: Set<String>, removed: Set<String>)] {
        var result: [String: (added: Set<String>, removed: Set<String>)] = [:]
        for item in pages.flatMap({ $0["value"]?.arrayValue ?? [] }) {
            guard let id = item["id"]?.stringValue else { continue }
            var entry = result[id] ?? ([], [])
            for member in item["members@delta"]?.arrayValue ?? [] {
                guard let memberID = member["id"]?.stringValue else { continue }
                if member["@removed"] != nil { entry.removed.insert(memberID) } else { entry.added.insert(memberID) }
            }
            result[id] = entry
        }
        return result
    }

    @Test("a scoped initial round returns exactly the chosen live groups with all their members, split over pages like the whole round")
    func scopedInitialRound() throws {
        let h = Self.harness()
        let token = try h.token()
        let tenant = h.simulator.tenant(0)
        let chosen = tenant.groups.indices.filter { tenant.groups[$0].lifecycle == .live && tenant.members[$0].count > 30 }.prefix(4)
        try #require(chosen.count == 4)
        let ids = chosen.map { tenant.groups[$0].id } + [UUID().uuidString.lowercased()]
        let pages = try DeltaLatestAndPageSizeTests.round(h, Self.scoped(ids.map { $0.uppercased() }), token: token)
        #expect(pages.count > 4, "groups bigger than the member budget continue on the next page")
        let found = Self.members(pages)
        #expect(Set(found.keys) == Set(chosen.map { tenant.groups[$0].id }))
        for g in chosen {
            #expect(found[tenant.groups[g].id]?.added == Set(tenant.members[g].map { tenant.id(of: $0) }))
        }
        let deltaLink = try #require(pages.last?["@odata.deltaLink"]?.stringValue)
        #expect(!deltaLink.contains("$filter"), "the scope travels in the token")
    }

    @Test("a scoped deltaLink reports later changes of its groups only")
    func scopedIncrementalRound() throws {
        let h = Self.harness()
        let token = try h.token()
        let tenant = h.simulator.tenant(0)
        let live = tenant.groups.indices.filter { tenant.groups[$0].lifecycle == .live && !tenant.members[$0].isEmpty }
        let (inside, outside) = (live[0], live[1])
        let pages = try DeltaLatestAndPageSizeTests.round(h, Self.scoped([tenant.groups[inside].id]), token: token)
        let link = try #require(pages.last?["@odata.deltaLink"]?.stringValue)
        let leaving = try #require(tenant.members[inside].first)
        try h.mutate("""
            {"op":"removeMember","groupId":"\(tenant.groups[inside].id)","memberId":"\(tenant.id(of: leaving))"},
            {"op":"updateGroup","id":"\(tenant.groups[outside].id)","set":{"displayName":"Elsewhere"}},
            {"op":"updateGroup","id":"\(tenant.groups[inside].id)","set":{"displayName":"Inside"}}
            """)
        let later = try DeltaLatestAndPageSizeTests.round(h, link, token: token)
        let items = later.flatMap { $0["value"]?.arrayValue ?? [] }
        #expect(Set(items.compactMap { $0["id"]?.stringValue }) == [tenant.groups[inside].id])
        #expect(Self.members(later)[tenant.groups[inside].id]?.removed == [tenant.id(of: leaving)])
        #expect(items.contains { $0["displayName"] == .string("Inside") })
    }

    @Test("more than 50 ids, another filter shape, or a filter on users delta are refused with 400")
    func refusedFilters() throws {
        let h = Self.harness()
        let token = try h.token()
        let many = (0...50).map { _ in UUID().uuidString.lowercased() }
        let tooMany = h.get(Self.scoped(many), token: token)
        #expect(tooMany.status == 400 && tooMany.text.contains("limit of 50"))
        #expect(h.get("/v1.0/groups/delta?$filter=startswith(displayName,'a')", token: token).status == 400)
        #expect(h.get("/v1.0/groups/delta?$filter=displayName%20eq%20'a'", token: token).status == 400)
        #expect(h.get("/v1.0/users/delta?$filter=id%20eq%20'\(UUID().uuidString)'", token: token).status == 400)
    }
}
