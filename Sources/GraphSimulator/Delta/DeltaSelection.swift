import Foundation

/// The properties a delta round returns and tracks, decided by `$select` on the round's first request.
public struct DeltaSelection: Sendable, Equatable {
    /// A bit per property ordinal that is returned.
    public var returned: UInt32
    /// Whether `members@delta` is returned (groups only).
    public var members: Bool
    /// Whether the request had no `$select`: every property is tracked, the default set is returned.
    public var isDefault: Bool

    /// Bits of properties whose changes make an object appear in a later round.
    public var tracked: UInt32 { isDefault ? 0xFFFF : returned }

    /// Creates a selection.
    public init(returned: UInt32, members: Bool, isDefault: Bool) {
        self.returned = returned
        self.members = members
        self.isDefault = isDefault
    }

    /// Properties of users Graph knows but the simulator does not model: accepted in `$select`, never set.
    public static let unmodelledUserProperties: Set<String> = [
        "businessPhones", "mobilePhone", "officeLocation", "preferredLanguage", "employeeId", "companyName",
        "createdDateTime", "onPremisesImmutableId", "onPremisesSyncEnabled", "usageLocation", "otherMails",
        "manager", "city", "country", "streetAddress", "postalCode", "state", "faxNumber", "employeeType",
    ]
    /// Group properties Graph knows but the simulator does not model.
    public static let unmodelledGroupProperties: Set<String> = [
        "createdDateTime", "visibility", "classification", "onPremisesSyncEnabled", "securityIdentifier",
        "proxyAddresses", "owners", "membershipRule", "renewedDateTime", "expirationDateTime", "isAssignableToRole",
    ]
    /// Properties stored outside the main directory store: selecting one answers 501 NotImplemented.
    public static let untrackedProperties: Set<String> = [
        "signInActivity", "cloudLicensing", "mailboxSettings", "deviceEnrollmentLimit", "print", "aboutMe",
        "birthday", "hireDate", "interests", "mySite", "pastProjects", "preferredName", "responsibilities",
        "schools", "skills", "accessType", "allowExternalSenders", "autoSubscribeNewMembers", "hideFromAddressLists",
        "hideFromOutlookClients", "isFavorite", "isSubscribedByMail", "unseenConversationsCount", "unseenCount",
        "unseenMessagesCount", "membershipRuleProcessingStatus", "isArchived",
    ]

    /// Why a `$select` cannot be served.
    public enum Problem: Error, Sendable, Equatable {
        /// Not a property of the type (400).
        case unknownProperty(String)
        /// A property delta cannot track (501).
        case untracked(String)
    }

    /// Parses a `$select` value (nil: no `$select`).
    public static func parse(_ select: String?, resource: Resource) -> Result<DeltaSelection, Problem> {
        guard let select, !select.trimmingCharacters(in: .whitespaces).isEmpty else {
            switch resource {
            case .users:
                var mask: UInt32 = 0
                for name in UserProperty.defaultSelection {
                    mask |= 1 << UInt32(UserProperty.names.firstIndex(of: name)!)
                }
                return .success(DeltaSelection(returned: mask, members: false, isDefault: true))
            case .groups:
                return .success(DeltaSelection(returned: (1 << UInt32(GroupProperty.names.count)) - 1, members: true, isDefault: true))
            }
        }
        var mask: UInt32 = 0
        var members = false
        let unmodelled = resource == .users ? unmodelledUserProperties : unmodelledGroupProperties
        for raw in select.split(separator: ",") {
            let name = raw.trimmingCharacters(in: .whitespaces)
            if name == "id" || unmodelled.contains(name) { continue }
            if resource == .groups && name == "members" { members = true; continue }
            if let ordinal = resource.properties.firstIndex(of: name) {
                mask |= 1 << UInt32(ordinal)
            } else if untrackedProperties.contains(name) {
                return .failure(.untracked(name))
            } else {
                return .failure(.unknownProperty(name))
            }
        }
        return .success(DeltaSelection(returned: mask, members: members, isDefault: false))
    }

    /// The `$select` text equivalent to this selection (nil for the default selection).
    public func selectText(resource: Resource) -> String? {
        guard !isDefault else { return nil }
        var names = resource.properties.enumerated().filter { returned & (1 << UInt32($0.offset)) != 0 }.map(\.element)
        if members { names.append("members") }
        return names.joined(separator: ",")
    }
}
