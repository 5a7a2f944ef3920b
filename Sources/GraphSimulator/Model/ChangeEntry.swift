/// What happened to an object at one position of a tenant's change log.
public enum ChangeKind: UInt8, Sendable {
    /// Object created (delta sends it whole).
    case created
    /// Properties changed (`mask` says which).
    case updated
    /// Moved to deleted items.
    case softDeleted
    /// Permanently deleted.
    case hardDeleted
    /// Restored from deleted items (delta sends it whole).
    case restored
    /// Group gained `member`.
    case memberAdded
    /// Group lost `member`.
    case memberRemoved
}

/// One entry of a per-resource change log. The log position of an entry is its array index + 1.
public struct ChangeEntry: Sendable {
    /// What happened.
    public var kind: ChangeKind
    /// Index of the user or group in its table.
    public var object: Int32
    /// For membership entries, the member; otherwise unused.
    public var member: MemberRef
    /// For `updated`, a bit per property ordinal that changed.
    public var mask: UInt32

    /// Creates an entry.
    public init(kind: ChangeKind, object: Int, member: MemberRef = MemberRef(raw: 0), mask: UInt32 = 0) {
        self.kind = kind
        self.object = Int32(object)
        self.member = member
        self.mask = mask
    }
}
