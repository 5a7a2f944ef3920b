/// The properties dirsync stores of one directory object type, in column order: the one place a
/// property is declared. `$select`, the delta decoder's key matching and reading, merging and no-op
/// detection, the staging presence mask and COPY column order, the change feed, the property set a
/// cursor records and the tests' truth comparison all derive from it. Adding an ordinary property is
/// one line here plus a forward migration that adds its column.
///
/// The contract's fields come first; properties the operator chose (``FieldKind/attribute``) follow
/// them and share the `attributes` column (see ``selecting(attributes:)``).
public struct FieldTable: Sendable, Equatable {
    /// The column that holds operator-chosen properties, keyed by Graph name.
    public static let attributesColumn = "attributes"

    /// The delta resource the objects come from.
    public let resource: DirectoryResource
    /// Every field: the contract columns in order, then the operator-chosen properties.
    public let fields: [Field]
    /// How many of `fields` are contract columns (the rest are attributes).
    public let contractFieldCount: Int

    public init(resource: DirectoryResource, fields: [Field]) {
        let contract = fields.prefix { $0.kind != .attribute }
        precondition(fields.dropFirst(contract.count).allSatisfy { $0.kind == .attribute }, "operator-chosen properties follow the contract's fields")
        precondition(contract.count <= 62, "the staging presence mask is a bigint: at most 62 contract fields")
        self.resource = resource
        self.fields = fields
        self.contractFieldCount = contract.count
    }

    /// The contract columns, in order.
    public var contractFields: ArraySlice<Field> { fields.prefix(contractFieldCount) }

    /// The operator-chosen properties, in the order they were configured.
    public var attributeFields: ArraySlice<Field> { fields.dropFirst(contractFieldCount) }

    /// Whether the object type has an `attributes` column (users and groups).
    public var storesAttributes: Bool { resource != .contacts }

    /// This table with `names` as its operator-chosen properties (replacing any it had). Validate
    /// names with ``PropertySelection`` first.
    public func selecting(attributes names: [String]) -> FieldTable {
        FieldTable(resource: resource, fields: Array(contractFields) + names.map(Field.attribute))
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

    /// The properties a delta link made from ``select`` carries, as a cursor records them: Graph
    /// bakes `$select` into its delta state, so a link made with another set must not be continued.
    public var selectedProperties: [String] {
        fields.map(\.graphName).sorted()
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
        Field("employeeId", "employee_id", .text),
        Field("employeeType", "employee_type", .text),
        Field("companyName", "company_name", .text),
        Field("officeLocation", "office_location", .text),
        Field("otherMails", "other_mails", .textCollection),
        Field("createdDateTime", "created_at", .timestamp),
        Field("creationType", "creation_type", .text),
        Field("externalUserState", "external_user_state", .text),
        Field("onPremisesSyncEnabled", "on_premises_sync_enabled", .boolean),
        Field("onPremisesImmutableId", "on_premises_immutable_id", .text),
        Field("onPremisesSamAccountName", "on_premises_sam_account_name", .text),
        Field("onPremisesSecurityIdentifier", "on_premises_security_identifier", .text),
        Field("manager", "manager_id", .reference),
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
        Field("visibility", "visibility", .text),
        Field("createdDateTime", "created_at", .timestamp),
        Field("onPremisesSyncEnabled", "on_premises_sync_enabled", .boolean),
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
