import Foundation

/// Why Graph reported an object or a membership as removed (`"@removed": {"reason": …}`).
public enum RemovalReason: String, Sendable, Equatable, CaseIterable {
    /// Soft delete: the object sits in the tenant's deleted items and can be restored.
    case changed
    /// Hard delete: the object is gone for good (or the membership ended).
    case deleted
}

/// The kind of directory object a group member is, from its `@odata.type`.
public enum MemberType: String, Sendable, Equatable, CaseIterable {
    case user, group, device, servicePrincipal, orgContact

    /// Maps an OData type such as `#microsoft.graph.servicePrincipal` to a member type.
    /// - Returns: `nil` for a type dirsync does not store.
    public init?(odataType: String) {
        let prefix = "#microsoft.graph."
        guard odataType.hasPrefix(prefix) else { return nil }
        self.init(rawValue: String(odataType.dropFirst(prefix.count)))
    }

    /// The OData type Graph uses for this member type.
    public var odataType: String { "#microsoft.graph.\(rawValue)" }
}

/// A user as one delta page reported it: every property is a ``Patch``.
public struct UserChange: Sendable, Equatable {
    public var id: UUID
    public var userPrincipalName: Patch<String> = .absent
    public var displayName: Patch<String> = .absent
    public var givenName: Patch<String> = .absent
    public var surname: Patch<String> = .absent
    public var mail: Patch<String> = .absent
    public var jobTitle: Patch<String> = .absent
    public var department: Patch<String> = .absent
    public var accountEnabled: Patch<Bool> = .absent
    public var userType: Patch<String> = .absent
    public var proxyAddresses: Patch<[String]> = .absent
    /// Set when the entry is `{"id": …, "@removed": {"reason": …}}`.
    public var removed: RemovalReason?

    public init(id: UUID) { self.id = id }
}

/// A group as one delta page reported it, with the slice of `members@delta` on that page.
public struct GroupChange: Sendable, Equatable {
    public var id: UUID
    public var displayName: Patch<String> = .absent
    public var description: Patch<String> = .absent
    public var mail: Patch<String> = .absent
    public var mailNickname: Patch<String> = .absent
    public var mailEnabled: Patch<Bool> = .absent
    public var securityEnabled: Patch<Bool> = .absent
    public var groupTypes: Patch<[String]> = .absent
    /// Set when the entry is `{"id": …, "@removed": {"reason": …}}`.
    public var removed: RemovalReason?
    /// The `members@delta` entries on this page; empty when the property was absent.
    public var memberChanges: [MemberChange] = []

    public init(id: UUID) { self.id = id }
}

/// One entry of a group's `members@delta`.
public struct MemberChange: Sendable, Equatable, Hashable {
    public var memberID: UUID
    public var memberType: MemberType
    /// `true` for an entry carrying `@removed`: the membership ended.
    public var removed: Bool

    public init(memberID: UUID, memberType: MemberType, removed: Bool) {
        self.memberID = memberID
        self.memberType = memberType
        self.removed = removed
    }
}

/// The two delta resources dirsync follows.
public enum DirectoryResource: String, Sendable, Equatable, Hashable, CaseIterable, Comparable {
    case users, groups

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}
