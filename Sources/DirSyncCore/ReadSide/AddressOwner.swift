import Foundation

/// One live object that owns an email address, as `directory.resolve` answers.
public struct AddressOwner: Sendable, Equatable {
    /// A group the owner belongs to, directly or through nested groups.
    public struct Membership: Sendable, Equatable {
        public var id: UUID
        public var displayName: String?
        /// 1 for a direct membership, more through nested groups (the shortest chain).
        public var depth: Int

        public init(id: UUID, displayName: String?, depth: Int) {
            self.id = id
            self.displayName = displayName
            self.depth = depth
        }
    }

    public var tenantID: UUID
    public var objectID: UUID
    /// `user`, `group` or `contact`.
    public var objectType: String
    public var displayName: String?
    /// Users only.
    public var accountEnabled: Bool?
    /// Users only: `Member` or `Guest`.
    public var userType: String?
    /// Whether the address's domain is a verified domain of the owner's tenant.
    public var isInternal: Bool
    /// Every live group the owner belongs to, sorted by id.
    public var groups: [Membership]

    public init(tenantID: UUID, objectID: UUID, objectType: String, displayName: String?, accountEnabled: Bool?, userType: String?,
                isInternal: Bool, groups: [Membership]) {
        self.tenantID = tenantID
        self.objectID = objectID
        self.objectType = objectType
        self.displayName = displayName
        self.accountEnabled = accountEnabled
        self.userType = userType
        self.isInternal = isInternal
        self.groups = groups
    }

    /// How the owner reads to an operator: a member, a guest, a disabled account, a contact, a group.
    public var kind: String {
        switch objectType {
        case "user":
            let base = userType?.caseInsensitiveCompare("Guest") == .orderedSame ? "guest" : "member"
            return accountEnabled == false ? "\(base), disabled" : base
        case "contact": return "mail contact"
        default: return objectType
        }
    }
}
