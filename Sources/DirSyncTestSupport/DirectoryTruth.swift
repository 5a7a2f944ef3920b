import DirSyncCore
import Foundation
import PostgresStore

/// A property value as graph-sim's truth document and the `directory` tables both can say it.
package enum TruthValue: Sendable, Hashable, CustomStringConvertible {
    case null
    case bool(Bool)
    case string(String)
    case strings([String])
    /// An instant (timestamps compare as instants, whatever their spelling).
    case instant(Double)
    /// Anything else, as its JSON text.
    case other(String)

    package var description: String {
        switch self {
        case .null: "null"
        case .bool(let value): "\(value)"
        case .string(let value): "\"\(value)\""
        case .strings(let value): "\(value)"
        case .instant(let value): "@\(value)"
        case .other(let value): value
        }
    }

    /// A JSON value from the truth document, read as `kind` says.
    init(json: Any?, kind: FieldKind) {
        switch json {
        case nil, is NSNull: self = .null
        case let text as String:
            if kind == .timestamp, let date = try? Date(text, strategy: .iso8601) { self = .instant(date.timeIntervalSince1970) }
            else if kind == .reference { self = .string(text.lowercased()) }
            else { self = .string(text) }
        // A collection without values reads the same whether Graph left it out, sent null or sent []:
        // delta rounds leave a never-set collection out, plain lists send [].
        case let list as [Any] where list.isEmpty && kind == .textCollection: self = .null
        case let list as [Any] where list.allSatisfy { $0 is String }: self = .strings(list as! [String])
        case let number as NSNumber where String(cString: number.objCType) == "c": self = .bool(number.boolValue)
        case let value?:
            let data = (try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys])) ?? Data()
            self = .other(String(decoding: data, as: UTF8.self))
        }
    }

    /// A column of `row`, read as `kind` says.
    init(row: PostgresRow, column: String, kind: FieldKind) throws {
        switch kind {
        case .text, .indexedText: self = try row.optionalString(column).map(TruthValue.string) ?? .null
        case .boolean: self = try row.optionalBool(column).map(TruthValue.bool) ?? .null
        case .textCollection: self = try row.optionalStringArray(column).flatMap { $0.isEmpty ? nil : TruthValue.strings($0) } ?? .null
        case .timestamp: self = try row.optionalDate(column).map { .instant($0.timeIntervalSince1970) } ?? .null
        case .reference: self = try row.optionalString(column).map { .string($0.lowercased()) } ?? .null
        case .attribute: preconditionFailure("attributes are read from the attributes column with init(attributes:name:)")
        }
    }

    /// An operator-chosen property from a row's `attributes` (JSON text); a missing key reads as null,
    /// as a property Graph never sent.
    init(attributes text: String?, name: String) {
        let object = text.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] } ?? [:]
        self.init(json: object[name], kind: .attribute)
    }
}

/// A tenant's state as graph-sim reports it (`/_graphsim/tenants/{id}/truth`), compared with the
/// `directory` tables through the field tables: every field of every object type, by its Graph name.
package struct DirectoryTruth: Sendable {
    /// One object: its id, its properties by Graph name, and whether (and how) it is deleted.
    package struct Object: Sendable, Equatable {
        package var id: String
        package var properties: [String: TruthValue]
        /// `nil` for a live object, `"changed"` or `"deleted"` otherwise.
        package var deleted: String?
    }

    package struct Membership: Sendable, Hashable {
        package var groupId: String
        package var memberId: String
        package var memberType: String
    }

    /// A domain of the tenant.
    package struct Domain: Sendable, Equatable {
        package var name: String
        package var isVerified: Bool
        package var supportedServices: [String]
    }

    package var objects: [DirectoryResource: [Object]]
    package var memberships: [Membership]
    package var domains: [Domain]

    package var users: [Object] { objects[.users] ?? [] }
    package var groups: [Object] { objects[.groups] ?? [] }
    package var contacts: [Object] { objects[.contacts] ?? [] }

    /// Reads the truth document; every field of `schema` must be in it (a missing one is a simulator gap).
    package init(json data: Data, schema: DirectorySchema = .standard) throws {
        guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw TruthError(message: "the truth document is not a JSON object")
        }
        var objects: [DirectoryResource: [Object]] = [:]
        for resource in DirectoryResource.allCases {
            let table = schema[resource]
            objects[resource] = try (root[resource.rawValue] as? [[String: Any]] ?? []).map { entry in
                guard let id = entry["id"] as? String else { throw TruthError(message: "a \(resource.objectName) in the truth has no id") }
                var properties: [String: TruthValue] = [:]
                for field in table.fields {
                    // An operator-chosen property that was never set is absent, as Graph leaves it out.
                    guard entry.keys.contains(field.graphName) || field.kind == .attribute else {
                        throw TruthError(message: "graph-sim's truth has no \(field.graphName) for \(resource.objectName) \(id)")
                    }
                    properties[field.graphName] = TruthValue(json: entry[field.graphName], kind: field.kind)
                }
                return Object(id: id.lowercased(), properties: properties, deleted: entry["deleted"] as? String)
            }
        }
        self.objects = objects
        domains = (root["domains"] as? [[String: Any]] ?? []).compactMap { entry in
            guard let name = entry["id"] as? String else { return nil }
            return Domain(name: name.lowercased(), isVerified: entry["isVerified"] as? Bool ?? false,
                          supportedServices: entry["supportedServices"] as? [String] ?? [])
        }
        memberships = (root["memberships"] as? [[String: Any]] ?? []).compactMap { entry in
            guard let group = entry["groupId"] as? String, let member = entry["memberId"] as? String, let type = entry["memberType"] as? String else { return nil }
            return Membership(groupId: group.lowercased(), memberId: member.lowercased(), memberType: type)
        }
    }

    package struct TruthError: Error, CustomStringConvertible {
        package var message: String
        package var description: String { message }
    }

    /// Every difference between the `directory` tables and this truth for `tenant`, as readable lines.
    ///
    /// Live objects must match on every field of the schema; objects deleted in the tenant must be
    /// flagged deleted if the database has them; memberships must match exactly, member type included.
    package func differences(from connection: PostgresConnection, tenant: UUID, schema: DirectorySchema = .standard) async throws -> [String] {
        var problems: [String] = []
        for resource in DirectoryResource.allCases {
            let table = schema[resource]
            let columns = (table.contractFields.map(\.column) + (table.attributeFields.isEmpty ? [] : ["attributes::text AS attributes"]))
                .joined(separator: ", ")
            let rows = try await connection.query(SQL(unsafeSQL: """
                SELECT id, \(columns), deleted_at IS NOT NULL AS deleted FROM directory.\(resource.rawValue) WHERE tenant_id = $1
                """, binds: [tenant.uuidString]))
            var stored: [String: Object] = [:]
            for row in rows {
                let id = try row.uuid("id").uuidString.lowercased()
                var properties: [String: TruthValue] = [:]
                for field in table.contractFields { properties[field.graphName] = try TruthValue(row: row, column: field.column, kind: field.kind) }
                for field in table.attributeFields {
                    properties[field.graphName] = TruthValue(attributes: try row.optionalString("attributes"), name: field.graphName)
                }
                stored[id] = Object(id: id, properties: properties, deleted: try row.bool("deleted") ? "deleted" : nil)
            }
            compare(kind: resource.objectName, truth: objects[resource] ?? [], stored: stored, problems: &problems)
        }

        let members = try await connection.query("SELECT group_id, member_id, member_type FROM directory.group_members WHERE tenant_id = \(tenant)")
        let storedMembers = Set(try members.map {
            Membership(groupId: try $0.uuid("group_id").uuidString.lowercased(), memberId: try $0.uuid("member_id").uuidString.lowercased(), memberType: try $0.string("member_type"))
        })
        let truthMembers = Set(memberships)
        for missing in truthMembers.subtracting(storedMembers).prefix(5) { problems.append("membership missing: \(missing)") }
        for extra in storedMembers.subtracting(truthMembers).prefix(5) { problems.append("membership not in the tenant: \(extra)") }
        if truthMembers != storedMembers {
            problems.append("memberships: \(truthMembers.subtracting(storedMembers).count) missing, \(storedMembers.subtracting(truthMembers).count) extra")
        }
        return problems
    }

    private func compare(kind: String, truth: [Object], stored: [String: Object], problems: inout [String]) {
        var live = Set<String>()
        for object in truth {
            if object.deleted == nil {
                live.insert(object.id)
                guard let row = stored[object.id] else { problems.append("\(kind) \(object.id) is missing"); continue }
                if row.deleted != nil { problems.append("\(kind) \(object.id) is live in the tenant but flagged deleted"); continue }
                let differing = object.properties.keys.sorted().filter { object.properties[$0] != row.properties[$0] }
                if !differing.isEmpty {
                    problems.append("\(kind) \(object.id) differs: " + differing.map { "\($0) stored \(row.properties[$0] ?? .null), expected \(object.properties[$0]!)" }.joined(separator: "; "))
                }
            } else if let row = stored[object.id], row.deleted == nil {
                problems.append("\(kind) \(object.id) is deleted in the tenant (\(object.deleted!)) but live in the database")
            }
        }
        for (id, row) in stored where row.deleted == nil && !live.contains(id) {
            problems.append("\(kind) \(id) is live in the database but not in the tenant")
        }
    }
}
