import Foundation

/// Why a directory row is being marked deleted; stored in `deleted_reason`.
public enum DeletionReason: String, Sendable, Equatable, CaseIterable {
    /// Graph reported `@removed` with reason `changed`: the object sits in the tenant's deleted items.
    case softDeleted = "soft_deleted"
    /// Graph reported `@removed` with reason `deleted`: the object is gone for good.
    case hardDeleted = "hard_deleted"
    /// A completed full round did not contain the object (deleted while no delta state existed).
    case notInFullSync = "not_in_full_sync"

    public init(_ removal: RemovalReason) {
        switch removal {
        case .changed: self = .softDeleted
        case .deleted: self = .hardDeleted
        }
    }
}

/// An object a page reported as removed.
public struct ObjectRemoval: Sendable, Equatable, Hashable {
    public var id: UUID
    public var reason: DeletionReason

    public init(id: UUID, reason: DeletionReason) {
        self.id = id
        self.reason = reason
    }
}

/// One membership a page adds (or confirms, in a full round).
public struct MembershipAddition: Sendable, Equatable, Hashable {
    public var groupID: UUID
    public var memberID: UUID
    public var memberType: MemberType

    public init(groupID: UUID, memberID: UUID, memberType: MemberType) {
        self.groupID = groupID
        self.memberID = memberID
        self.memberType = memberType
    }
}

/// One membership a page ends.
public struct MembershipRemoval: Sendable, Equatable, Hashable {
    public var groupID: UUID
    public var memberID: UUID

    public init(groupID: UUID, memberID: UUID) {
        self.groupID = groupID
        self.memberID = memberID
    }
}

/// What one delta page asks the store to do, with duplicates within the page resolved.
///
/// The store applies a plan in one transaction: upserts (absent properties untouched), removals
/// staged for the round's end, membership removals, membership additions, and the page's cursor.
public struct PagePlan: Sendable, Equatable {
    /// The resource the objects belong to.
    public var resource: DirectoryResource
    /// Objects to insert or update, one per id, properties merged in page order (their
    /// `memberChanges` are moved to the membership lists).
    public var objects: [ObjectChange] = []
    /// Objects whose last report was `@removed`, one per id. An object may also be among the upserts
    /// (reported before its removal): its row is written, then its deletion staged.
    public var removals: [ObjectRemoval] = []
    public var membershipAdditions: [MembershipAddition] = []
    public var membershipRemovals: [MembershipRemoval] = []

    public init(resource: DirectoryResource) {
        self.resource = resource
    }

    /// Number of directory objects the page touched (upserted, removed, or both).
    public var objectCount: Int {
        guard !removals.isEmpty else { return objects.count }
        let upserted = Set(objects.map(\.id))
        return upserted.count + removals.count { !upserted.contains($0.id) }
    }

    /// Whether applying the plan would change nothing.
    public var isEmpty: Bool {
        objects.isEmpty && removals.isEmpty && membershipAdditions.isEmpty && membershipRemovals.isEmpty
    }
}
