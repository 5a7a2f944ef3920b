import DirSyncCore
import Foundation
import Testing

@Suite("access token roles")
struct AccessTokenRolesTests {
    private func jwt(_ claims: String) -> AccessToken {
        func b64(_ s: String) -> String {
            Data(s.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        }
        return AccessToken(value: "\(b64(#"{"alg":"RS256","typ":"JWT"}"#)).\(b64(claims)).c2ln", expiresOn: Date(timeIntervalSinceNow: 3600), issuedAt: Date())
    }

    @Test("roles come from the payload; no roles claim means none granted; opaque tokens give nil")
    func roles() {
        #expect(AccessTokenRoles.roles(in: jwt(#"{"tid":"t","roles":["User.Read.All","Group.Read.All"]}"#)) == ["User.Read.All", "Group.Read.All"])
        #expect(AccessTokenRoles.roles(in: jwt(#"{"tid":"t","idtyp":"app"}"#)) == [])
        #expect(AccessTokenRoles.roles(in: AccessToken(value: "opaque-token", expiresOn: Date(), issuedAt: Date())) == nil)
        #expect(AccessTokenRoles.roles(in: AccessToken(value: "a.!!!.c", expiresOn: Date(), issuedAt: Date())) == nil)
    }

    @Test("the permission list matches Microsoft Graph's app-role ids")
    func permissionIDs() {
        #expect(GraphPermission.allCases.map(\.rawValue) == ["User.Read.All", "Group.Read.All", "GroupMember.Read.All", "Directory.Read.All"])
        #expect(Set(GraphPermission.allCases.map(\.appRoleID)).count == 4)
        #expect(GraphPermission.groupMemberReadAll.appRoleID == "98830695-27a2-44f7-8c18-0c3ebc9698f6")
    }
}
