/// The delta-tracked resources.
public enum Resource: UInt8, Sendable, CaseIterable {
    /// `/users/delta`.
    case users
    /// `/groups/delta`.
    case groups
    /// `/contacts/delta` (organisational contacts).
    case contacts

    /// The path segment and entity-set name.
    public var name: String {
        switch self {
        case .users: return "users"
        case .groups: return "groups"
        case .contacts: return "contacts"
        }
    }

    /// The modelled properties, in output order (`id` is written last, like Graph's samples).
    public var properties: [String] {
        switch self {
        case .users: return UserProperty.names
        case .groups: return GroupProperty.names
        case .contacts: return ContactProperty.names
        }
    }

    /// The JSON type of each modelled property.
    public var types: [PropertyType] {
        switch self {
        case .users: return UserProperty.types
        case .groups: return GroupProperty.types
        case .contacts: return ContactProperty.types
        }
    }

    /// Properties every object stores; a generated object derives the ones from here on from the seed.
    public var storedCount: Int {
        switch self {
        case .users: return UserProperty.storedCount
        case .groups: return GroupProperty.storedCount
        case .contacts: return ContactProperty.names.count
        }
    }

    /// The OData type name of one object.
    public var odataType: String {
        switch self {
        case .users: return "microsoft.graph.user"
        case .groups: return "microsoft.graph.group"
        case .contacts: return "microsoft.graph.orgContact"
        }
    }

    /// The directory's own type name, which Graph quotes when `$select` names a property it does not know.
    ///
    /// graph-sim's choice for contacts: Graph's documentation shows no such error for organisational contacts;
    /// `Microsoft.DirectoryServices.OrgContact` follows the pattern of the user and group type names.
    public var directoryType: String {
        switch self {
        case .users: return "Microsoft.DirectoryServices.User"
        case .groups: return "Microsoft.DirectoryServices.Group"
        case .contacts: return "Microsoft.DirectoryServices.OrgContact"
        }
    }

    /// The kind these objects have as group members.
    public var memberKind: MemberKind {
        switch self {
        case .users: return .user
        case .groups: return .group
        case .contacts: return .orgContact
        }
    }
}

/// Ordinals of the modelled user properties.
///
/// The first ten are the dirsync contract; the rest are properties the product may store or an operator may
/// choose to add. A generated user stores the first ``storedCount`` and derives the rest from the seed.
public enum UserProperty {
    /// Property names, in ordinal order.
    public static let names = [
        "userPrincipalName", "displayName", "givenName", "surname", "mail", "jobTitle", "department", "accountEnabled",
        "userType", "proxyAddresses",
        "employeeId", "employeeType", "companyName", "officeLocation", "otherMails", "createdDateTime", "creationType",
        "externalUserState", "onPremisesSyncEnabled", "onPremisesImmutableId", "onPremisesSamAccountName",
        "onPremisesSecurityIdentifier", "preferredLanguage", "mobilePhone", "businessPhones", "usageLocation", "city",
        "country", "onPremisesExtensionAttributes",
    ]
    /// Property types, in ordinal order.
    public static let types: [PropertyType] = [
        .string, .string, .string, .string, .string, .string, .string, .bool, .string, .strings,
        .string, .string, .string, .string, .strings, .string, .string, .string, .bool, .string, .string, .string,
        .string, .string, .strings, .string, .string, .string, .attributes,
    ]
    /// Properties stored for every user (the contract); the others of a generated user come from the seed.
    public static let storedCount = 10
    /// Properties returned by `/users/delta` when the request has no `$select` (Graph's documented default set).
    public static let defaultSelection = ["businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
                                          "officeLocation", "preferredLanguage", "surname", "userPrincipalName"]

    static let userPrincipalName = 0, displayName = 1, givenName = 2, surname = 3, mail = 4, jobTitle = 5, department = 6
    static let accountEnabled = 7, userType = 8, proxyAddresses = 9, employeeId = 10, employeeType = 11, companyName = 12
    static let officeLocation = 13, otherMails = 14, createdDateTime = 15, creationType = 16, externalUserState = 17
    static let onPremisesSyncEnabled = 18, onPremisesImmutableId = 19, onPremisesSamAccountName = 20
    static let onPremisesSecurityIdentifier = 21, preferredLanguage = 22, mobilePhone = 23, businessPhones = 24
    static let usageLocation = 25, city = 26, country = 27, onPremisesExtensionAttributes = 28
}

/// Ordinals of the modelled group properties (the first seven are the dirsync contract; `classification`
/// is one an operator may choose to add).
public enum GroupProperty {
    /// Property names, in ordinal order.
    public static let names = ["displayName", "description", "mail", "mailNickname", "mailEnabled", "securityEnabled",
                               "groupTypes", "visibility", "createdDateTime", "onPremisesSyncEnabled", "proxyAddresses",
                               "classification"]
    /// Property types, in ordinal order.
    public static let types: [PropertyType] = [.string, .string, .string, .string, .bool, .bool, .strings,
                                               .string, .string, .bool, .strings, .string]
    /// Properties stored for every group; the others of a generated group come from the seed.
    public static let storedCount = 7

    static let displayName = 0, description = 1, mail = 2, mailNickname = 3, mailEnabled = 4, securityEnabled = 5
    static let groupTypes = 6, visibility = 7, createdDateTime = 8, onPremisesSyncEnabled = 9, proxyAddresses = 10
    static let classification = 11
}

/// Ordinals of the modelled organisational contact properties.
public enum ContactProperty {
    /// Property names, in ordinal order.
    public static let names = ["displayName", "givenName", "surname", "mail", "mailNickname", "proxyAddresses",
                               "companyName", "jobTitle", "department"]
    /// Property types, in ordinal order.
    public static let types: [PropertyType] = [.string, .string, .string, .string, .string, .strings, .string, .string, .string]
    /// Properties returned by `/contacts/delta` without `$select` (Graph's documented example).
    public static let defaultSelection = ["companyName", "department", "displayName", "givenName", "jobTitle", "mail",
                                          "mailNickname", "surname"]

    static let displayName = 0, givenName = 1, surname = 2, mail = 3, mailNickname = 4, proxyAddresses = 5
    static let companyName = 6, jobTitle = 7, department = 8
}
