/// The properties dirsync stores of one directory object type, in column order: the one place a
/// property is declared. `$select`, the delta decoder's key matching and reading, merging and no-op
/// detection, the staging presence mask and COPY column order, the change feed and the tests' truth
/// comparison all derive from it. Adding an ordinary property is one line here plus a forward
/// migration that adds its column.
public struct FieldTable: Sendable, Equatable {
    /// The delta resource the objects come from.
    public let resource: DirectoryResource
    /// The contract columns, in order.
    public let fields: [Field]

    public init(resource: DirectoryResource, fields: [Field]) {
        precondition(fields.count <= 62, "the staging presence mask is a bigint: at most 62 fields")
        self.resource = resource
        self.fields = fields
    }

    /// The position of the field with Graph name `graphName`.
    public func index(of graphName: String) -> Int? {
        fields.firstIndex { $0.graphName == graphName }
    }

    /// The field with Graph name `graphName`.
    public subscript(_ graphName: String) -> Field? {
        index(of: graphName).map { fields[$0] }
    }

    /// Whether the objects carry `members@delta` (groups).
    public var readsMembers: Bool { resource == .groups }

    /// The `$select` list of the resource's delta query: `id`, every field (a relationship by its
    /// name), and `members` for groups, which makes Graph report `members@delta`.
    public var select: String {
        (["id"] + fields.map(\.graphName) + (readsMembers ? ["members"] : [])).joined(separator: ",")
    }

    /// The object type's singular name (`user`, `group`), as diagnostics and the change feed spell it.
    public var objectName: String { resource.objectName }
}

extension FieldTable {
    /// `directory.users`.
    public static let users = FieldTable(resource: .users, fields: [
        Field("userPrincipalName", "user_principal_name", .indexedText),
        Field("displayName", "display_name", .text),
        Field("givenName", "given_name", .text),
        Field("surname", "surname", .text),
        Field("mail", "mail", .indexedText),
        Field("jobTitle", "job_title", .text),
        Field("department", "department", .text),
        Field("accountEnabled", "account_enabled", .boolean),
        Field("userType", "user_type", .text),
        Field("proxyAddresses", "proxy_addresses", .textCollection),
    ])

    /// `directory.groups`.
    public static let groups = FieldTable(resource: .groups, fields: [
        Field("displayName", "display_name", .text),
        Field("description", "description", .text),
        Field("mail", "mail", .indexedText),
        Field("mailNickname", "mail_nickname", .text),
        Field("mailEnabled", "mail_enabled", .boolean),
        Field("securityEnabled", "security_enabled", .boolean),
        Field("groupTypes", "group_types", .textCollection),
        Field("proxyAddresses", "proxy_addresses", .textCollection),
    ])

    /// `directory.contacts` (organisational contacts).
    public static let contacts = FieldTable(resource: .contacts, fields: [
        Field("displayName", "display_name", .text),
        Field("givenName", "given_name", .text),
        Field("surname", "surname", .text),
        Field("mail", "mail", .indexedText),
        Field("mailNickname", "mail_nickname", .text),
        Field("proxyAddresses", "proxy_addresses", .textCollection),
        Field("companyName", "company_name", .text),
        Field("jobTitle", "job_title", .text),
        Field("department", "department", .text),
    ])
}
