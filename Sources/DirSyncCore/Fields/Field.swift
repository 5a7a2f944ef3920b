/// How a Graph property arrives in a delta page and how PostgreSQL stores it.
public enum FieldKind: Sendable, Equatable {
    /// A string, stored as `text`.
    case text
    /// A string PostgreSQL indexes (`userPrincipalName`, `mail`), stored as `text`: a value too long
    /// to index would fail its page on every retry, so the object is skipped with a diagnostic instead.
    case indexedText
    /// A boolean, stored as `boolean`.
    case boolean
    /// A collection of strings, stored as `text[]`.
    case textCollection
    /// An ISO 8601 instant (`createdDateTime`), stored as `timestamptz`; a value that is not one
    /// skips the object with a diagnostic.
    case timestamp
    /// A single-valued relationship that delta reports as `<name>@delta` (Graph's `manager@delta`):
    /// the related object's id, stored as `uuid`; an entry carrying `@removed` clears it.
    case reference
    /// A property the operator chose (`DIRSYNC_USER_PROPERTIES`): any JSON value, kept under its
    /// Graph name in the object's `attributes` jsonb column and replaced whole; an explicit `null`
    /// is kept as JSON `null`. Not a contract column of its own.
    case attribute

    /// Whether a full round that does not report the field clears it. Graph reports a relationship
    /// (`manager@delta`) only while it exists, so a full round, which reports every object as it is
    /// now, says "none" by leaving it out; a property it leaves out was never set, and a value stored
    /// earlier stays.
    public var absentInFullRoundMeansNone: Bool { self == .reference }

    /// The PostgreSQL type of the column.
    public var sqlType: String {
        switch self {
        case .text, .indexedText: "text"
        case .boolean: "boolean"
        case .textCollection: "text[]"
        case .timestamp: "timestamptz"
        case .reference: "uuid"
        case .attribute: "jsonb"
        }
    }
}

/// One property of a directory object type: its Graph name, its column, its kind. Declared once, in
/// its type's ``FieldTable``; `$select`, decoding, merging, staging, COPY and the change feed derive
/// from it.
public struct Field: Sendable, Equatable {
    /// The property's name in Graph (`userPrincipalName`).
    public let graphName: String
    /// The column in the `directory` table (`user_principal_name`).
    public let column: String
    public let kind: FieldKind

    public init(_ graphName: String, _ column: String, _ kind: FieldKind) {
        self.graphName = graphName
        self.column = column
        self.kind = kind
    }

    /// An operator-chosen property, stored in the `attributes` column.
    public static func attribute(_ graphName: String) -> Field {
        Field(graphName, FieldTable.attributesColumn, .attribute)
    }

    /// The JSON key the value arrives under: the name, or `<name>@delta` for a relationship.
    public var key: String {
        kind == .reference ? graphName + "@delta" : graphName
    }
}
