import CLibPQ
import Foundation
import Logging

/// The owner of one `PGconn*`.
///
/// It is deliberately not `Sendable`: every call blocks and must happen on the one
/// `BlockingWorker` thread of its ``PostgresConnection``. `deinit` calls `PQfinish`.
/// See https://www.postgresql.org/docs/15/libpq.html
final class LibPQConnection {
    let handle: OpaquePointer
    private let notices: NoticeSink

    /// Connects with `PQconnectdbParams` (blocking).
    /// - Throws: ``PostgresError`` naming host, port and database, without the password.
    init(configuration: PostgresConfiguration, logger: Logger) throws(PostgresError) {
        // libpq reads a string that is neither key=value nor a postgres(ql):// URI as a database name, so
        // `mysql://…` or `postgress://…` would fail later as "cannot connect … database mysql://…".
        if let text = configuration.connectionString, let scheme = text.range(of: "://").map({ text[..<$0.lowerBound] }),
           !text.contains("="), !["postgres", "postgresql"].contains(scheme.lowercased()) {
            throw PostgresError(code: .invalidConnectionString, message: "DATABASE_URL has the scheme '\(scheme.prefix(20))://'; fix DATABASE_URL: use postgresql://user:password@host:port/database or 'host=… port=… dbname=… user=…'")
        }
        let parameters = configuration.parameters
        let keywords = parameters.map { strdup($0.0) }
        let values = parameters.map { strdup($0.1) }
        defer { keywords.forEach { free($0) }; values.forEach { free($0) } }
        var keywordPointers: [UnsafePointer<CChar>?] = keywords.map { UnsafePointer($0) } + [nil]
        var valuePointers: [UnsafePointer<CChar>?] = values.map { UnsafePointer($0) } + [nil]
        guard let connection = keywordPointers.withUnsafeMutableBufferPointer({ k in
            valuePointers.withUnsafeMutableBufferPointer { v in PQconnectdbParams(k.baseAddress, v.baseAddress, 1) }
        }) else {
            throw PostgresError(code: .connectionFailed, message: "libpq could not allocate a connection (out of memory)")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let error = Self.connectionError(connection, configuration: configuration)
            PQfinish(connection)
            throw error
        }
        handle = connection
        notices = NoticeSink(logger: logger)
        PQsetNoticeProcessor(handle, { context, message in
            guard let context, let message else { return }
            let sink = Unmanaged<NoticeSink>.fromOpaque(context).takeUnretainedValue()
            sink.receive(String(cString: message))
        }, Unmanaged.passUnretained(notices).toOpaque())
    }

    deinit {
        PQfinish(handle)
    }

    /// Waits up to `timeout` seconds for `NOTIFY`s on this session (after `LISTEN`) and returns their
    /// payloads; an empty array when none arrived in time.
    func notifications(timeout: Double) throws(PostgresError) -> [String] {
        var payloads = drainNotifications()
        guard payloads.isEmpty else { return payloads }
        let socket = PQsocket(handle)
        guard socket >= 0 else { throw PostgresError(code: .connectionLost, message: "the connection to PostgreSQL is closed") }
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, Int32(max(0, timeout) * 1000))
        if ready < 0, errno != EINTR {
            throw PostgresError(code: .connectionLost, message: "waiting for notifications failed: \(String(cString: strerror(errno)))")
        }
        if ready > 0 {
            guard PQconsumeInput(handle) == 1 else {
                throw PostgresError(code: .connectionLost, message: "the connection to PostgreSQL was lost: \(PostgresError.libpqMessage(handle))")
            }
            payloads = drainNotifications()
        }
        return payloads
    }

    private func drainNotifications() -> [String] {
        var payloads: [String] = []
        while let notification = PQnotifies(handle) {
            payloads.append(String(cString: notification.pointee.extra))
            PQfreemem(notification)
        }
        return payloads
    }


    /// A connection failure worded for operators: where it tried to connect, what went wrong, how to fix it.
    private static func connectionError(_ connection: OpaquePointer, configuration: PostgresConfiguration) -> PostgresError {
        func text(_ pointer: UnsafeMutablePointer<CChar>?) -> String? {
            guard let pointer else { return nil }
            let value = String(cString: pointer)
            return value.isEmpty ? nil : value
        }
        var reason = PostgresError.libpqMessage(connection)
        // libpq may echo parts of a malformed connection string; never let a password through.
        if let password = configuration.passwordInConnectionString, !password.isEmpty {
            reason = reason.replacingOccurrences(of: password, with: "***")
        }
        if let string = configuration.connectionString, reason.contains(string) {
            reason = reason.replacingOccurrences(of: string, with: "<DATABASE_URL>")
        }
        let host = text(PQhost(connection)) ?? "(default)"
        let port = text(PQport(connection)) ?? "5432"
        let database = text(PQdb(connection)) ?? "(default)"
        let lower = reason.lowercased()
        let hint: String
        let code: PostgresError.Code
        if lower.contains("invalid uri") || lower.contains("invalid connection option") || lower.contains("missing \"=\"")
            || lower.contains("invalid percent-encoded") || lower.contains("unterminated quoted string") || lower.contains("invalid integer value") {
            code = .invalidConnectionString
            hint = "fix DATABASE_URL: use postgresql://user:password@host:port/database or 'host=… port=… dbname=… user=…'"
        } else if lower.contains("password authentication failed") || lower.contains("no password supplied") {
            code = .connectionFailed
            hint = "check the user name and password in DATABASE_URL (or PGPASSWORD / ~/.pgpass)"
        } else if lower.contains("database") && lower.contains("does not exist") {
            code = .connectionFailed
            hint = "create the database (createdb \(database)) or correct the database name in DATABASE_URL"
        } else if lower.contains("role") && lower.contains("does not exist") {
            code = .connectionFailed
            hint = "create the role or correct the user name in DATABASE_URL"
        } else if lower.contains("could not translate host name") || lower.contains("name or service not known") {
            code = .connectionFailed
            hint = "check the host name in DATABASE_URL"
        } else if lower.contains("timeout expired") {
            code = .connectionFailed
            hint = "the server did not answer in time: check host, port and firewalls, or raise connect_timeout"
        } else {
            code = .connectionFailed
            hint = "check that PostgreSQL is running and accepts connections there, and that DATABASE_URL is right"
        }
        return PostgresError(
            code: code,
            message: "cannot connect to PostgreSQL at host \(host), port \(port), database \(database): \(reason)",
            hint: hint
        )
    }

    /// Runs a parameterized statement with `PQexecParams` (text-format parameters and results).
    func execute(_ sql: SQL) throws(PostgresError) -> PostgresRows {
        let cStrings: [UnsafeMutablePointer<CChar>?] = sql.binds.map { $0.flatMap { strdup($0) } }
        defer { cStrings.forEach { free($0) } }
        let values: [UnsafePointer<CChar>?] = cStrings.map { $0.map { UnsafePointer($0) } }
        let result = values.withUnsafeBufferPointer {
            PQexecParams(handle, sql.text, Int32(sql.binds.count), nil, $0.baseAddress, nil, nil, 0)
        }
        defer { PQclear(result) }
        return try rows(of: result, statement: sql.label)
    }

    /// Runs trusted, parameterless SQL that may hold several statements (migration files), with `PQexec`.
    func executeScript(_ text: String, label: String) throws(PostgresError) {
        let result = PQexec(handle, text)
        defer { PQclear(result) }
        _ = try rows(of: result, statement: label)
    }

    private func rows(of result: OpaquePointer?, statement: String) throws(PostgresError) -> PostgresRows {
        let status = result.map { PQresultStatus($0) } ?? PGRES_FATAL_ERROR
        switch status {
        case PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return PostgresRows(columns: [], cells: [], statement: statement, affectedRows: Self.affectedRows(result))
        case PGRES_TUPLES_OK:
            guard let result else { break }
            let columnCount = Int(PQnfields(result))
            let rowCount = Int(PQntuples(result))
            let columns = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
            var cells: [[String?]] = []
            cells.reserveCapacity(rowCount)
            for row in 0..<rowCount {
                var values: [String?] = []
                values.reserveCapacity(columnCount)
                for column in 0..<columnCount {
                    if PQgetisnull(result, Int32(row), Int32(column)) == 1 {
                        values.append(nil)
                    } else {
                        values.append(String(cString: PQgetvalue(result, Int32(row), Int32(column))))
                    }
                }
                cells.append(values)
            }
            return PostgresRows(columns: columns, cells: cells, statement: statement, affectedRows: Self.affectedRows(result))
        default:
            break
        }
        throw PostgresError.fromResult(result, connection: handle, code: .queryFailed, statement: statement)
    }

    private static func affectedRows(_ result: OpaquePointer?) -> Int {
        guard let result, let text = PQcmdTuples(result) else { return 0 }
        return Int(String(cString: text)) ?? 0
    }

    /// Streams `data` into a `COPY … FROM STDIN` statement in 256 KiB pieces.
    /// - Returns: the number of rows the server reports copied.
    func copyIn(_ statement: SQL, data: [UInt8]) throws(PostgresError) -> Int {
        let start = PQexec(handle, statement.text)
        let status = start.map { PQresultStatus($0) } ?? PGRES_FATAL_ERROR
        guard status == PGRES_COPY_IN else {
            defer { PQclear(start) }
            throw PostgresError.fromResult(start, connection: handle, code: .copyFailed, statement: statement.label)
        }
        PQclear(start)
        let chunk = 256 * 1024
        var offset = 0
        var sendFailed = false
        data.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                while offset < chars.count {
                    let length = min(chunk, chars.count - offset)
                    if PQputCopyData(handle, chars.baseAddress! + offset, Int32(length)) != 1 { sendFailed = true; return }
                    offset += length
                }
            }
        }
        let endResult = PQputCopyEnd(handle, sendFailed ? "dirsync aborted the COPY" : nil)
        var failure: PostgresError?
        var copied = 0
        while let result = PQgetResult(handle) {
            if PQresultStatus(result) != PGRES_COMMAND_OK, failure == nil {
                failure = PostgresError.fromResult(result, connection: handle, code: .copyFailed, statement: statement.label)
            } else if let tuples = PQcmdTuples(result), let count = Int(String(cString: tuples)) {
                copied = count
            }
            PQclear(result)
        }
        if let failure { throw failure }
        if sendFailed || endResult != 1 {
            throw PostgresError(code: .connectionLost, message: PostgresError.libpqMessage(handle), statement: statement.label)
        }
        return copied
    }
}

@available(*, unavailable)
extension LibPQConnection: Sendable {}

/// Receives libpq NOTICE messages and logs them instead of letting libpq print to stderr.
private final class NoticeSink {
    let logger: Logger
    init(logger: Logger) { self.logger = logger }
    func receive(_ message: String) {
        logger.debug("postgres notice", metadata: ["notice": "\(message.trimmingCharacters(in: .whitespacesAndNewlines))"])
    }
}
