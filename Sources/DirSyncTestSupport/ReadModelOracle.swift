import Foundation

/// The read side's answers computed from graph-sim's truth alone, the slow and obvious way (a
/// breadth-first walk over the truth's memberships), to hold `directory.resolve`, `member_of` and
/// `transitive_members` to.
package struct ReadModelOracle: Sendable {
    /// One owner of an address, as `directory.resolve` must report it.
    package struct Owner: Sendable, Hashable, CustomStringConvertible {
        package var objectID: String
        package var objectType: String
        package var displayName: String?
        package var accountEnabled: Bool?
        package var userType: String?
        package var isInternal: Bool
        /// Sorted lower-case group ids.
        package var groupIDs: [String]

        package init(objectID: String, objectType: String, displayName: String?, accountEnabled: Bool?, userType: String?,
                     isInternal: Bool, groupIDs: [String]) {
            self.objectID = objectID
            self.objectType = objectType
            self.displayName = displayName
            self.accountEnabled = accountEnabled
            self.userType = userType
            self.isInternal = isInternal
            self.groupIDs = groupIDs
        }

        package var description: String {
            "\(objectType) \(objectID) name=\(displayName ?? "nil") enabled=\(accountEnabled.map(String.init) ?? "nil") type=\(userType ?? "nil") internal=\(isInternal) groups=\(groupIDs.count)"
        }
    }

    /// Owners by address (lower-case, without the smtp: prefix).
    package private(set) var owners: [String: Set<Owner>] = [:]
    private let parents: [String: Set<String>]
    private let children: [String: [(member: String, type: String)]]
    private let deleted: Set<String>

    package init(_ truth: DirectoryTruth) {
        var parents: [String: Set<String>] = [:]
        var children: [String: [(String, String)]] = [:]
        for membership in truth.memberships {
            parents[membership.memberId, default: []].insert(membership.groupId)
            children[membership.groupId, default: []].append((membership.memberId, membership.memberType))
        }
        self.parents = parents
        self.children = children
        deleted = Set((truth.users + truth.groups + truth.contacts).filter { $0.deleted != nil }.map(\.id))
        let verified = Set(truth.domains.filter(\.isVerified).map(\.name))

        for (type, objects) in [("user", truth.users), ("group", truth.groups), ("contact", truth.contacts)] {
            for object in objects where object.deleted == nil {
                var addresses = Set<String>()
                for key in ["mail", "userPrincipalName"] {
                    if case .string(let value)? = object.properties[key] { addresses.insert(value.lowercased()) }
                }
                if case .strings(let proxies)? = object.properties["proxyAddresses"] {
                    for proxy in proxies where proxy.lowercased().hasPrefix("smtp:") { addresses.insert(String(proxy.dropFirst(5)).lowercased()) }
                }
                if type == "user", case .strings(let others)? = object.properties["otherMails"] {
                    for other in others { addresses.insert(other.lowercased()) }
                }
                let groups = Self.walk(from: object.id, over: parents).keys.sorted()
                for address in addresses where !address.isEmpty {
                    let domain = address.split(separator: "@").last.map(String.init) ?? ""
                    var owner = Owner(objectID: object.id, objectType: type, displayName: nil, accountEnabled: nil, userType: nil,
                                      isInternal: verified.contains(domain), groupIDs: groups)
                    if case .string(let name)? = object.properties["displayName"] { owner.displayName = name }
                    if type == "user" {
                        if case .bool(let enabled)? = object.properties["accountEnabled"] { owner.accountEnabled = enabled }
                        if case .string(let userType)? = object.properties["userType"] { owner.userType = userType }
                    }
                    owners[address, default: []].insert(owner)
                }
            }
        }
    }

    /// Every group above `object` with the shortest chain's length (the object itself excluded).
    package func memberOf(_ object: String) -> [String: Int] {
        Self.walk(from: object, over: parents)
    }

    /// Every member below `group` with the shortest chain's length, deleted users, groups and contacts left out.
    package func transitiveMembers(_ group: String) -> [String: Int] {
        var depth: [String: Int] = [:]
        var frontier = [group]
        var level = 1
        var visitedGroups: Set<String> = [group]
        while !frontier.isEmpty {
            var next: [String] = []
            for container in frontier {
                for (member, type) in children[container] ?? [] where member != group {
                    if depth[member] == nil, !deleted.contains(member) { depth[member] = level }
                    if type == "group", visitedGroups.insert(member).inserted { next.append(member) }
                }
            }
            frontier = next
            level += 1
        }
        return depth
    }

    private static func walk(from start: String, over edges: [String: Set<String>]) -> [String: Int] {
        var depth: [String: Int] = [:]
        var frontier: Set<String> = [start]
        var level = 1
        while !frontier.isEmpty {
            var next = Set<String>()
            for node in frontier {
                for parent in edges[node] ?? [] where parent != start && depth[parent] == nil {
                    depth[parent] = level
                    next.insert(parent)
                }
            }
            frontier = next
            level += 1
        }
        return depth
    }
}
