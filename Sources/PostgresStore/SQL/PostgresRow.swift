import Foundation

/// The rows a statement returned, copied out of the `PGresult` (text format).
public struct PostgresRows: Sendable, Sequence {
    /// Column names in result order.
    public let columns: [String]
    let cells: [[String?]]
    /// For error messages.
    let statement: String
    /// Rows the statement inserted, updated or deleted (`PQcmdTuples`); 0 for other statements.
    public let affectedRows: Int

    /// Number of rows.
    public var count: Int { cells.count }
    public var isEmpty: Bool { cells.isEmpty }
    /// The first row, if any.
    public var first: PostgresRow? { cells.first.map { PostgresRow(columns: columns, cells: $0, statement: statement) } }

    public func makeIterator() -> some IteratorProtocol<PostgresRow> {
        cells.lazy.map { PostgresRow(columns: columns, cells: $0, statement: statement) }.makeIterator()
    }
}

/// One result row with typed accessors. Column lookups are by name.
public struct PostgresRow: Sendable {
    let columns: [String]
    let cells: [String?]
    let statement: String

    private func raw(_ column: String) throws(PostgresError) -> String? {
        guard let index = columns.firstIndex(of: column) else {
            throw PostgresError(code: .decodingFailed, message: "result has no column '\(column)'", statement: statement)
        }
        return cells[index]
    }

    private func required<T>(_ column: String, _ type: String, _ parse: (String) -> T?) throws(PostgresError) -> T {
        guard let value = try optional(column, type, parse) else {
            throw PostgresError(code: .decodingFailed, message: "column '\(column)' is NULL, expected \(type)", statement: statement)
        }
        return value
    }

    private func optional<T>(_ column: String, _ type: String, _ parse: (String) -> T?) throws(PostgresError) -> T? {
        guard let text = try raw(column) else { return nil }
        guard let value = parse(text) else {
            throw PostgresError(code: .decodingFailed, message: "column '\(column)' is not a valid \(type)", statement: statement)
        }
        return value
    }

    /// Whether the column is SQL NULL.
    public func isNull(_ column: String) throws(PostgresError) -> Bool { try raw(column) == nil }

    public func string(_ column: String) throws(PostgresError) -> String { try required(column, "text") { $0 } }
    public func optionalString(_ column: String) throws(PostgresError) -> String? { try optional(column, "text") { $0 } }

    public func int(_ column: String) throws(PostgresError) -> Int { try required(column, "integer") { Int($0) } }
    public func optionalInt(_ column: String) throws(PostgresError) -> Int? { try optional(column, "integer") { Int($0) } }

    public func double(_ column: String) throws(PostgresError) -> Double { try required(column, "number") { Double($0) } }
    public func optionalDouble(_ column: String) throws(PostgresError) -> Double? { try optional(column, "number") { Double($0) } }

    public func bool(_ column: String) throws(PostgresError) -> Bool { try required(column, "boolean", Self.parseBool) }
    public func optionalBool(_ column: String) throws(PostgresError) -> Bool? { try optional(column, "boolean", Self.parseBool) }

    public func uuid(_ column: String) throws(PostgresError) -> UUID { try required(column, "uuid") { UUID(uuidString: $0) } }
    public func optionalUUID(_ column: String) throws(PostgresError) -> UUID? { try optional(column, "uuid") { UUID(uuidString: $0) } }

    public func date(_ column: String) throws(PostgresError) -> Date { try required(column, "timestamptz", PostgresTimestamp.parse) }
    public func optionalDate(_ column: String) throws(PostgresError) -> Date? { try optional(column, "timestamptz", PostgresTimestamp.parse) }

    /// A `text[]` column; NULL elements are not allowed here (use ``optionalStringArrayWithNulls(_:)``).
    public func optionalStringArray(_ column: String) throws(PostgresError) -> [String]? {
        try optional(column, "text[]") { text in
            guard let elements = PostgresArrayLiteral.decode(text), !elements.contains(where: { $0 == nil }) else { return nil }
            return elements.map { $0! }
        }
    }

    public func stringArray(_ column: String) throws(PostgresError) -> [String] {
        guard let value = try optionalStringArray(column) else {
            throw PostgresError(code: .decodingFailed, message: "column '\(column)' is NULL, expected text[]", statement: statement)
        }
        return value
    }

    /// A `text[]` column that may hold NULL elements.
    public func optionalStringArrayWithNulls(_ column: String) throws(PostgresError) -> [String?]? {
        try optional(column, "text[]") { PostgresArrayLiteral.decode($0) }
    }

    private static func parseBool(_ text: String) -> Bool? {
        switch text {
        case "t", "true": true
        case "f", "false": false
        default: nil
        }
    }
}
