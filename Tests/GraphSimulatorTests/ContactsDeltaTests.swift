import GraphSimulator
import Testing

@Suite("Organisational contacts")
struct ContactsDeltaTests {
    static func harness(pageSize: Int = 200, duplicates: Double = 0, permissions: [String]? = nil) -> SimulatorHarness {
        SimulatorHarness { config in
            config.spec = TenantSpec(users: 1000, groups: 40, membersPerGroup: 30)
            config.pageSize = pageSize
            config.duplicateRate = duplicates
        }
    }

    func mutate(_ h: SimulatorHarness, _ operations: String) throws -> JSONValue {
        let response = h.control("POST", "tenants/\(h.tenantId)/mutations", "{\"operations\":[\(operations)]}")
        #expect(response.status == 200, "\(response.text)")
        return try JSONValue.parse(response.body)
    }

    /// Follows a round from `url` to its deltaLink.
    func round(_ h: SimulatorHarness, _ url: String, token: String, minimal: Bool = false) throws -> (items: [JSONValue], deltaLink: String, pages: Int) {
        var items: [JSONValue] = []
        var url = url
        var pages = 0
        while true {
            let response = h.get(url, token: token, headers: minimal ? ["Prefer": "return=minimal"] : [:])
            try #require(response.status == 200, "\(response.text)")
            let page = try JSONValue.parse(response.body)
            pages += 1
            items += page["value"]?.arrayValue ?? []
            if let next = page["@odata.nextLink"]?.stringValue {
                url = next
            } else {
                return (items, try #require(page["@odata.deltaLink"]?.stringValue), pages)
            }
        }
    }

    @Test("a full contacts round returns every contact with Graph's default properties; $select returns only what it names")
    func defaultAndSelectedProperties() throws {
        let h = Self.harness()
        let token = try h.token()
        let tenant = h.simulator.tenant(0)
        #expect(tenant.contacts.count == 20)
        let all = try round(h, "/v1.0/contacts/delta", token: token)
        #expect(Set(all.items.compactMap { $0["id"]?.stringValue }) == Set(tenant.contacts.map(\.id)))
        let defaults: Set<String> = ["id", "companyName", "department", "displayName", "givenName", "jobTitle", "mail", "mailNickname", "surname"]
        #expect(all.items.allSatisfy { Set(($0.objectValue ?? [:]).keys).isSubset(of: defaults) })
        #expect(all.items.contains { $0["proxyAddresses"] != nil } == false, "proxyAddresses is not in the default set")

        let selected = try round(h, "/v1.0/contacts/delta?$select=displayName,proxyAddresses", token: token)
        #expect(selected.items.allSatisfy { Set(($0.objectValue ?? [:]).keys).isSubset(of: ["id", "displayName", "proxyAddresses"]) })
        #expect(selected.items.contains { $0["proxyAddresses"] != nil })
        let response = h.get("/v1.0/contacts/delta?$select=displayName", token: token)
        #expect(try JSONValue.parse(response.body)["@odata.context"]?.stringValue?.hasSuffix("$metadata#contacts(displayName)") == true)
    }

    @Test("generated contacts mix values, explicit nulls and never-set properties, with SMTP and smtp proxy addresses in mixed case")
    func realisticContacts() throws {
        let tenant = TenantGenerator.generate(index: 0, seed: 5, spec: TenantSpec(users: 10_000, groups: 10, membersPerGroup: 5), apps: [])
        #expect(tenant.contacts.count == 200)
        func column(_ ordinal: Int) -> [PropertyValue] { tenant.contacts.map { $0.values[ordinal] } }
        for ordinal in [3, 6, 7, 8] {
            let values = column(ordinal)
            #expect(values.contains(.null) && values.contains(.unset) && values.contains { if case .string = $0 { return true }; return false },
                    "\(ContactProperty.names[ordinal])")
        }
        let proxies = column(5).compactMap { value -> [String]? in if case .strings(let list) = value { return list }; return nil }.flatMap { $0 }
        #expect(proxies.contains { $0.hasPrefix("SMTP:") } && proxies.contains { $0.hasPrefix("smtp:") })
        #expect(proxies.contains { $0.dropFirst(5).contains { $0.isUppercase } }, "mixed-case addresses")
        #expect(column(0).contains { if case .string(let name) = $0 { return name.unicodeScalars.contains { !$0.isASCII } }; return false })
    }

    @Test("a never-set contact property is absent, a cleared one explicit null; minimal rounds carry only what changed")
    func absentNullAndMinimal() throws {
        let h = Self.harness()
        let token = try h.token()
        let created = try mutate(h, #"{"op":"createContact","contact":{"displayName":"Zoë Partner","mail":null,"jobTitle":"Buyer"}}"#)
        let id = try #require(created["createdContacts"]?.arrayValue?.first?.stringValue)
        let select = "/v1.0/contacts/delta?$select=displayName,mail,jobTitle,companyName"
        let first = try round(h, select, token: token)
        let contact = try #require(first.items.first { $0["id"]?.stringValue == id })
        #expect(contact["mail"] == nil && contact["companyName"] == nil, "never set: absent")
        #expect(contact["jobTitle"] == .string("Buyer") && contact["displayName"] == .string("Zoë Partner"))

        _ = try mutate(h, #"{"op":"updateContact","id":"\#(id)","set":{"jobTitle":null,"mail":"zoe@partner.example"}}"#)
        let minimal = try round(h, first.deltaLink, token: token, minimal: true)
        let changed = try #require(minimal.items.first { $0["id"]?.stringValue == id })
        #expect(changed.objectValue?.keys.sorted() == ["id", "jobTitle", "mail"])
        #expect(changed["jobTitle"] == .null, "cleared: explicit null")
        #expect(changed["mail"] == .string("zoe@partner.example"))

        _ = try mutate(h, #"{"op":"updateContact","id":"\#(id)","set":{"department":"Einkauf"}}"#)
        let unselected = try round(h, minimal.deltaLink, token: token)
        #expect(unselected.items.isEmpty, "a change to an unselected property does not surface the contact")

        _ = try mutate(h, #"{"op":"updateContact","id":"\#(id)","set":{"companyName":"Fabrikam"}}"#)
        let full = try round(h, unselected.deltaLink, token: token)
        let whole = try #require(full.items.first { $0["id"]?.stringValue == id })
        #expect(whole["displayName"] != nil && whole["mail"] != nil && whole["companyName"] == .string("Fabrikam"),
                "without Prefer: return=minimal every selected property comes back")
        #expect(whole["jobTitle"] == .null)
    }

    @Test("a deleted contact is reported removed with reason deleted and leaves its groups; contacts cannot be soft-deleted or restored")
    func deletion() throws {
        let h = Self.harness()
        let token = try h.token()
        let tenant = h.simulator.tenant(0)
        let g = try #require(tenant.members.firstIndex { $0.contains { $0.kind == .orgContact } })
        let ref = try #require(tenant.members[g].first { $0.kind == .orgContact })
        let contactId = tenant.id(of: ref)
        let contacts = try round(h, "/v1.0/contacts/delta?$select=displayName", token: token)
        let groups = try round(h, "/v1.0/groups/delta?$select=displayName,members", token: token)
        let memberEntry = groups.items.first { $0["id"]?.stringValue == tenant.groups[g].id }?["members@delta"]?.arrayValue?
            .first { $0["id"]?.stringValue == contactId }
        #expect(memberEntry?["@odata.type"] == .string("#microsoft.graph.orgContact"))

        #expect(throws: SimulatorInputError.self) {
            try h.simulator.withTenant(0) { (t: inout Tenant) throws(SimulatorInputError) in try t.softDelete(.contacts, id: contactId) }
        }
        #expect(throws: SimulatorInputError.self) {
            try h.simulator.withTenant(0) { (t: inout Tenant) throws(SimulatorInputError) in try t.restore(.contacts, id: contactId) }
        }
        _ = try mutate(h, #"{"op":"deleteContact","id":"\#(contactId)"}"#)
        let removed = try round(h, contacts.deltaLink, token: token)
        #expect(removed.items.map { $0["@removed"]?["reason"] } == [.string("deleted")])
        let left = try round(h, groups.deltaLink, token: token)
        let entry = left.items.first { $0["id"]?.stringValue == tenant.groups[g].id }?["members@delta"]?.arrayValue?.first
        #expect(entry?["id"]?.stringValue == contactId && entry?["@removed"]?["reason"] == .string("deleted"))
        let truth = try JSONValue.parse(h.control("GET", "tenants/0/truth").body)
        #expect(truth["contacts"]?.arrayValue?.first { $0["id"]?.stringValue == contactId }?["deleted"] == .string("deleted"))
        #expect(truth["memberships"]?.arrayValue?.contains { $0["memberId"]?.stringValue == contactId } == false)
        #expect(h.control("POST", "tenants/\(h.tenantId)/mutations",
                          #"{"operations":[{"op":"addMember","groupId":"\#(tenant.groups[0].id)","memberId":"\#(contactId)"}]}"#).status == 400)
    }

    @Test("contacts delta pages by page size, repeats objects at page starts and serves empty pages with a nextLink")
    func pagingDuplicatesAndEmptyPages() throws {
        let h = Self.harness(pageSize: 3, duplicates: 0.5)
        _ = h.control("POST", "tenants/\(h.tenantId)/config", #"{"emptyPageRate":0.3}"#)
        let token = try h.token()
        var url = "/v1.0/contacts/delta?$select=displayName"
        var ids: [String] = []
        var empties = 0, largest = 0
        while true {
            let page = try JSONValue.parse(h.get(url, token: token).body)
            let value = page["value"]?.arrayValue ?? []
            largest = max(largest, value.count)
            if value.isEmpty && page["@odata.nextLink"] != nil { empties += 1 }
            ids += value.compactMap { $0["id"]?.stringValue }
            guard let next = page["@odata.nextLink"]?.stringValue else { break }
            #expect(page["@odata.deltaLink"] == nil)
            url = next
        }
        #expect(Set(ids).count == 20)
        #expect(ids.count > 20, "duplicates")
        #expect(empties > 0)
        #expect(largest <= 4, "page size 3, plus one repeated object")
    }

    @Test("an expired contacts deltaLink answers 410 with a Location that keeps $select, or 400 SyncStateNotFound; latest sees only later changes")
    func expiryAndLatest() throws {
        let h = Self.harness()
        let token = try h.token()
        let latest = try JSONValue.parse(h.get("/v1.0/contacts/delta?$deltatoken=latest&$select=displayName,mail", token: token).body)
        #expect(latest["value"]?.arrayValue?.isEmpty == true)
        let link = try #require(latest["@odata.deltaLink"]?.stringValue)
        #expect(try round(h, link, token: token).items.isEmpty)
        let created = try mutate(h, #"{"op":"createContact","contact":{"displayName":"Søren Lieferant"}}"#)
        let later = try round(h, link, token: token)
        #expect(later.items.compactMap { $0["id"]?.stringValue } == created["createdContacts"]?.arrayValue?.compactMap(\.stringValue))

        _ = h.control("POST", "tenants/\(h.tenantId)/config", #"{"deltaTokenLifetimeSeconds":60}"#)
        h.clock.advance(61)
        let gone = h.get(later.deltaLink, token: token)
        #expect(gone.status == 410)
        #expect(try JSONValue.parse(gone.body)["error"]?["code"] == .string("syncStateNotFound"))
        #expect(gone.header("Location") == SimulatorHarness.base + "/v1.0/contacts/delta?$select=displayName,mail&$deltatoken=")
        _ = h.control("POST", "tenants/\(h.tenantId)/config", #"{"expiredDeltaStyle":"badRequest400"}"#)
        let bad = h.get(later.deltaLink, token: token)
        #expect(bad.status == 400)
        #expect(try JSONValue.parse(bad.body)["error"]?["code"] == .string("SyncStateNotFound"))
    }

    @Test("faults reach contacts delta: a 5xx storm on the path, and deltaLinkGone on a contacts deltaLink")
    func faults() throws {
        let h = Self.harness()
        let token = try h.token()
        let first = try round(h, "/v1.0/contacts/delta", token: token)
        _ = h.control("POST", "faults", #"{"kind":"serverError","status":503,"pathPrefix":"/v1.0/contacts","count":3,"retryAfter":"1"}"#)
        for _ in 0..<3 {
            let response = h.get(first.deltaLink, token: token)
            #expect(response.status == 503 && response.header("Retry-After") == "1")
        }
        #expect(h.get("/v1.0/users/delta?$deltatoken=latest", token: token).status == 200)
        #expect(h.get(first.deltaLink, token: token).status == 200)
        _ = h.control("POST", "faults", #"{"kind":"deltaLinkGone"}"#)
        let gone = h.get(first.deltaLink, token: token)
        #expect(gone.status == 410 && gone.header("Location")?.contains("/v1.0/contacts/delta?") == true)
    }

    @Test("contacts need OrgContact.Read.All or Directory.Read.All: without either Graph answers 403 Authorization_RequestDenied")
    func permissions() throws {
        let h = Self.harness()
        _ = h.control("POST", "tenants/\(h.tenantId)/config", #"{"permissions":["User.Read.All","GroupMember.Read.All"]}"#)
        let denied = h.get("/v1.0/contacts/delta", token: try h.token())
        #expect(denied.status == 403)
        #expect(try JSONValue.parse(denied.body)["error"]?["code"] == .string("Authorization_RequestDenied"))
        #expect(h.get("/v1.0/users/delta?$deltatoken=latest", token: try h.token()).status == 200)
        _ = h.control("POST", "tenants/\(h.tenantId)/config", #"{"permissions":["OrgContact.Read.All"]}"#)
        #expect(h.get("/v1.0/contacts/delta", token: try h.token()).status == 200)
        _ = h.control("POST", "tenants/\(h.tenantId)/config", #"{"permissions":["Directory.Read.All"]}"#)
        #expect(h.get("/v1.0/contacts/delta", token: try h.token()).status == 200)
    }

    @Test("$count of contacts needs ConsistencyLevel: eventual and counts live contacts")
    func count() throws {
        let h = Self.harness()
        let token = try h.token()
        #expect(h.get("/v1.0/contacts/$count", token: token).status == 400)
        #expect(h.get("/v1.0/contacts/$count", token: token, headers: ["ConsistencyLevel": "eventual"]).text == "20")
        _ = try mutate(h, #"{"op":"deleteContact","id":"\#(h.simulator.tenant(0).contacts[0].id)"}"#)
        #expect(h.get("/v1.0/contacts/$count", token: token, headers: ["ConsistencyLevel": "eventual"]).text == "19")
    }
}
