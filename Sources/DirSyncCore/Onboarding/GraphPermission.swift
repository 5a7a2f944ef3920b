import Foundation

/// The Microsoft Graph application permissions (app roles) the dirsync app registration requests,
/// all read-only, and why each is needed.
///
/// The list is the single source of truth for `domains consent-url`, `domains check`, and the
/// Terraform kit's test (`jobs/terraform`).
public enum GraphPermission: String, Sendable, Equatable, Hashable, CaseIterable, Comparable {
    case userReadAll = "User.Read.All"
    case groupReadAll = "Group.Read.All"
    case groupMemberReadAll = "GroupMember.Read.All"
    case directoryReadAll = "Directory.Read.All"

    /// Microsoft Graph's application (client) id: the resource every permission belongs to.
    public static let graphApplicationID = "00000003-0000-0000-c000-000000000000"

    /// The permission's app-role id on Microsoft Graph (the GUID an app registration lists).
    public var appRoleID: String {
        switch self {
        case .userReadAll: "df021288-bdef-4463-88db-98f22de89214"
        case .groupReadAll: "5b567255-7703-4780-807c-7be8301ae99b"
        case .groupMemberReadAll: "98830695-27a2-44f7-8c18-0c3ebc9698f6"
        case .directoryReadAll: "7ab1d382-f21e-4acd-a863-ba3e13f7da61"
        }
    }

    /// Why dirsync needs it, in words an admin can weigh before granting consent.
    public var reason: String {
        switch self {
        case .userReadAll:
            "read every user's profile (users/delta) to fill directory.users"
        case .groupReadAll:
            "read every group's properties (groups/delta) to fill directory.groups"
        case .groupMemberReadAll:
            "read group memberships (members@delta) to fill directory.group_members"
        case .directoryReadAll:
            "read the tenant's domains (which are verified, which receive mail), its organisational contacts (contacts/delta) to fill directory.contacts, and members that are devices or service principals"
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
