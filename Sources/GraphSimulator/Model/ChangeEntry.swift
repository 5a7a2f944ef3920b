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
    /// A user's manager was set, changed or removed; `member` holds the manager it had before
    /// (``MemberRef/none`` when it had none).
    case managerChanged
}

/// One entry of a per-resource change log. The log position of an entry is its array index + 1.
///
/// Kind and object index share one 32-bit word (8 and 24 bits), so an entry with a 64-bit property mask
/// still takes 16 bytes.
public struct ChangeEntry: Sendable {
    /// Kind in the top 8 bits, object index below.
    private var packed: UInt32
    /// For membership entries, the member; for `managerChanged`, the previous manager; otherwise unused.
    public var member: MemberRef
    /// For `updated`, a bit per property ordinal that changed (directory extensions from bit 32 on).
    public var mask: UInt64

    /// The largest object index an entry can name.
    public static let maxObject = (1 << 24) - 1

    /// Creates an entry.
    public init(kind: ChangeKind, object: Int, member: MemberRef = MemberRef(raw: 0), mask: UInt64 = 0) {
        precondition(object >= 0 && object <= Self.maxObject, "object index out of range for a change entry")
        packed = UInt32(kind.rawValue) << 24 | UInt32(object)
        self.member = member
        self.mask = mask
    }

    /// What happened.
    public var kind: ChangeKind { ChangeKind(rawValue: UInt8(packed >> 24)) ?? .updated }
    /// Index of the user, group or contact in its table.
    public var object: Int32 { Int32(packed & 0x00FF_FFFF) }
}
