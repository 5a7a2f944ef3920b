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

/// The delta resources dirsync follows, one per synced object type.
public enum DirectoryResource: String, Sendable, Equatable, Hashable, CaseIterable, Comparable {
    case users, groups
    /// Organisational contacts (`/contacts/delta`): mail contacts in the address book, and members of groups.
    case contacts

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The object type's singular name (`user`, `group`): how diagnostics and the change feed name it.
    public var objectName: String {
        switch self {
        case .users: "user"
        case .groups: "group"
        case .contacts: "contact"
        }
    }
}

/// Where a resource's round stands in this run, as `directory.sync_progress.phase` stores it.
public enum ProgressPhase: String, Sendable, Equatable, CaseIterable {
    /// Pages are being fetched and written.
    case fetch
    /// The last page was written; the round's deletions are being resolved.
    case sweep
    /// The round completed.
    case done
    /// A parallel first load takes its "sync from now" links.
    case tokens
    /// A parallel first load waits for replication before listing.
    case waiting
    /// A parallel first load lists the tenant (users, contacts, groups with their members).
    case listing
    /// A parallel first load checks it is complete and fills gaps.
    case verifying

    /// Whether the phase belongs to a parallel first load.
    public var isFirstLoad: Bool { [.tokens, .waiting, .listing, .verifying].contains(self) }
}
