import DirSyncCore
import DirSyncTestDoubles
import Foundation
import Testing

/// Properties the operator chooses (`DIRSYNC_USER_PROPERTIES`): validated before anything talks to
/// Graph, selected, decoded as JSON whatever their shape, and merged key by key.
@Suite("Operator-chosen properties: validation, decoding, the attributes patch")
struct OperatorPropertiesTests {
    static let setting = "DIRSYNC_USER_PROPERTIES"
    static let extensionName = "extension_0123456789abcdef0123456789ABCDEF_costCenter"

    private func parse(_ text: String, _ table: FieldTable = .users) throws(PropertySelection.Invalid) -> [String] {
        try PropertySelection.parse(text, for: table, setting: Self.setting).names
    }

    @Test("ordinary names, directory extensions and spaces around commas are accepted, in the order given; empty means none")
    func accepted() throws {
        #expect(try parse("") == [])
        #expect(try parse("preferredLanguage, onPremisesExtensionAttributes ,\(Self.extensionName)")
                == ["preferredLanguage", "onPremisesExtensionAttributes", Self.extensionName])
        #expect(try parse("visibility2", .groups) == ["visibility2"])
    }

    @Test("a malformed name, an empty item, a duplicate in any case, a contract column, id or members, too many, or contacts are refused with the fix",
          arguments: [
            ("employee hire date", "is not a Graph property name"),
            ("préférence", "is not a Graph property name"),
            ("extension_0123_costCenter", "is not a Graph property name"),
            ("1stProperty", "is not a Graph property name"),
            ("a,,b", "has an empty name"),
            ("preferredLanguage,", "has an empty name"),
            ("preferredLanguage,PreferredLanguage", "names 'preferredLanguage' twice"),
            ("department", "is already stored in directory.users.department"),
            ("MAIL", "is already stored in directory.users.mail"),
            ("manager", "is already stored in directory.users.manager_id"),
            ("id", "is always read"),
          ])
    func refused(text: String, message: String) {
        #expect {
            try parse(text)
        } throws: { error in
            let description = String(describing: error)
            return description.hasPrefix(Self.setting) && description.contains(message)
        }
    }

    @Test("more than the maximum is refused; contacts take none")
    func limits() {
        let many = (0...PropertySelection.maximumCount).map { "property\($0)" }.joined(separator: ",")
        #expect(throws: PropertySelection.Invalid.self) { try parse(many) }
        #expect(throws: PropertySelection.Invalid.self) { try parse("x", .contacts) }
        #expect(throws: Never.self) { try parse("", .contacts) }
    }

    @Test("a table with chosen properties selects them after the contract's and records them with the rest, sorted")
    func selection() {
        let table = FieldTable.users.selecting(attributes: ["preferredLanguage", Self.extensionName])
        #expect(table.select.hasSuffix(",manager,preferredLanguage,\(Self.extensionName)"))
        #expect(table.contractFields.count == FieldTable.users.fields.count && table.attributeFields.map(\.graphName) == ["preferredLanguage", Self.extensionName])
        #expect(table.selectedProperties == table.fields.map(\.graphName).sorted())
        #expect(table.selecting(attributes: []) == .users)
    }

    static let table = FieldTable.users.selecting(attributes: ["preferredLanguage", "onPremisesExtensionAttributes", "businessPhones", Self.extensionName])

    private func decode(_ entry: String) throws -> ObjectChange {
        let page = try DeltaPageDecoder.decode(Array(#"{"@odata.deltaLink":"https://g/d","value":[\#(entry)]}"#.utf8), table: Self.table)
        #expect(page.diagnostics.isEmpty || page.diagnostics.allSatisfy { $0.code == "nul-stripped" }, "\(page.diagnostics)")
        return try #require(page.objects.first)
    }

    private func attribute(_ object: ObjectChange, _ name: String) -> Patch<FieldValue> {
        object[Self.table.index(of: name)!]
    }

    @Test("any JSON value is kept as compact JSON; an explicit null is a null patch; a property not sent is absent")
    func decodesAnyShape() throws {
        let object = try decode("""
            {"id": "aaaaaaaa-0000-4000-8000-000000000001", "preferredLanguage": "de-CH",
             "onPremisesExtensionAttributes": {"extensionAttribute1": "A \\"quoted\\" value", "extensionAttribute2": null, "extensionAttribute3": 12.50},
             "businessPhones": [ "+41 44 000 00 00", "\\u00e9" ], "\(Self.extensionName)": null}
            """)
        #expect(attribute(object, "preferredLanguage") == .value(.json(#""de-CH""#)))
        #expect(attribute(object, "onPremisesExtensionAttributes")
                == .value(.json(#"{"extensionAttribute1":"A \"quoted\" value","extensionAttribute2":null,"extensionAttribute3":12.50}"#)))
        #expect(attribute(object, "businessPhones") == .value(.json(#"["+41 44 000 00 00","é"]"#)))
        #expect(attribute(object, Self.extensionName) == .null)
        #expect(object.attributesPatch(Self.table)
                == #"{"preferredLanguage":"de-CH","onPremisesExtensionAttributes":{"extensionAttribute1":"A \"quoted\" value","extensionAttribute2":null,"extensionAttribute3":12.50},"businessPhones":["+41 44 000 00 00","é"],"\#(Self.extensionName)":null}"#)
        let bare = try decode(#"{"id": "aaaaaaaa-0000-4000-8000-000000000002", "displayName": "x"}"#)
        #expect(attribute(bare, "preferredLanguage") == .absent && bare.attributesPatch(Self.table) == nil)
    }

    @Test("Graph's own spelling of a chosen name matches in any case; NUL characters and a tolerated trailing comma never reach the stored JSON")
    func spellingAndHostileText() throws {
        let object = try decode(#"{"id": "aaaaaaaa-0000-4000-8000-000000000003", "PreferredLanguage": "x\u0000y", "onPremisesExtensionAttributes": {"extensionAttribute1": "z",}}"#)
        #expect(attribute(object, "preferredLanguage") == .value(.json(#""xy""#)))
        #expect(attribute(object, "onPremisesExtensionAttributes") == .value(.json(#"{"extensionAttribute1":"z"}"#)))
    }
}
