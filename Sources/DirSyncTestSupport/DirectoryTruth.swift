import Foundation
import PostgresStore

/// A tenant's state as graph-sim reports it (`/_graphsim/tenants/{id}/truth`).
package struct DirectoryTruth: Decodable, Sendable {
    package struct User: Decodable, Sendable, Equatable {
        package var id: String
        package var userPrincipalName: String?
        package var displayName: String?
        package var givenName: String?
        package var surname: String?
        package var mail: String?
        package var jobTitle: String?
        package var department: String?
        package var accountEnabled: Bool?
        package var userType: String?
        package var proxyAddresses: [String]?
        package var deleted: String?
    }

    package struct Group: Decodable, Sendable, Equatable {
        package var id: String
        package var displayName: String?
        package var description: String?
        package var mail: String?
        package var mailNickname: String?
        package var mailEnabled: Bool?
        package var securityEnabled: Bool?
        package var groupTypes: [String]?
        package var deleted: String?
    }

    package struct Membership: Decodable, Sendable, Hashable {
        package var groupId: String
        package var memberId: String
        package var memberType: String
    }

    package var users: [User]
    package var groups: [Group]
    package var memberships: [Membership]

    /// Every difference between the `directory` tables and this truth for `tenant`, as readable lines.
    ///
    /// Live objects must match on every contract column; objects deleted in the tenant must be
    /// flagged deleted if the database has them; memberships must match exactly, member type included.
    package func differences(from connection: PostgresConnection, tenant: UUID) async throws -> [String] {
        var problems: [String] = []
        let userRows = try await connection.query("""
            SELECT id, user_principal_name, display_name, given_name, surname, mail, job_title, department, account_enabled, user_type,
                   proxy_addresses, deleted_at IS NOT NULL AS deleted FROM directory.users WHERE tenant_id = \(tenant)
            """)
        var storedUsers: [String: User] = [:]
        for row in userRows {
            let id = try row.uuid("id").uuidString.lowercased()
            storedUsers[id] = User(
                id: id, userPrincipalName: try row.optionalString("user_principal_name"), displayName: try row.optionalString("display_name"),
                givenName: try row.optionalString("given_name"), surname: try row.optionalString("surname"), mail: try row.optionalString("mail"),
                jobTitle: try row.optionalString("job_title"), department: try row.optionalString("department"),
                accountEnabled: try row.optionalBool("account_enabled"), userType: try row.optionalString("user_type"),
                proxyAddresses: try row.optionalStringArray("proxy_addresses"), deleted: try row.bool("deleted") ? "deleted" : nil)
        }
        compare(kind: "user", truth: self.users.map { ($0.id.lowercased(), $0.deleted, $0) }, stored: storedUsers, problems: &problems)

        let groupRows = try await connection.query("""
            SELECT id, display_name, description, mail, mail_nickname, mail_enabled, security_enabled, group_types,
                   deleted_at IS NOT NULL AS deleted FROM directory.groups WHERE tenant_id = \(tenant)
            """)
        var storedGroups: [String: Group] = [:]
        for row in groupRows {
            let id = try row.uuid("id").uuidString.lowercased()
            storedGroups[id] = Group(
                id: id, displayName: try row.optionalString("display_name"), description: try row.optionalString("description"),
                mail: try row.optionalString("mail"), mailNickname: try row.optionalString("mail_nickname"),
                mailEnabled: try row.optionalBool("mail_enabled"), securityEnabled: try row.optionalBool("security_enabled"),
                groupTypes: try row.optionalStringArray("group_types"), deleted: try row.bool("deleted") ? "deleted" : nil)
        }
        compare(kind: "group", truth: self.groups.map { ($0.id.lowercased(), $0.deleted, $0) }, stored: storedGroups, problems: &problems)

        let members = try await connection.query("SELECT group_id, member_id, member_type FROM directory.group_members WHERE tenant_id = \(tenant)")
        let storedMembers = Set(try members.map {
            Membership(groupId: try $0.uuid("group_id").uuidString.lowercased(), memberId: try $0.uuid("member_id").uuidString.lowercased(), memberType: try $0.string("member_type"))
        })
        let truthMembers = Set(memberships.map { Membership(groupId: $0.groupId.lowercased(), memberId: $0.memberId.lowercased(), memberType: $0.memberType) })
        for missing in truthMembers.subtracting(storedMembers).prefix(5) { problems.append("membership missing: \(missing)") }
        for extra in storedMembers.subtracting(truthMembers).prefix(5) { problems.append("membership not in the tenant: \(extra)") }
        if truthMembers != storedMembers {
            problems.append("memberships: \(truthMembers.subtracting(storedMembers).count) missing, \(storedMembers.subtracting(truthMembers).count) extra")
        }
        return problems
    }

    private func compare<T: Equatable>(kind: String, truth: [(String, String?, T)], stored: [String: T], problems: inout [String]) where T: DeletionFlagged {
        var live = Set<String>()
        for (id, deleted, object) in truth {
            if deleted == nil {
                live.insert(id)
                guard let row = stored[id] else { problems.append("\(kind) \(id) is missing"); continue }
                if row.deletedFlag != nil { problems.append("\(kind) \(id) is live in the tenant but flagged deleted"); continue }
                var expected = object
                expected.deletedFlag = nil
                if row != expected { problems.append("\(kind) \(id) differs: stored \(row) expected \(expected)") }
            } else if let row = stored[id], row.deletedFlag == nil {
                problems.append("\(kind) \(id) is deleted in the tenant (\(deleted!)) but live in the database")
            }
        }
        for (id, row) in stored where row.deletedFlag == nil && !live.contains(id) {
            problems.append("\(kind) \(id) is live in the database but not in the tenant")
        }
    }
}

/// Objects whose deletion state is compared separately from their properties.
protocol DeletionFlagged {
    var deletedFlag: String? { get set }
}

extension DirectoryTruth.User: DeletionFlagged {
    var deletedFlag: String? { get { deleted } set { deleted = newValue } }
}

extension DirectoryTruth.Group: DeletionFlagged {
    var deletedFlag: String? { get { deleted } set { deleted = newValue } }
}
