import Foundation

/// The properties a delta round returns and tracks, decided by `$select` on the round's first request.
public struct DeltaSelection: Sendable, Equatable {
    /// A bit per property ordinal that is returned; bits 32 and up are the tenant's directory extensions, by
    /// their index in ``Tenant/directoryExtensions``.
    public var returned: UInt64
    /// Whether `members@delta` is returned (groups only).
    public var members: Bool
    /// Whether `manager@delta` is returned (users only).
    public var manager: Bool
    /// Whether the request had no `$select`: every property is tracked, the default set is returned.
    public var isDefault: Bool

    /// Bits of properties whose changes make an object appear in a later round.
    public var tracked: UInt64 { isDefault ? .max : returned }

    /// Creates a selection.
    public init(returned: UInt64, members: Bool, manager: Bool = false, isDefault: Bool) {
        self.returned = returned
        self.members = members
        self.manager = manager
        self.isDefault = isDefault
    }

    /// Properties and relationships of users Graph knows but the simulator does not model: accepted in
    /// `$select`, never set.
    public static let unmodelledUserProperties: Set<String> = [
        "streetAddress", "postalCode", "state", "faxNumber", "ageGroup", "assignedLicenses", "assignedPlans",
        "consentProvidedForMinor", "employeeHireDate", "employeeLeaveDateTime", "employeeOrgData", "identities",
        "imAddresses", "isResourceAccount", "lastPasswordChangeDateTime", "legalAgeGroupClassification", "mailNickname",
        "onPremisesDistinguishedName", "onPremisesDomainName", "onPremisesLastSyncDateTime", "onPremisesProvisioningErrors",
        "onPremisesUserPrincipalName", "passwordPolicies", "provisionedPlans", "securityIdentifier", "showInAddressList",
        "signInSessionsValidFromDateTime", "externalUserStateChangeDateTime", "deletedDateTime",
    ]
    /// Group properties and relationships Graph knows but the simulator does not model.
    public static let unmodelledGroupProperties: Set<String> = [
        "securityIdentifier", "owners", "membershipRule", "renewedDateTime", "expirationDateTime",
        "isAssignableToRole", "onPremisesSamAccountName", "onPremisesSecurityIdentifier", "onPremisesLastSyncDateTime",
        "preferredDataLocation", "theme", "uniqueName", "membershipRuleProcessingState", "deletedDateTime",
        "onPremisesDomainName", "onPremisesNetBiosName", "resourceProvisioningOptions", "resourceBehaviorOptions",
        "preferredLanguage",
    ]
    /// Organisational contact properties and relationships Graph knows but the simulator does not model.
    public static let unmodelledContactProperties: Set<String> = [
        "addresses", "phones", "onPremisesLastSyncDateTime", "onPremisesProvisioningErrors", "onPremisesSyncEnabled",
        "serviceProvisioningErrors", "manager", "directReports", "memberOf", "transitiveMemberOf", "deletedDateTime",
    ]
    /// User properties stored outside the main directory store: selecting one answers 501 NotImplemented.
    public static let untrackedUserProperties: Set<String> = [
        "signInActivity", "cloudLicensing", "mailboxSettings", "deviceEnrollmentLimit", "print", "aboutMe",
        "birthday", "hireDate", "interests", "mySite", "pastProjects", "preferredName", "responsibilities",
        "schools", "skills", "licenseAssignmentStates",
    ]
    /// Group properties stored outside the main directory store: selecting one answers 501 NotImplemented.
    public static let untrackedGroupProperties: Set<String> = [
        "accessType", "allowExternalSenders", "autoSubscribeNewMembers", "cloudLicensing", "hideFromAddressLists",
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

    /// How strictly a `$select` is read.
    public enum Mode: Sendable {
        /// A delta query: a property kept outside the main store answers 501, an unknown one 400.
        case delta
        /// A plain read (`GET /users`, `/groups`, `/contacts`): a property kept outside the main store is accepted
        /// (graph-sim models none of them, so it is never returned); an unknown one answers 400.
        case read
        /// One type among several (`/members`, `getByIds`): names another type has are skipped; the caller checks that
        /// each name belongs to some type.
        case lenient
    }

    /// Parses a `$select` value (nil: no `$select`). Names match without regard to case, as Graph's do.
    /// - Parameters:
    ///   - extensions: The tenant's directory extensions (users only): each may be selected by name.
    ///   - mode: How strictly names are checked.
    public static func parse(_ select: String?, resource: Resource, extensions: [DirectoryExtension] = [],
                             mode: Mode = .delta) -> Result<DeltaSelection, Problem> {
        guard let select, !select.trimmingCharacters(in: .whitespaces).isEmpty else {
            switch resource {
            case .users: return .success(DeltaSelection(returned: mask(of: UserProperty.defaultSelection, in: .users), members: false, isDefault: true))
            case .groups:
                return .success(DeltaSelection(returned: (1 << UInt64(GroupProperty.names.count)) - 1, members: true, isDefault: true))
            case .contacts:
                return .success(DeltaSelection(returned: mask(of: ContactProperty.defaultSelection, in: .contacts), members: false, isDefault: true))
            }
        }
        var selection = DeltaSelection(returned: 0, members: false, isDefault: false)
        let unmodelled: Set<String>, untracked: Set<String>
        switch resource {
        case .users: (unmodelled, untracked) = (unmodelledUserProperties, untrackedUserProperties)
        case .groups: (unmodelled, untracked) = (unmodelledGroupProperties, untrackedGroupProperties)
        case .contacts: (unmodelled, untracked) = (unmodelledContactProperties, [])
        }
        let lowerUnmodelled = Set(unmodelled.map { $0.lowercased() }), lowerUntracked = Set(untracked.map { $0.lowercased() })
        let lowerNames = resource.properties.map { $0.lowercased() }
        for raw in select.split(separator: ",") {
            let name = raw.trimmingCharacters(in: .whitespaces)
            let lower = name.lowercased()
            if lower == "id" || lowerUnmodelled.contains(lower) { continue }
            if resource == .groups && lower == "members" { selection.members = true; continue }
            if resource == .users && lower == "manager" { selection.manager = true; continue }
            if let ordinal = lowerNames.firstIndex(of: lower) {
                selection.returned |= 1 << UInt64(ordinal)
            } else if resource == .users, let ext = extensions.firstIndex(where: { $0.name.lowercased() == lower }) {
                selection.returned |= Tenant.extensionBit(ext)
            } else if lowerUntracked.contains(lower) {
                if mode == .delta { return .failure(.untracked(name)) }
            } else if mode != .lenient {
                return .failure(.unknownProperty(name))
            }
        }
        return .success(selection)
    }

    /// Whether `name` is a property or relationship of `resource` that `$select` may name (modelled or not).
    public static func knows(_ name: String, resource: Resource, extensions: [DirectoryExtension] = []) -> Bool {
        let lower = name.lowercased()
        if lower == "id" || resource.properties.contains(where: { $0.lowercased() == lower }) { return true }
        switch resource {
        case .users:
            return lower == "manager" || extensions.contains { $0.name.lowercased() == lower }
                || unmodelledUserProperties.contains { $0.lowercased() == lower } || untrackedUserProperties.contains { $0.lowercased() == lower }
        case .groups:
            return lower == "members" || unmodelledGroupProperties.contains { $0.lowercased() == lower }
                || untrackedGroupProperties.contains { $0.lowercased() == lower }
        case .contacts:
            return unmodelledContactProperties.contains { $0.lowercased() == lower }
        }
    }

    private static func mask(of names: [String], in resource: Resource) -> UInt64 {
        var mask: UInt64 = 0
        for name in names { mask |= 1 << UInt64(resource.properties.firstIndex(of: name)!) }
        return mask
    }

    /// The `$select` text equivalent to this selection (nil for the default selection).
    public func selectText(resource: Resource, extensions: [DirectoryExtension] = []) -> String? {
        guard !isDefault else { return nil }
        var names = resource.properties.enumerated().filter { returned & (1 << UInt64($0.offset)) != 0 }.map(\.element)
        for (i, ext) in extensions.enumerated() where returned & Tenant.extensionBit(i) != 0 { names.append(ext.name) }
        if members { names.append("members") }
        if manager { names.append("manager") }
        return names.joined(separator: ",")
    }
}
