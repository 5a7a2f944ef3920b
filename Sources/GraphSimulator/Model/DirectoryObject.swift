/// The value of one property of a user, group or contact.
///
/// `unset` is a property that was never given a value: Graph leaves it out of delta responses entirely.
/// `null` is a property that had a value and was cleared: Graph writes it as an explicit `null`.
public enum PropertyValue: Sendable, Equatable {
    /// Never set: absent from Graph output, `null` in truth.
    case unset
    /// Set and then cleared (or created as null): explicit `null`.
    case null
    /// A string value.
    case string(String)
    /// A boolean value.
    case bool(Bool)
    /// A collection of strings (`proxyAddresses`, `groupTypes`, `otherMails`, `businessPhones`).
    case strings([String])
    /// An integer (directory extensions of type `Integer`).
    case int(Int)
    /// The complex `onPremisesExtensionAttributes` value.
    case attributes(ExtensionAttributes)
}

/// The JSON type of a modelled property.
public enum PropertyType: Sendable {
    /// A string (nullable).
    case string
    /// A boolean (nullable).
    case bool
    /// A collection of strings (never null in Graph output: cleared means empty).
    case strings
    /// An integer (nullable).
    case int
    /// `onPremisesExtensionAttributes`: an object of fifteen nullable strings.
    case attributes
}

/// Where an object is in its life: live, soft-deleted (restorable) or hard-deleted (gone).
public enum Lifecycle: UInt8, Sendable {
    /// Present in the directory.
    case live
    /// In deleted items; delta reports `@removed` with reason `changed`.
    case softDeleted
    /// Permanently deleted; delta reports `@removed` with reason `deleted`.
    case hardDeleted
}

/// One user, group or contact: id, property values by ordinal, lifecycle.
///
/// A generated user or group stores only the properties below its resource's ``Resource/storedCount``; the
/// rest follow from the tenant's seed and are derived when read (see ``Tenant/values(_:_:)``), so a large
/// tenant costs no more memory than the contract properties need. The first change to such an object
/// stores every value (`values.count` is then the resource's full property count).
public struct DirectoryObject: Sendable {
    /// Lower-case GUID.
    public var id: String
    /// Values indexed by the resource's property ordinal (possibly only the stored ones, see above).
    public var values: [PropertyValue]
    /// Live, soft-deleted or hard-deleted.
    public var lifecycle: Lifecycle

    /// Creates an object.
    public init(id: String, values: [PropertyValue], lifecycle: Lifecycle = .live) {
        self.id = id
        self.values = values
        self.lifecycle = lifecycle
    }
}

/// The kind of a group member, with its OData type.
public enum MemberKind: UInt32, Sendable, CaseIterable {
    /// A user.
    case user = 0
    /// A nested group.
    case group = 1
    /// A device.
    case device = 2
    /// A service principal.
    case servicePrincipal = 3
    /// An organisational contact.
    case orgContact = 4

    /// The contract name (`user`, `group`, `device`, `servicePrincipal`, `orgContact`).
    public var name: String {
        switch self {
        case .user: return "user"
        case .group: return "group"
        case .device: return "device"
        case .servicePrincipal: return "servicePrincipal"
        case .orgContact: return "orgContact"
        }
    }

    /// `#microsoft.graph.<name>`.
    public var odataType: String { "#microsoft.graph." + name }

    /// Parses a contract name or an `@odata.type` value.
    public init?(name: String) {
        let bare = name.hasPrefix("#microsoft.graph.") ? String(name.dropFirst(17)) : name
        guard let kind = MemberKind.allCases.first(where: { $0.name == bare }) else { return nil }
        self = kind
    }
}

/// A compact reference to any directory object of a tenant: kind in the top 3 bits, index below.
///
/// Group member lists are sorted arrays of these, which keeps 1M memberships at 4 MB and lets a member
/// page resume after "the last reference sent" however the list changed meanwhile.
public struct MemberRef: Sendable, Hashable, Comparable {
    /// The packed value.
    public var raw: UInt32

    /// Packs a kind and an index.
    public init(kind: MemberKind, index: Int) { raw = (kind.rawValue << 29) | UInt32(index) }
    /// Wraps a packed value.
    public init(raw: UInt32) { self.raw = raw }

    /// "No object": the manager of a user who has none. Its kind bits name no ``MemberKind``.
    public static let none = MemberRef(raw: UInt32.max)

    /// Whether this is ``none``.
    public var isNone: Bool { raw == UInt32.max }
    /// The kind of the referenced object.
    public var kind: MemberKind { MemberKind(rawValue: raw >> 29) ?? .user }
    /// The index within that kind's table.
    public var index: Int { Int(raw & 0x1FFF_FFFF) }

    /// Orders by packed value.
    public static func < (lhs: MemberRef, rhs: MemberRef) -> Bool { lhs.raw < rhs.raw }
}
