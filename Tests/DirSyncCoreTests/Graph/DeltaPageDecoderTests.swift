import DirSyncCore
import DirSyncTestDoubles
import Foundation
import Testing

@Suite("Delta page decoding")
struct DeltaPageDecoderTests {
    private func users(_ json: String) throws -> DeltaPage {
        try DeltaPageDecoder.decode(Fixture.bytes(json), table: .users)
    }

    private func groups(_ json: String) throws -> DeltaPage {
        try DeltaPageDecoder.decode(Fixture.bytes(json), table: .groups)
    }

    @Test("Graph's documented delta examples (a): initial page keeps the nextLink verbatim and reads @removed deleted")
    func initialPage() throws {
        let page = try users("""
        {
          "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users(displayName,givenName,surname)",
          "@odata.nextLink": "https://graph.microsoft.com/v1.0/users/delta?$skiptoken=oEBwdSP6uehIAxQOWq_3Ksh_TLol6KIm...",
          "value": [
            {"displayName": "Cameron White", "givenName": "Cameron", "surname": "White", "id": "ffff7b1a-13b6-477b-8c0c-380905cd99f7"},
            {"id": "86462606-fde0-4fc4-9e0c-a20eb73e54c6", "@removed": {"reason": "deleted"}}
          ]
        }
        """)
        #expect(page.continuation == .next("https://graph.microsoft.com/v1.0/users/delta?$skiptoken=oEBwdSP6uehIAxQOWq_3Ksh_TLol6KIm..."))
        #expect(!page.isLastPage)
        #expect(page.named.count == 2)
        let cameron = page.named[0]
        #expect(cameron.id == UUID(uuidString: "ffff7b1a-13b6-477b-8c0c-380905cd99f7"))
        #expect(cameron.displayName == .value("Cameron White"))
        #expect(cameron.givenName == .value("Cameron"))
        #expect(cameron.surname == .value("White"))
        #expect(cameron.mail == .absent)
        #expect(cameron.removed == nil)
        #expect(page.named[1].removed == .deleted)
        #expect(page.named[1].displayName == .absent)
        #expect(page.diagnostics.isEmpty)
    }

    @Test("Graph's documented delta examples (b): last page carries the deltaLink; empty value is fine")
    func lastPage() throws {
        let page = try users("""
        {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users",
         "@odata.deltaLink": "https://graph.microsoft.com/v1.0/users/delta?$deltatoken=oEcOySpF_hWYmTIUZBOIfPzcwisr_rPe8o9M...",
         "value": [{"displayName": "Lidia Holloway", "givenName": "Lidia", "surname": "Holloway", "id": "25dcffff-959e-4ece-9973-e5d9b800e8cc"}]}
        """)
        #expect(page.continuation == .delta("https://graph.microsoft.com/v1.0/users/delta?$deltatoken=oEcOySpF_hWYmTIUZBOIfPzcwisr_rPe8o9M..."))
        #expect(page.isLastPage)
        #expect(page.named.map(\.displayName) == [.value("Lidia Holloway")])

        let empty = try users(#"{"@odata.deltaLink":"https://graph.microsoft.com/v1.0/users/delta?$deltatoken=x","value":[]}"#)
        #expect(empty.named.isEmpty)
        #expect(empty.isLastPage)
    }

    @Test("Graph's documented delta examples (c): a soft delete reads as @removed reason changed")
    func softDelete() throws {
        let page = try users("""
        {"@odata.deltaLink": "https://graph.microsoft.com/v1.0/users/delta?$deltatoken=MF1",
         "value": [
           {"displayName": "MOD Administrator", "givenName": "MOD", "surname": "Administrator", "id": "25dcffff-959e-4ece-9973-e5d9b800e8cc"},
           {"id": "8ffff70c-1c63-4860-b963-e34ec660931d", "@removed": {"reason": "changed"}}]}
        """)
        #expect(page.named.map(\.removed) == [nil, .changed])
    }

    @Test("Graph's documented delta examples (d): members@delta adds and removes with their member types; a bad member id is a diagnostic")
    func groupMembers() throws {
        let page = try groups("""
        {"@odata.deltaLink": "https://graph.microsoft.com/v1.0/groups/delta?$deltatoken=sZw",
         "value": [{
           "displayName": "TestGroup3", "description": "A test group for change tracking",
           "id": "2e5807ce-58f3-4a94-9b37-ffff2e085957",
           "members@delta": [
             {"@odata.type": "#microsoft.graph.user", "id": "632f6bb2-3ec8-4c1f-9073-0027a8c6859", "@removed": {"reason": "deleted"}},
             {"@odata.type": "#microsoft.graph.user", "id": "37de1ae3-408f-4702-8636-20824abda004"},
             {"@odata.type": "#microsoft.graph.group", "id": "47de1ae3-408f-4702-8636-20824abda004", "@removed": {"reason": "deleted"}}
           ]}]}
        """)
        let group = try #require(page.named.first)
        #expect(group.displayName == .value("TestGroup3"))
        #expect(group.description == .value("A test group for change tracking"))
        // The documented sample's first member id has only 11 digits in its last block: not a GUID.
        #expect(group.memberChanges == [
            MemberChange(memberID: UUID(uuidString: "37de1ae3-408f-4702-8636-20824abda004")!, memberType: .user, removed: false),
            MemberChange(memberID: UUID(uuidString: "47de1ae3-408f-4702-8636-20824abda004")!, memberType: .group, removed: true),
        ])
        #expect(page.diagnostics.map(\.code) == ["invalid-member-id"])
        #expect(page.diagnostics[0].message.contains("632f6bb2-3ec8-4c1f-9073-0027a8c6859"))
    }

    @Test("Graph's documented delta examples (e): with return=minimal an absent property stays absent and an explicit null is null")
    func absentVersusNull() throws {
        let page = try users("""
        {"@odata.deltaLink":"https://graph.microsoft.com/v1.0/users/delta?$deltatoken=e",
         "value": [{"id":"25dcffff-959e-4ece-9973-e5d9b800e8cc","displayName": "displayName-value", "jobTitle": null}]}
        """)
        let user = try #require(page.named.first)
        #expect(user.displayName == .value("displayName-value"))
        #expect(user.jobTitle == .null)
        #expect(user.mail == .absent)
        #expect(user.accountEnabled == .absent)
        #expect(user.proxyAddresses == .absent)
    }

    @Test("every user property decodes into its Patch, booleans and arrays included")
    func allUserProperties() throws {
        let page = try users("""
        {"@odata.nextLink":"https://graph.microsoft.com/v1.0/users/delta?$skiptoken=n","value":[{
          "id":"25dcffff-959e-4ece-9973-e5d9b800e8cc","userPrincipalName":"a@contoso.com","displayName":"A","givenName":null,
          "surname":"S","mail":"a@contoso.com","jobTitle":"J","department":"D","accountEnabled":false,"userType":"Member",
          "proxyAddresses":["SMTP:a@contoso.com","smtp:alias@contoso.com"]}]}
        """)
        let user = try #require(page.named.first)
        #expect(user.userPrincipalName == .value("a@contoso.com"))
        #expect(user.givenName == .null)
        #expect(user.department == .value("D"))
        #expect(user.accountEnabled == .value(false))
        #expect(user.userType == .value("Member"))
        #expect(user.proxyAddresses == .value(["SMTP:a@contoso.com", "smtp:alias@contoso.com"]))
        #expect(page.diagnostics.isEmpty)
    }

    @Test("a wrong JSON type skips that object with a diagnostic; the number 1 is not a boolean")
    func wrongTypes() throws {
        let page = try users("""
        {"@odata.nextLink":"https://graph.microsoft.com/v1.0/users/delta?$skiptoken=n","value":[
          {"id":"00000000-0000-0000-0000-000000000001","accountEnabled":1},
          {"id":"00000000-0000-0000-0000-000000000002","displayName":42},
          {"id":"00000000-0000-0000-0000-000000000003","proxyAddresses":["ok", 7]},
          {"id":"00000000-0000-0000-0000-000000000004","accountEnabled":true},
          "not an object"
        ]}
        """)
        #expect(page.named.map(\.id) == [UUID(uuidString: "00000000-0000-0000-0000-000000000004")!])
        #expect(page.named.first?.accountEnabled == .value(true))
        #expect(page.diagnostics.map(\.code) == ["malformed-object", "malformed-object", "malformed-object", "malformed-object"])
        #expect(page.diagnostics[0].message.contains("accountEnabled"))
        #expect(page.diagnostics[1].message.contains("displayName"))
    }

    @Test("a missing or non-GUID object id skips the object with a diagnostic")
    func invalidIDs() throws {
        let page = try groups("""
        {"@odata.deltaLink":"https://graph.microsoft.com/v1.0/groups/delta?$deltatoken=d","value":[
          {"displayName":"no id"}, {"id":"not-a-guid","displayName":"x"}, {"id":17},
          {"id":"2e5807ce-58f3-4a94-9b37-ffff2e085957","securityEnabled":true,"mailEnabled":false,"groupTypes":["Unified"],"mail":null,"mailNickname":"n"}
        ]}
        """)
        #expect(page.named.count == 1)
        #expect(page.diagnostics.map(\.code) == ["missing-id", "invalid-id", "invalid-id"])
        let group = page.named[0]
        #expect(group.securityEnabled == .value(true))
        #expect(group.mailEnabled == .value(false))
        #expect(group.groupTypes == .value(["Unified"]))
        #expect(group.mail == .null)
        #expect(group.mailNickname == .value("n"))
        #expect(group.memberChanges.isEmpty)
    }

    @Test("unknown member types and missing @odata.type are diagnostics; other members are kept")
    func unknownMemberTypes() throws {
        let page = try groups("""
        {"@odata.deltaLink":"https://graph.microsoft.com/v1.0/groups/delta?$deltatoken=d","value":[{"id":"2e5807ce-58f3-4a94-9b37-ffff2e085957",
          "members@delta":[
            {"@odata.type":"#microsoft.graph.application","id":"37de1ae3-408f-4702-8636-20824abda004"},
            {"id":"37de1ae3-408f-4702-8636-20824abda005"},
            {"@odata.type":"#microsoft.graph.servicePrincipal","id":"37de1ae3-408f-4702-8636-20824abda006"},
            {"@odata.type":"#microsoft.graph.orgContact","id":"37de1ae3-408f-4702-8636-20824abda007"},
            {"@odata.type":"#microsoft.graph.device","id":"37de1ae3-408f-4702-8636-20824abda008","@removed":{"reason":"deleted"}}
          ]}]}
        """)
        let group = try #require(page.named.first)
        #expect(group.memberChanges.map(\.memberType) == [.servicePrincipal, .orgContact, .device])
        #expect(group.memberChanges.map(\.removed) == [false, false, true])
        #expect(page.diagnostics.map(\.code) == ["unknown-member-type", "unknown-member-type"])
    }

    @Test("a group split over two pages yields the same id on both, each with its slice of members")
    func groupSplitAcrossPages() throws {
        let first = try groups("""
        {"@odata.nextLink":"https://graph.microsoft.com/v1.0/groups/delta?$skiptoken=p2","value":[{"id":"2e5807ce-58f3-4a94-9b37-ffff2e085957",
          "displayName":"Big","members@delta":[{"@odata.type":"#microsoft.graph.user","id":"37de1ae3-408f-4702-8636-20824abda001"}]}]}
        """)
        let second = try groups("""
        {"@odata.deltaLink":"https://graph.microsoft.com/v1.0/groups/delta?$deltatoken=d","value":[{"id":"2e5807ce-58f3-4a94-9b37-ffff2e085957",
          "members@delta":[{"@odata.type":"#microsoft.graph.user","id":"37de1ae3-408f-4702-8636-20824abda002"}]}]}
        """)
        #expect(first.objects[0].id == second.objects[0].id)
        #expect(first.named[0].displayName == .value("Big"))
        #expect(second.named[0].displayName == .absent)
        #expect(first.objects[0].memberChanges.map(\.memberID.uuidString) == ["37DE1AE3-408F-4702-8636-20824ABDA001"])
        #expect(second.objects[0].memberChanges.map(\.memberID.uuidString) == ["37DE1AE3-408F-4702-8636-20824ABDA002"])
    }

    @Test("an unknown @removed reason is read as a hard delete")
    func unknownRemovalReason() throws {
        let page = try users(#"{"@odata.deltaLink":"https://g/x","value":[{"id":"25dcffff-959e-4ece-9973-e5d9b800e8cc","@removed":{"reason":"purged"}}]}"#)
        #expect(page.named.first?.removed == .deleted)
    }

    @Test("malformed pages throw: not JSON, truncated, no value, both links, neither link", arguments: [
        "<html>503</html>",
        #"{"@odata.nextLink":"https://graph.microsoft.com/v1.0/users/delta?$skiptoken=a","value":[{"id":"25dcffff-959e"#,
        #"{"@odata.deltaLink":"https://graph.microsoft.com/x"}"#,
        #"{"@odata.nextLink":"https://graph.microsoft.com/a","@odata.deltaLink":"https://graph.microsoft.com/b","value":[]}"#,
        #"{"value":[]}"#,
        #"{"@odata.nextLink":null,"value":[]}"#,
        #"{"@odata.nextLink":"","value":[]}"#,
        #"[1,2]"#,
    ])
    func malformed(json: String) {
        #expect(throws: MalformedPageError.self) { try users(json) }
    }
}
