import DirSyncCore
import Testing

@Suite("Patch merge semantics")
struct PatchTests {
    @Test("an absent property leaves the current value untouched")
    func absentKeepsValue() {
        #expect(Patch<String>.absent.applied(to: "old") == "old")
        #expect(Patch<String>.absent.applied(to: nil) == nil)
        #expect(!Patch<String>.absent.isPresent)
    }

    @Test("an explicit null clears the value")
    func nullClears() {
        #expect(Patch<String>.null.applied(to: "old") == nil)
        #expect(Patch<String>.null.isPresent)
    }

    @Test("a value replaces the current value")
    func valueReplaces() {
        #expect(Patch.value("new").applied(to: "old") == "new")
        #expect(Patch.value([String]()).applied(to: ["a"]) == [])
    }

    @Test("member types map from and to their OData type names")
    func memberTypes() {
        for type in MemberType.allCases {
            #expect(MemberType(odataType: type.odataType) == type)
        }
        #expect(MemberType(odataType: "#microsoft.graph.application") == nil)
        #expect(MemberType(odataType: "user") == nil)
    }
}
