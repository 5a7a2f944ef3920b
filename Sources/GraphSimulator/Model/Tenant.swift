/// A domain registered in a tenant.
public struct TenantDomain: Sendable {
    /// Fully qualified, lower-case name.
    public var name: String
    /// Whether ownership has been verified.
    public var isVerified: Bool
    /// Whether this is the `*.onmicrosoft.com` initial domain.
    public var isInitial: Bool
    /// Whether this is the tenant's default domain.
    public var isDefault: Bool
    /// The services the domain is set up for (`Email`, `OfficeCommunicationsOnline`, `Intune`, …).
    public var supportedServices: [String]
    /// `Managed` or `Federated`.
    public var authenticationType: String

    /// Creates a domain.
    /// - Parameter supportedServices: nil gives what a tenant usually has: the default domain `Email` and
    ///   `OfficeCommunicationsOnline`, any other verified domain `Email`, an unverified domain nothing.
    public init(name: String, isVerified: Bool, isInitial: Bool = false, isDefault: Bool = false,
                supportedServices: [String]? = nil, authenticationType: String = "Managed") {
        self.name = name.lowercased()
        self.isVerified = isVerified
        self.isInitial = isInitial
        self.isDefault = isDefault
        self.supportedServices = supportedServices
            ?? (!isVerified ? [] : isDefault ? ["Email", "OfficeCommunicationsOnline"] : ["Email"])
        self.authenticationType = authenticationType
    }
}

/// A federated identity credential of an app registration.
public struct FederatedCredential: Sendable, Equatable {
    /// Exact issuer of the external token.
    public var issuer: String
    /// Exact subject of the external token.
    public var subject: String
    /// The single accepted audience (normally `api://AzureADTokenExchange`).
    public var audience: String

    /// Creates a federated credential.
    public init(issuer: String, subject: String, audience: String = "api://AzureADTokenExchange") {
        self.issuer = issuer
        self.subject = subject
        self.audience = audience
    }
}

/// Whether an app can obtain tokens in a tenant at all.
public enum AppState: String, Sendable, CaseIterable {
    /// Installed and enabled.
    case enabled
    /// Its service principal is disabled: token requests fail with AADSTS7000112.
    case disabled
    /// Deleted from the tenant (its service principal is gone): token requests fail with AADSTS700016, as for
    /// an app that was never installed. Admin consent installs it again.
    case deleted
}

/// The state of one kind of app credential (the client secrets, or the certificates).
public enum CredentialState: String, Sendable, CaseIterable {
    /// Registered and within its validity.
    case valid
    /// Registered but past its end date: a secret fails with AADSTS7000222, a certificate with AADSTS700027
    /// "[Reason - The key used is expired.]".
    case expired
    /// No longer registered on the app (rotated away): a secret fails with AADSTS7000215, a certificate with
    /// AADSTS700027 "[Reason - The key was not found.]".
    case removed
}

/// An app registration present in a tenant, with its credentials.
public struct AppRegistration: Sendable {
    /// The application (client) id.
    public var clientId: String
    /// The display name Entra quotes in some errors.
    public var displayName: String
    /// Accepted client secrets.
    public var secrets: [String]
    /// Registered certificates.
    public var certificates: [RegisteredCertificate]
    /// Federated identity credentials.
    public var federated: [FederatedCredential]
    /// Installed and enabled, disabled, or deleted from the tenant.
    public var state: AppState = .enabled
    /// State of the client secrets.
    public var secretState: CredentialState = .valid
    /// State of the certificates.
    public var certificateState: CredentialState = .valid

    /// Creates an app registration.
    public init(clientId: String, displayName: String = "dirsync", secrets: [String] = [],
                certificates: [RegisteredCertificate] = [], federated: [FederatedCredential] = []) {
        self.clientId = clientId
        self.displayName = displayName
        self.secrets = secrets
        self.certificates = certificates
        self.federated = federated
    }
}

/// How an expired or unknown deltaLink is answered.
public enum ExpiredDeltaStyle: String, Sendable {
    /// `410 Gone` with code `syncStateNotFound` and a `Location` header restarting the round.
    case gone410
    /// `400 Bad Request` with code `SyncStateNotFound` (the other casing seen in the wild).
    case badRequest400
}

/// Per-tenant behaviour that the control API can change at run time.
public struct TenantSettings: Sendable {
    /// Application permissions granted (admin-consented) to apps in this tenant; by default the four the
    /// dirsync app registration requests.
    public var permissions: Set<String> = ["User.Read.All", "Group.Read.All", "GroupMember.Read.All", "Directory.Read.All"]
    /// Whether admin consent was given. Without it tokens are issued with no roles and Graph answers 403.
    public var consent: Bool = true
    /// A deltaLink older than this (seconds) is answered as expired.
    public var deltaTokenLifetime: Double = 7 * 24 * 3600
    /// How expired deltaLinks are answered.
    public var expiredDeltaStyle: ExpiredDeltaStyle = .gone410
    /// Probability that an object is served again at the start of the next page (Graph's "duplicates").
    public var duplicateRate: Double = 0.01
    /// Probability that a page in the middle of a round comes back empty, still carrying `@odata.nextLink`.
    public var emptyPageRate: Double = 0
    /// Replication lag of plain reads, milliseconds: a change stays invisible to `GET /users`, `/groups`, `/contacts`,
    /// a group's `/members` and `getByIds` this long, while delta reports it at once (0: no lag).
    ///
    /// Graph warns of replication delays for recently created, updated or deleted objects on its list operations. The
    /// risk a first load takes is the replica that serves a list page being behind the one a `$deltatoken=latest`
    /// link starts from: a change made just before the link is then in neither. graph-sim's choices: that is the
    /// direction it models, as Graph documents no figure for either; `getByIds` and `$count` read the same lagging
    /// replica as the lists.
    public var listLagMillis: Int = 0
    /// Whether plain lists serve `$filter` (false: 400 `Request_UnsupportedQuery`, as a tenant or cloud
    /// that does not serve a filter answers; for testing a client's fallback).
    public var listFilters = true

    /// Default settings.
    public init() {}
}

/// One simulated Entra tenant: directory objects, memberships, change logs, domains and apps.
public struct Tenant: Sendable {
    /// Position in the simulator's tenant list.
    public let index: Int
    /// Tenant id (GUID).
    public var id: String
    /// Organisation display name.
    public var displayName: String
    /// Registered domains.
    public var domains: [TenantDomain]
    /// App registrations that may obtain tokens here.
    public var apps: [AppRegistration]
    /// Run-time behaviour.
    public var settings: TenantSettings

    /// Users by index.
    public internal(set) var users: [DirectoryObject] = []
    /// Groups by index.
    public internal(set) var groups: [DirectoryObject] = []
    /// Organisational contacts by index (a deleted one stays as a tombstone, like users and groups).
    public internal(set) var contacts: [DirectoryObject] = []
    /// Sorted member references per group index.
    public internal(set) var members: [[MemberRef]] = []
    /// Each user's manager (a user or a contact), ``MemberRef/none`` when it has none.
    public internal(set) var managers: [MemberRef] = []
    /// Device ids (member-only objects).
    public internal(set) var devices: [String] = []
    /// Service principal ids (member-only objects).
    public internal(set) var servicePrincipals: [String] = []
    /// Directory extension properties registered on users, in registration order.
    public internal(set) var directoryExtensions: [DirectoryExtension] = []
    /// Directory extension values set on users, by user index; an array is indexed like
    /// ``directoryExtensions`` and may be shorter (missing means never set).
    public internal(set) var extensionValues: [Int32: [PropertyValue]] = [:]
    /// Every object id of the tenant to its reference.
    public internal(set) var refs: [String: MemberRef] = [:]
    /// Change log of `/users/delta` (properties and managers).
    public internal(set) var userLog: [ChangeEntry] = []
    /// Change log of `/groups/delta` (properties and memberships).
    public internal(set) var groupLog: [ChangeEntry] = []
    /// Change log of `/contacts/delta`.
    public internal(set) var contactLog: [ChangeEntry] = []
    /// Number of live users.
    public internal(set) var liveUsers = 0
    /// Number of live groups.
    public internal(set) var liveGroups = 0
    /// Number of live contacts.
    public internal(set) var liveContacts = 0
    /// Source of ids for objects created at run time (seeded, so runs replay).
    var idSource = SeededRandom(seed: 0)
    /// The seed the tenant was generated from: the derived properties of generated objects follow from it.
    var generationSeed: UInt64 = 0
    /// Users below this index were generated (their derived properties and cost centre come from the seed).
    var generatedUsers = 0
    /// Whether directory extension 0 is the generated cost centre (its values for generated users come from the seed).
    var generatesCostCenter = false
    /// Collapsed incremental rounds, so paging a long round costs O(changes) once, not per page.
    var deltaCache: [DeltaCacheKey: [ChangeItem]] = [:]
    /// Sorted indexes that serve `startswith` filters, each built on first use and kept current by every mutation.
    var prefixIndexes: [PrefixIndexKey: PrefixIndex] = [:]
    /// What plain reads do not see yet (``TenantSettings/listLagMillis``).
    var replicaLog = ReplicaLog()

    /// Creates an empty tenant.
    public init(index: Int, id: String, displayName: String, domains: [TenantDomain], apps: [AppRegistration],
                settings: TenantSettings = TenantSettings()) {
        self.index = index
        self.id = id
        self.displayName = displayName
        self.domains = domains
        self.apps = apps
        self.settings = settings
    }

    /// The id string of any referenced object.
    public func id(of ref: MemberRef) -> String {
        switch ref.kind {
        case .user: return users[ref.index].id
        case .group: return groups[ref.index].id
        case .device: return devices[ref.index]
        case .servicePrincipal: return servicePrincipals[ref.index]
        case .orgContact: return contacts[ref.index].id
        }
    }

    /// The objects of `resource`.
    public func objects(_ resource: Resource) -> [DirectoryObject] {
        switch resource {
        case .users: return users
        case .groups: return groups
        case .contacts: return contacts
        }
    }

    /// Number of objects of `resource` (deleted ones included).
    public func count(_ resource: Resource) -> Int {
        switch resource {
        case .users: return users.count
        case .groups: return groups.count
        case .contacts: return contacts.count
        }
    }

    /// One object of `resource`.
    public func object(_ resource: Resource, _ index: Int) -> DirectoryObject {
        switch resource {
        case .users: return users[index]
        case .groups: return groups[index]
        case .contacts: return contacts[index]
        }
    }

    /// Number of live objects of `resource`.
    public func liveCount(_ resource: Resource) -> Int {
        switch resource {
        case .users: return liveUsers
        case .groups: return liveGroups
        case .contacts: return liveContacts
        }
    }

    /// The change log of `resource`.
    public func log(_ resource: Resource) -> [ChangeEntry] {
        switch resource {
        case .users: return userLog
        case .groups: return groupLog
        case .contacts: return contactLog
        }
    }

    /// The current head position of `resource`'s log.
    public func head(_ resource: Resource) -> Int {
        switch resource {
        case .users: return userLog.count
        case .groups: return groupLog.count
        case .contacts: return contactLog.count
        }
    }

    /// The default domain, or the first verified one.
    public var defaultDomain: String {
        domains.first(where: \.isDefault)?.name ?? domains.first(where: \.isVerified)?.name ?? domains[0].name
    }

    /// Whether `name` (GUID or domain) designates this tenant for the identity platform.
    /// Unverified domains do not resolve (the simulator's documented choice).
    public func answers(to name: String) -> Bool {
        let lower = name.lowercased()
        return lower == id || domains.contains { $0.name == lower && $0.isVerified }
    }
}
