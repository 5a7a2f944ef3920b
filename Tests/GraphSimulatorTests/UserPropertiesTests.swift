import Foundation
import GraphSimulator
import Testing

@Suite("User and group properties, managers and extensions")
struct UserPropertiesTests {
    static func harness() -> SimulatorHarness {
        SimulatorHarness { config in
            config.spec = TenantSpec(users: 300, groups: 20, membersPerGroup: 10)
            config.duplicateRate = 0
        }
    }

    static let costCenter = "extension_11111111222233334444555555555555_costCenter"

    func mutate(_ h: SimulatorHarness, _ operations: String) {
        let response = h.control("POST", "tenants/\(h.tenantId)/mutations", "{\"operations\":[\(operations)]}")
        #expect(response.status == 200, "\(response.text)")
    }

    /// Follows a round from `url` to its deltaLink.
    func round(_ h: SimulatorHarness, _ url: String, token: String, minimal: Bool = false) throws -> (items: [JSONValue], deltaLink: String) {
        var items: [JSONValue] = []
        var url = url
        while true {
            let response = h.get(url, token: token, headers: minimal ? ["Prefer": "return=minimal"] : [:])
            try #require(response.status == 200, "\(response.text)")
            let page = try JSONValue.parse(response.body)
            items += page["value"]?.arrayValue ?? []
            if let next = page["@odata.nextLink"]?.stringValue { url = next } else {
                return (items, try #require(page["@odata.deltaLink"]?.stringValue))
            }
        }
    }

    func latest(_ h: SimulatorHarness, _ select: String, token: String) throws -> String {
        let page = try JSONValue.parse(h.get("/v1.0/users/delta?$deltatoken=latest&$select=\(select)", token: token).body)
        return try #require(page["@odata.deltaLink"]?.stringValue)
    }

    func item(_ items: [JSONValue], _ id: String) -> JSONValue? { items.first { $0["id"]?.stringValue == id } }

    @Test("a full round with $select=manager reports each manager as manager@delta, shaped as Graph documents")
    func managerInFullRound() throws {
        let h = Self.harness()
        let token = try h.token()
        let tenant = h.simulator.tenant(0)
        let full = try round(h, "/v1.0/users/delta?$select=displayName,manager", token: token)
        #expect(full.items.count == 300)
        var withManager = 0
        for (u, user) in tenant.users.enumerated() {
            let annotation = item(full.items, user.id)?["manager@delta"]
            let manager = tenant.managers[u]
            if manager.isNone {
                #expect(annotation == nil, "no manager: no annotation")
            } else {
                withManager += 1
                #expect(annotation == .array([.object(["@odata.type": .string("#microsoft.graph.user"), "id": .string(tenant.id(of: manager))])]))
            }
        }
        #expect(withManager > 200, "most generated members report to someone")
        let plain = try round(h, "/v1.0/users/delta?$select=displayName", token: token)
        #expect(plain.items.allSatisfy { $0["manager@delta"] == nil })
    }

    @Test("a manager set, changed and removed surfaces as manager@delta in minimal rounds, removal as the old manager marked removed")
    func managerChanges() throws {
        let h = Self.harness()
        let token = try h.token()
        let tenant = h.simulator.tenant(0)
        let user = tenant.users[10].id, first = tenant.users[3].id, second = tenant.users[4].id
        mutate(h, #"{"op":"removeManager","id":"\#(user)"}"#)
        var link = try latest(h, "displayName,manager", token: token)
        let other = try latest(h, "displayName", token: token)

        mutate(h, #"{"op":"setManager","id":"\#(user)","managerId":"\#(first)"}"#)
        var next = try round(h, link, token: token, minimal: true)
        #expect(item(next.items, user) == .object(["id": .string(user),
                                                    "manager@delta": .array([.object(["@odata.type": .string("#microsoft.graph.user"), "id": .string(first)])])]))
        link = next.deltaLink

        mutate(h, #"{"op":"updateUser","id":"\#(user)","set":{"manager":"\#(second)"}}"#)
        next = try round(h, link, token: token)
        let changed = try #require(item(next.items, user))
        #expect(changed["displayName"] != nil, "without minimal every selected property comes back")
        #expect(changed["manager@delta"]?.arrayValue?.map { $0["id"] } == [.string(second)])
        link = next.deltaLink

        mutate(h, #"{"op":"removeManager","id":"\#(user)"}"#)
        next = try round(h, link, token: token, minimal: true)
        let removed = try #require(item(next.items, user)?["manager@delta"]?.arrayValue)
        #expect(removed == [.object(["@odata.type": .string("#microsoft.graph.user"), "id": .string(second),
                                     "@removed": .object(["reason": .string("deleted")])])])
        #expect(try round(h, other, token: token).items.isEmpty, "without manager selected, manager changes do not surface the user")
    }

    @Test("a permanently deleted manager is removed from its reports, which delta reports; a contact can be a manager")
    func managerDeletedAndContactManager() throws {
        let h = Self.harness()
        let token = try h.token()
        let tenant = h.simulator.tenant(0)
        let manager = tenant.users[2].id
        let reports = tenant.users.indices.filter { tenant.managers[$0] == MemberRef(kind: .user, index: 2) }.map { tenant.users[$0].id }
        try #require(!reports.isEmpty)
        let link = try latest(h, "manager", token: token)
        mutate(h, #"{"op":"softDeleteUser","id":"\#(manager)"}"#)
        #expect(try round(h, link, token: token).items.map { $0["id"]?.stringValue } == [manager], "a soft-deleted manager keeps its reports")
        mutate(h, #"{"op":"hardDeleteUser","id":"\#(manager)"}"#)
        let after = try round(h, link, token: token, minimal: true)
        for report in reports {
            #expect(item(after.items, report)?["manager@delta"]?.arrayValue?.first?["@removed"]?["reason"] == .string("deleted"))
        }
        let truth = try JSONValue.parse(h.control("GET", "tenants/0/truth").body)
        #expect(truth["users"]?.arrayValue?.first { $0["id"]?.stringValue == reports[0] }?["manager"] == .null)

        let contact = tenant.contacts[0].id
        mutate(h, #"{"op":"setManager","id":"\#(reports[0])","managerId":"\#(contact)"}"#)
        let byContact = try round(h, after.deltaLink, token: token, minimal: true)
        #expect(item(byContact.items, reports[0])?["manager@delta"]?.arrayValue?.first?["@odata.type"] == .string("#microsoft.graph.orgContact"))
        #expect(h.control("POST", "tenants/\(h.tenantId)/mutations",
                          #"{"operations":[{"op":"setManager","id":"\#(reports[0])","managerId":"\#(reports[0])"}]}"#).status == 400)
        let device = h.simulator.tenant(0).devices[0]
        let refused = h.control("POST", "tenants/\(h.tenantId)/mutations",
                                #"{"operations":[{"op":"updateUser","id":"\#(reports[0])","set":{"jobTitle":"Never","manager":"\#(device)"}}]}"#)
        #expect(refused.status == 400, "a device cannot manage")
        #expect(!h.simulator.tenant(0).values(.users, tenant.users.firstIndex { $0.id == reports[0] }!).contains(.string("Never")),
                "a refused update changes nothing")
    }

    @Test("onPremisesExtensionAttributes merges key by key like a Graph PATCH, and delta returns the whole object")
    func extensionAttributesMerge() throws {
        let h = Self.harness()
        let token = try h.token()
        let tenant = h.simulator.tenant(0)
        let index = try #require(tenant.users.indices.first { u in
            if case .attributes(let a) = tenant.values(.users, u)[28] { return a.values.compactMap { $0 }.count >= 2 }
            return false
        })
        guard case .attributes(let before) = tenant.values(.users, index)[28] else { Issue.record("no attributes"); return }
        let user = tenant.users[index].id
        let link = try latest(h, "displayName,onPremisesExtensionAttributes", token: token)
        mutate(h, #"{"op":"updateUser","id":"\#(user)","set":{"onPremisesExtensionAttributes":{"extensionAttribute1":null,"extensionAttribute7":"Zürich Ost"}}}"#)
        var expected = before.values
        expected[0] = nil
        expected[6] = "Zürich Ost"
        guard case .attributes(let after) = h.simulator.tenant(0).values(.users, index)[28] else { Issue.record("attributes lost"); return }
        #expect(after.values == expected, "only the keys named change")

        let next = try round(h, link, token: token, minimal: true)
        let object = try #require(item(next.items, user)?["onPremisesExtensionAttributes"]?.objectValue)
        #expect(object.count == 15)
        #expect(object["extensionAttribute1"] == .null && object["extensionAttribute7"] == .string("Zürich Ost"))
        #expect(object["extensionAttribute2"] == (expected[1].map { .string($0) } ?? .null))
        #expect(item(next.items, user)?["displayName"] == nil)
        #expect(h.control("POST", "tenants/\(h.tenantId)/mutations",
                          #"{"operations":[{"op":"updateUser","id":"\#(user)","set":{"onPremisesExtensionAttributes":{"extensionAttribute16":"x"}}}]}"#).status == 400)
    }

    @Test("a change to one directory extension returns every selected directory extension of the same data type, and no other")
    func directoryExtensionsOfTheSameType() throws {
        let h = Self.harness()
        let token = try h.token()
        let registered = h.control("POST", "tenants/\(h.tenantId)/config",
                                   #"{"directoryExtensions":[{"name":"badge","dataType":"String"},{"name":"level","dataType":"Integer"},{"name":"room","dataType":"String"}]}"#)
        #expect(registered.status == 200)
        let badge = "extension_11111111222233334444555555555555_badge", level = "extension_11111111222233334444555555555555_level"
        let room = "extension_11111111222233334444555555555555_room"
        let summary = try JSONValue.parse(registered.body)["directoryExtensions"]?.arrayValue?.compactMap { $0["name"]?.stringValue }
        #expect(summary == [Self.costCenter, badge, level, room])
        let user = h.simulator.tenant(0).users[7].id
        mutate(h, #"{"op":"updateUser","id":"\#(user)","set":{"\#(badge)":"B-1","\#(level)":3,"\#(Self.costCenter)":"CC-1000"}}"#)
        let link = try latest(h, "displayName,\(Self.costCenter),\(badge),\(level),\(room)", token: token)

        mutate(h, #"{"op":"updateUser","id":"\#(user)","set":{"\#(Self.costCenter)":"CC-2000"}}"#)
        let strings = try round(h, link, token: token, minimal: true)
        #expect(item(strings.items, user) == .object(["id": .string(user), Self.costCenter: .string("CC-2000"), badge: .string("B-1")]),
                "the other String extension comes along; the one never set (room) stays absent, the Integer one is not returned")

        mutate(h, #"{"op":"updateUser","id":"\#(user)","set":{"\#(level)":4}}"#)
        let integers = try round(h, strings.deltaLink, token: token, minimal: true)
        #expect(item(integers.items, user) == .object(["id": .string(user), level: .number(4)]))

        mutate(h, #"{"op":"updateUser","id":"\#(user)","set":{"\#(badge)":null}}"#)
        let cleared = try round(h, integers.deltaLink, token: token, minimal: true)
        #expect(item(cleared.items, user)?[badge] == .null)
        let truth = try JSONValue.parse(h.control("GET", "tenants/0/truth").body)
        let row = try #require(truth["users"]?.arrayValue?.first { $0["id"]?.stringValue == user })
        #expect(row[badge] == .null && row[level] == .number(4) && row[Self.costCenter] == .string("CC-2000"))
    }

    @Test("$select naming a property Graph does not know answers 400 with the directory's wording; untracked ones 501")
    func unknownProperty() throws {
        let h = Self.harness()
        let token = try h.token()
        for (resource, type) in [("users", "User"), ("groups", "Group"), ("contacts", "OrgContact")] {
            let response = h.get("/v1.0/\(resource)/delta?$select=displayName,foo", token: token)
            #expect(response.status == 400)
            let error = try JSONValue.parse(response.body)["error"]
            #expect(error?["code"] == .string("Request_BadRequest"))
            #expect(error?["message"] == .string("Could not find a property named 'foo' on type 'Microsoft.DirectoryServices.\(type)'."))
        }
        #expect(h.get("/v1.0/users/delta?$select=extension_0000_nothing", token: token).status == 400, "an unregistered extension")
        #expect(h.get("/v1.0/users/delta?$select=skills", token: token).status == 501)
        #expect(h.get("/v1.0/users/delta?$select=DisplayName,MOBILEPHONE,\(Self.costCenter.uppercased())", token: token).status == 200,
                "names match without regard to case")
    }

    @Test("only selected properties are returned, and a change to an unselected one does not surface the user")
    func selectionAndTracking() throws {
        let h = Self.harness()
        let token = try h.token()
        let full = try round(h, "/v1.0/users/delta?$select=mobilePhone,city,onPremisesSyncEnabled", token: token)
        #expect(full.items.allSatisfy { Set(($0.objectValue ?? [:]).keys).isSubset(of: ["id", "mobilePhone", "city", "onPremisesSyncEnabled"]) })
        #expect(full.items.contains { $0["city"] != nil } && full.items.contains { $0["onPremisesSyncEnabled"] != nil })
        let user = h.simulator.tenant(0).users[5].id
        mutate(h, #"{"op":"updateUser","id":"\#(user)","set":{"employeeType":"Contractor","officeLocation":"Kraków B","jobTitle":"Zauberer"}}"#)
        #expect(try round(h, full.deltaLink, token: token).items.isEmpty)
        mutate(h, #"{"op":"updateUser","id":"\#(user)","set":{"mobilePhone":"+48 12 555 0101"}}"#)
        let next = try round(h, full.deltaLink, token: token, minimal: true)
        #expect(next.items == [.object(["id": .string(user), "mobilePhone": .string("+48 12 555 0101")])])
    }

    @Test("generated users mix values, explicit nulls and never-set values in every added property, with realistic shapes")
    func realisticUsers() throws {
        let t = TenantGenerator.generate(index: 0, seed: 11, spec: TenantSpec(users: 3000, groups: 200, membersPerGroup: 10), apps: [])
        let rows = t.users.indices.map { t.values(.users, $0) }
        #expect(rows.allSatisfy { $0.count == UserProperty.names.count })
        #expect(t.users.allSatisfy { $0.values.count == UserProperty.storedCount }, "derived properties are not stored")
        func column(_ name: String) -> [PropertyValue] { rows.map { $0[UserProperty.names.firstIndex(of: name)!] } }
        for name in ["employeeId", "employeeType", "companyName", "officeLocation", "preferredLanguage", "mobilePhone", "usageLocation",
                     "city", "country", "onPremisesSyncEnabled", "createdDateTime"] {
            let values = column(name)
            #expect(values.contains(.null), "\(name) has an explicit null")
            #expect(values.contains { if case .string = $0 { return true }; if case .bool = $0 { return true }; return false }, "\(name) has values")
            if name != "createdDateTime" { #expect(values.contains(.unset), "\(name) is never set for some") }
        }
        let created = column("createdDateTime").compactMap { if case .string(let s) = $0 { return s }; return nil }
        #expect(created.allSatisfy { $0.range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"#, options: .regularExpression) != nil })
        #expect(column("onPremisesSyncEnabled").contains(.bool(true)) && column("onPremisesSyncEnabled").contains(.bool(false)))
        let immutable = column("onPremisesImmutableId").compactMap { if case .string(let s) = $0 { return s }; return nil }
        #expect(!immutable.isEmpty && immutable.allSatisfy { $0.count == 24 && Data(base64Encoded: $0)?.count == 16 })
        #expect(column("onPremisesSecurityIdentifier").contains { if case .string(let s) = $0 { return s.hasPrefix("S-1-5-21-") }; return false })
        #expect(column("otherMails").contains(.strings([])) && column("businessPhones").contains { if case .strings(let l) = $0 { return l.count == 2 }; return false })
        #expect(column("city").contains { if case .string(let s) = $0 { return s.unicodeScalars.contains { !$0.isASCII } }; return false })
        let guests = t.users.indices.filter { t.users[$0].values[8] == .string("Guest") }
        #expect(guests.allSatisfy { rows[$0][16] == .string("Invitation") && rows[$0][17] != .unset && t.managers[$0].isNone })
        #expect(rows.contains { if case .attributes(let a) = $0[28] { return a.values.contains { $0 != nil } }; return false })
        #expect(rows.contains { $0[28] == .attributes(ExtensionAttributes()) } && rows.contains { $0[28] == .unset })
        #expect(t.users.indices.map { t.values(.users, $0) } == rows, "derived values read the same every time")

        let groups = t.groups.indices.map { t.values(.groups, $0) }
        #expect(groups.allSatisfy { if case .string = $0[8] { return true }; return false }, "every group has a createdDateTime")
        #expect(groups.contains { $0[7] == .string("Private") } && groups.contains { $0[7] == .null })
        #expect(groups.contains { if case .strings(let l) = $0[10] { return l.first?.hasPrefix("SMTP:") == true }; return false })
        #expect(groups.contains { $0[9] == .bool(true) })
    }

    @Test("a change to a contract property keeps the derived ones, and a created user's createdDateTime is the injected clock's time")
    func derivedValuesSurviveChanges() throws {
        let h = Self.harness()
        let before = h.simulator.tenant(0).values(.users, 8)
        let id = h.simulator.tenant(0).users[8].id
        mutate(h, #"{"op":"updateUser","id":"\#(id)","set":{"userType":"Guest","userPrincipalName":"someone.else@tenant1-verified.example"}}"#)
        let after = h.simulator.tenant(0).values(.users, 8)
        #expect(Array(after[10...]) == Array(before[10...]))
        #expect(h.simulator.tenant(0).users[8].values.count == UserProperty.names.count, "the first change stores every value")

        let created = try JSONValue.parse(h.control("POST", "tenants/\(h.tenantId)/mutations",
                                                    #"{"operations":[{"op":"createUser","user":{"displayName":"Zoë Neu"}}]}"#).body)
        let newId = try #require(created["createdUsers"]?.arrayValue?.first?.stringValue)
        let truth = try JSONValue.parse(h.control("GET", "tenants/0/truth").body)
        let row = try #require(truth["users"]?.arrayValue?.first { $0["id"]?.stringValue == newId })
        #expect(row["createdDateTime"] == .string("2027-01-15T08:00:00Z"))
        #expect(row["manager"] == .null && row["mobilePhone"] == .null)
    }

    @Test("group properties added to the contract change through the control API and surface in groups delta")
    func groupProperties() throws {
        let h = Self.harness()
        let token = try h.token()
        let first = try JSONValue.parse(h.get("/v1.0/groups/delta?$deltatoken=latest&$select=visibility,proxyAddresses,onPremisesSyncEnabled,createdDateTime", token: token).body)
        let link = try #require(first["@odata.deltaLink"]?.stringValue)
        let group = h.simulator.tenant(0).groups[2].id
        mutate(h, #"{"op":"updateGroup","id":"\#(group)","set":{"visibility":"HiddenMembership","proxyAddresses":["SMTP:Team@tenant1-verified.example","smtp:team@tenant1.onmicrosoft.com"]}}"#)
        let next = try round(h, link, token: token, minimal: true)
        #expect(next.items == [.object(["id": .string(group), "visibility": .string("HiddenMembership"),
                                        "proxyAddresses": .array([.string("SMTP:Team@tenant1-verified.example"), .string("smtp:team@tenant1.onmicrosoft.com")])])])
    }

    @Test("the truth lists every modelled property by its Graph name for users, groups and contacts, plus managers, memberships and domains")
    func truthShape() throws {
        let h = Self.harness()
        let truth = try JSONValue.parse(h.control("GET", "tenants/0/truth").body)
        #expect(truth.objectValue?.keys.sorted() == ["contacts", "domains", "groups", "memberships", "tenantId", "users"])
        let user = try #require(truth["users"]?.arrayValue?.first)
        #expect(user.objectValue?.keys.sorted() == (["id", "deleted", "manager", Self.costCenter] + UserProperty.names).sorted())
        let group = try #require(truth["groups"]?.arrayValue?.first)
        #expect(group.objectValue?.keys.sorted() == (["id", "deleted"] + GroupProperty.names).sorted())
        let contact = try #require(truth["contacts"]?.arrayValue?.first)
        #expect(contact.objectValue?.keys.sorted() == (["id", "deleted"] + ContactProperty.names).sorted())
        let users = truth["users"]?.arrayValue ?? []
        #expect(users.contains { $0["onPremisesExtensionAttributes"]?.objectValue?.count == 15 })
        #expect(users.contains { $0["onPremisesExtensionAttributes"] == .null })
        #expect(users.contains { $0["businessPhones"]?.arrayValue != nil })
        #expect(users.contains { $0["manager"]?.stringValue != nil } && users.contains { $0["manager"] == .null })
        let membership = try #require(truth["memberships"]?.arrayValue?.first)
        #expect(membership.objectValue?.keys.sorted() == ["groupId", "memberId", "memberType"])
    }
}
