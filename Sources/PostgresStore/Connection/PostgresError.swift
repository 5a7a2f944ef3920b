import CLibPQ
import DirSyncCore
import Foundation

/// A failure talking to PostgreSQL: connecting, running a statement, or streaming COPY data.
///
/// `description` is written for operators and never contains the password or the full connection
/// string; it names host, port and database for connection failures and suggests a fix.
/// `debugDescription` adds the server's detail fields and where in dirsync the error was raised.
public struct PostgresError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The kind of failure. New kinds can be added without breaking callers.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case connectionFailed, invalidConnectionString, queryFailed, copyFailed, connectionLost, decodingFailed, lockNotAvailable
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The server could not be reached or refused the login.
        public static let connectionFailed = Code(.connectionFailed)
        /// `DATABASE_URL` could not be parsed.
        public static let invalidConnectionString = Code(.invalidConnectionString)
        /// The server rejected a statement; see ``PostgresError/sqlState``.
        public static let queryFailed = Code(.queryFailed)
        /// A `COPY … FROM STDIN` failed.
        public static let copyFailed = Code(.copyFailed)
        /// The connection broke while in use.
        public static let connectionLost = Code(.connectionLost)
        /// A result column did not hold the type the caller asked for.
        public static let decodingFailed = Code(.decodingFailed)
        /// An advisory lock was held by another session.
        public static let lockNotAvailable = Code(.lockNotAvailable)

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// The five-character SQLSTATE the server reported, e.g. `23505` (unique violation).
    public var sqlState: String?
    /// The server's primary message, or libpq's.
    public var message: String
    /// The server's DETAIL field.
    public var detail: String?
    /// The server's HINT field, or dirsync's suggested fix.
    public var hint: String?
    /// The statement's name (or the first words of its text); never its parameter values.
    public var statement: String?
    public var file: String
    public var line: Int

    public init(
        code: Code, sqlState: String? = nil, message: String, detail: String? = nil, hint: String? = nil,
        statement: String? = nil, file: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
        self.hint = hint
        self.statement = statement
        self.file = file
        self.line = line
    }

    public var description: String {
        var text = message
        if let statement { text = "\(statement): \(text)" }
        if let sqlState { text += " (SQLSTATE \(sqlState))" }
        if let hint { text += "; \(hint)" }
        return text
    }

    public var debugDescription: String {
        var text = "PostgresError(\(code)) \(description)"
        if let detail { text += " detail: \(detail)" }
        text += " [\(file):\(line)]"
        return text
    }
}

extension PostgresError {
    /// Builds an error from a failed `PGresult`, reading the server's diagnostic fields.
    static func fromResult(_ result: OpaquePointer?, connection: OpaquePointer, code: Code, statement: String?, file: String = #fileID, line: Int = #line) -> PostgresError {
        func field(_ name: Int32) -> String? {
            guard let result, let value = PQresultErrorField(result, name) else { return nil }
            let text = String(cString: value)
            return text.isEmpty ? nil : text
        }
        let sqlState = field(Int32(UInt8(ascii: "C")))  // PG_DIAG_SQLSTATE
        var message = field(Int32(UInt8(ascii: "M"))) ?? libpqMessage(connection)  // PG_DIAG_MESSAGE_PRIMARY
        if message.isEmpty { message = "the server closed the connection unexpectedly" }
        let lost = PQstatus(connection) == CONNECTION_BAD
        return PostgresError(
            code: lost ? .connectionLost : code,
            sqlState: sqlState,
            message: message,
            detail: field(Int32(UInt8(ascii: "D"))),  // PG_DIAG_MESSAGE_DETAIL
            hint: field(Int32(UInt8(ascii: "H"))),  // PG_DIAG_MESSAGE_HINT
            statement: statement,
            file: file,
            line: line
        )
    }

    /// libpq's last error message for a connection, trimmed to one line.
    static func libpqMessage(_ connection: OpaquePointer) -> String {
        guard let raw = PQerrorMessage(connection) else { return "" }
        return String(cString: raw).split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }.joined(separator: " ")
    }
}

extension PostgresError: SyncFailureConvertible {
    public var syncFailure: SyncFailure {
        SyncFailure(kind: .database, message: "PostgreSQL: \(description)")
    }
}
