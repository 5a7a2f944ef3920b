/// The value of one property of a user or group.
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
    /// A collection of strings (`proxyAddresses`, `groupTypes`).
    case strings([String])
}

/// The JSON type of a modelled property.
public enum PropertyType: Sendable {
    /// A string (nullable).
    case string
    /// A boolean (nullable).
    case bool
    /// A collection of strings.
    case strings
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

/// The two delta-tracked resources.
public enum Resource: UInt8, Sendable {
    /// `/users/delta`.
    case users
    /// `/groups/delta`.
    case groups

    /// The path segment and entity-set name.
    public var name: String { self == .users ? "users" : "groups" }

    /// The modelled properties, in output order (`id` is written last, like Graph's samples).
    public var properties: [String] {
        switch self {
        case .users: return UserProperty.names
        case .groups: return GroupProperty.names
        }
    }

    /// The JSON type of each modelled property.
    public var types: [PropertyType] {
        switch self {
        case .users: return UserProperty.types
        case .groups: return GroupProperty.types
        }
    }

    /// The OData type name of one object.
    public var odataType: String { self == .users ? "microsoft.graph.user" : "microsoft.graph.group" }
}

/// Ordinals of the modelled user properties (the dirsync contract).
public enum UserProperty {
    /// Property names, in ordinal order.
    public static let names = ["userPrincipalName", "displayName", "givenName", "surname", "mail", "jobTitle",
                               "department", "accountEnabled", "userType", "proxyAddresses"]
    /// Property types, in ordinal order.
    public static let types: [PropertyType] = [.string, .string, .string, .string, .string, .string,
                                               .string, .bool, .string, .strings]
    /// Properties returned by `/users/delta` when the request has no `$select` (Graph's documented default set,
    /// restricted to modelled properties).
    public static let defaultSelection = ["displayName", "givenName", "jobTitle", "mail", "surname", "userPrincipalName"]
}

/// Ordinals of the modelled group properties (the dirsync contract).
public enum GroupProperty {
    /// Property names, in ordinal order.
    public static let names = ["displayName", "description", "mail", "mailNickname", "mailEnabled",
                               "securityEnabled", "groupTypes"]
    /// Property types, in ordinal order.
    public static let types: [PropertyType] = [.string, .string, .string, .string, .bool, .bool, .strings]
}

/// One user or group: id, property values by ordinal, lifecycle.
public struct DirectoryObject: Sendable {
    /// Lower-case GUID.
    public var id: String
    /// Values indexed by the resource's property ordinal.
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

    /// The kind of the referenced object.
    public var kind: MemberKind { MemberKind(rawValue: raw >> 29) ?? .user }
    /// The index within that kind's table.
    public var index: Int { Int(raw & 0x1FFF_FFFF) }

    /// Orders by packed value.
    public static func < (lhs: MemberRef, rhs: MemberRef) -> Bool { lhs.raw < rhs.raw }
}
