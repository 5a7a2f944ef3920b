import DirSyncCore
import Foundation

/// The read API (`directory.resolve`, `directory.member_of`) as operators query it through
/// `dirsync resolve`; services call the SQL functions directly.
public struct PostgresReadAPI: Sendable {
    private let connection: PostgresConnection

    public init(connection: PostgresConnection) {
        self.connection = connection
    }

    /// The live objects owning `address`, with the names and depths of their groups.
    /// - Parameter tenant: only this tenant's objects; every tenant's when `nil`.
    public func resolve(_ address: String, tenant: UUID?) async throws -> [AddressOwner] {
        let owners = try await connection.query("""
            SELECT r.tenant_id, r.object_id, r.object_type, r.display_name, r.account_enabled, r.user_type, r.internal
            FROM directory.resolve(\(address), \(tenant)) r
            """, name: "resolve address")
        var result: [AddressOwner] = []
        for row in owners {
            let tenantID = try row.uuid("tenant_id"), objectID = try row.uuid("object_id")
            let groups = try await connection.query("""
                SELECT m.group_id, m.depth, g.display_name FROM directory.member_of(\(tenantID), \(objectID)) m
                LEFT JOIN directory.groups g ON g.tenant_id = \(tenantID) AND g.id = m.group_id
                ORDER BY m.group_id
                """, name: "groups of an address owner").map {
                AddressOwner.Membership(id: try $0.uuid("group_id"), displayName: try $0.optionalString("display_name"), depth: try $0.int("depth"))
            }
            result.append(AddressOwner(tenantID: tenantID, objectID: objectID, objectType: try row.string("object_type"),
                                       displayName: try row.optionalString("display_name"), accountEnabled: try row.optionalBool("account_enabled"),
                                       userType: try row.optionalString("user_type"), isInternal: try row.bool("internal"), groups: groups))
        }
        return result
    }
}
