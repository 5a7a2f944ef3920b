/// A SQL statement whose interpolated values become bind parameters.
///
/// ```swift
/// let query: SQL = "UPDATE directory.domains SET enabled = \(false) WHERE domain = \(name)"
/// // text: "UPDATE directory.domains SET enabled = $1 WHERE domain = $2", binds: ["f", name]
/// ```
/// Values never become part of the statement text, so no input can change the statement.
/// Identifiers and fixed fragments come in only through ``init(unsafeSQL:)`` or
/// `\(unescaped:)`, and only from dirsync's own code.
public struct SQL: Sendable, ExpressibleByStringInterpolation {
    /// The statement text with `$1…$n` placeholders.
    public private(set) var text: String
    /// The parameter values in text format; `nil` is SQL NULL.
    public private(set) var binds: [String?]
    /// A short name used in error messages instead of the text, e.g. `upsert users`.
    public var name: String?

    public struct StringInterpolation: StringInterpolationProtocol {
        var text = ""
        var binds: [String?] = []

        public init(literalCapacity: Int, interpolationCount: Int) {
            text.reserveCapacity(literalCapacity + interpolationCount * 3)
        }

        public mutating func appendLiteral(_ literal: String) { text += literal }

        /// Appends `value` as the next bind parameter.
        public mutating func appendInterpolation(_ value: some PostgresEncodable) {
            binds.append(value.postgresText)
            text += "$\(binds.count)"
        }

        /// Appends an optional value; `nil` binds SQL NULL.
        public mutating func appendInterpolation(_ value: (some PostgresEncodable)?) {
            binds.append(value?.postgresText)
            text += "$\(binds.count)"
        }

        /// Appends trusted SQL text verbatim. Only for identifiers and fragments written in dirsync's source.
        public mutating func appendInterpolation(unescaped fragment: String) { text += fragment }
    }

    public init(stringLiteral value: String) {
        text = value
        binds = []
    }

    public init(stringInterpolation: StringInterpolation) {
        text = stringInterpolation.text
        binds = stringInterpolation.binds
    }

    /// A statement from text built by dirsync's own code, with no parameters.
    public init(unsafeSQL text: String, binds: [String?] = []) {
        self.text = text
        self.binds = binds
    }

    /// What errors call this statement: its name, or its first words.
    var label: String {
        if let name { return name }
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).prefix(4)
        return words.joined(separator: " ")
    }
}
