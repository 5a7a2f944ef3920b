/// The field tables of every synced object type, as one run uses them.
public struct DirectorySchema: Sendable, Equatable {
    public var users: FieldTable
    public var groups: FieldTable
    public var contacts: FieldTable

    public init(users: FieldTable = .users, groups: FieldTable = .groups, contacts: FieldTable = .contacts) {
        self.users = users
        self.groups = groups
        self.contacts = contacts
    }

    /// The contract's tables.
    public static let standard = DirectorySchema()

    /// The table of `resource`.
    public subscript(_ resource: DirectoryResource) -> FieldTable {
        switch resource {
        case .users: users
        case .groups: groups
        case .contacts: contacts
        }
    }
}
