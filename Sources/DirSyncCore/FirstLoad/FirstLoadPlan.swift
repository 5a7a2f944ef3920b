import Foundation

/// How a tenant's first sync reads the directory (`run --first-load`).
public enum FirstLoadSetting: String, Sendable, Equatable, CaseIterable {
    /// Parallel when the tenant is large (see ``FirstLoadPlan/parallelThreshold``), else the delta rounds.
    case auto
    /// Always the parallel load.
    case parallel
    /// Always the sequential delta rounds.
    case delta
}

/// The decisions of a parallel first load that need no I/O: whether to load in parallel, which
/// streams read the tenant, and how group ids become scoped delta chains.
///
/// A first sync normally walks each resource's delta chain page after page, about 200 objects a
/// round trip. A parallel load instead (1) takes "sync from now" deltaLinks for every resource, (2)
/// waits a safety interval for replication, (3) lists users in partitions by the first character of
/// their user principal name plus an id-only stream that catches what the partitions miss, lists
/// contacts, lists group ids and reads the groups with their members through many scoped
/// `groups/delta` chains (the members then have exactly the shape later delta rounds report, with
/// soft-deleted members and service principals), (4) checks completeness, and (5) continues from
/// the deltaLinks of step 1, so every change made meanwhile arrives by delta and is applied again.
public enum FirstLoadPlan {
    /// In `auto`, a tenant with at least this many users and groups loads in parallel.
    public static let parallelThreshold = 20_000

    /// Characters a user principal name may start with (Entra allows `A–Z a–z 0–9 ' . - _ ! # ^ ~`;
    /// `startswith` ignores case). Anything outside is caught by the id-only stream.
    public static let userPrefixes: [String] = (UInt8(ascii: "a")...UInt8(ascii: "z")).map { String(UnicodeScalar($0)) }
        + (UInt8(ascii: "0")...UInt8(ascii: "9")).map { String(UnicodeScalar($0)) }
        + ["'", ".", "-", "_", "!", "#", "^", "~"]

    /// Groups per scoped `groups/delta` chain. Graph allows 50; fewer keeps each URL short and
    /// each chain quick.
    public static let groupsPerChunk = 20

    /// Whether the first sync of a tenant of `counted` users and groups loads in parallel.
    public static func loadsInParallel(_ setting: FirstLoadSetting, counted: Int?) -> Bool {
        switch setting {
        case .parallel: true
        case .delta: false
        case .auto: (counted ?? 0) >= parallelThreshold
        }
    }

    /// `startswith(userPrincipalName,'x')`, a quote doubled as OData wants.
    public static func userFilter(prefix: String) -> String {
        "startswith(userPrincipalName,'\(prefix.replacingOccurrences(of: "'", with: "''"))')"
    }

    /// The streams that list the tenant, in the order they are started.
    public static func streams(users: Bool = true) -> [LoadStream] {
        [.groupIDs, .userIDs, .contacts] + userPrefixes.map(LoadStream.users)
    }

    /// The first link of `stream`.
    public static func firstLink(_ stream: LoadStream, endpoints: GraphEndpoints, schema: DirectorySchema) -> String {
        switch stream {
        case .users(let prefix): endpoints.listURL(schema.users, filter: userFilter(prefix: prefix))
        case .userIDs: endpoints.idListURL(.users)
        case .groupIDs: endpoints.idListURL(.groups)
        case .contacts: endpoints.listURL(schema.contacts)
        case .groups(let chunk): preconditionFailure("group chunk \(chunk) starts from its ids (scopedGroupsDeltaURL)")
        }
    }
}

/// One chain of pages a parallel first load reads.
public enum LoadStream: Sendable, Hashable, CustomStringConvertible {
    /// Users whose principal name starts with the prefix, with every selected property.
    case users(String)
    /// The id of every user (the completeness oracle).
    case userIDs
    /// The id of every group (they make the chunks).
    case groupIDs
    /// Every contact.
    case contacts
    /// A scoped `groups/delta` chain over one chunk of group ids.
    case groups(Int)

    /// The stream's key as stored (`users:a`, `user-ids`, `group-ids`, `contacts`, `groups:17`).
    public var description: String {
        switch self {
        case .users(let prefix): "users:\(prefix)"
        case .userIDs: "user-ids"
        case .groupIDs: "group-ids"
        case .contacts: "contacts"
        case .groups(let chunk): "groups:\(chunk)"
        }
    }

    public init?(key: String) {
        if key == "user-ids" { self = .userIDs }
        else if key == "group-ids" { self = .groupIDs }
        else if key == "contacts" { self = .contacts }
        else if key.hasPrefix("users:") { self = .users(String(key.dropFirst(6))) }
        else if key.hasPrefix("groups:"), let chunk = Int(key.dropFirst(7)) { self = .groups(chunk) }
        else { return nil }
    }

    /// The resource the stream's objects belong to.
    public var resource: DirectoryResource {
        switch self {
        case .users, .userIDs: .users
        case .groupIDs, .groups: .groups
        case .contacts: .contacts
        }
    }
}
