import BlockingCalls
import DirSyncCore
import Logging

/// One PostgreSQL session, usable from async code.
///
/// Every libpq call blocks, so each connection owns a ``BlockingWorker`` thread and its
/// `PGconn*` lives only there; calls from tasks are queued to that thread and awaited. Statements on
/// one connection therefore run one at a time, in order. Use one connection per concurrent unit of
/// work (a tenant's users round and groups round each get their own).
public final class PostgresConnection: Sendable {
    /// Holds the non-Sendable libpq owner. Only closures running on `worker` touch `connection`.
    private final class Box: @unchecked Sendable {
        var connection: LibPQConnection?
        init(_ connection: LibPQConnection) { self.connection = connection }
    }

    private let worker: BlockingWorker
    private let box: Box
    /// The logger NOTICEs and statement failures go to.
    public let logger: Logger
    /// Where the CPU of libpq calls (and of encoding rows for them) is counted.
    public let profiler: any Profiler

    private init(worker: BlockingWorker, box: Box, logger: Logger, profiler: any Profiler) {
        self.worker = worker
        self.box = box
        self.logger = logger
        self.profiler = profiler
    }

    deinit {
        worker.shutdown()
    }

    /// Opens a connection.
    /// - Parameters:
    ///   - configuration: where to connect.
    ///   - logger: receives server NOTICEs at debug level.
    ///   - profiler: counts the CPU of libpq calls (``ProfilePhase/write``).
    /// - Throws: ``PostgresError`` whose description names host, port and database and a fix.
    public static func connect(_ configuration: PostgresConfiguration, logger: Logger, profiler: any Profiler = NoProfiler()) async throws -> PostgresConnection {
        let worker = BlockingWorker(name: "dirsync-postgres")
        do {
            let box = try await worker.run { Box(try LibPQConnection(configuration: configuration, logger: logger)) }
            let connection = PostgresConnection(worker: worker, box: box, logger: logger, profiler: profiler)
            try await connection.execute("SET TimeZone = 'UTC'")
            try await connection.execute("SET DateStyle = 'ISO'")
            return connection
        } catch {
            worker.shutdown()
            throw error
        }
    }

    /// Opens a session, runs `body` with it and closes it, whether `body` returns or throws: the
    /// session never outlives the scope.
    public static func withConnection<T>(_ configuration: PostgresConfiguration, logger: Logger, profiler: any Profiler = NoProfiler(),
                                         _ body: (PostgresConnection) async throws -> T) async throws -> T {
        let connection = try await connect(configuration, logger: logger, profiler: profiler)
        do {
            let value = try await body(connection)
            await connection.close()
            return value
        } catch {
            await connection.close()
            throw error
        }
    }

    private func onSession<T: Sendable>(_ body: @escaping @Sendable (LibPQConnection) throws -> T) async throws -> T {
        let box = self.box
        let profiler = profiler
        return try await worker.run {
            guard let connection = box.connection else {
                throw PostgresError(code: .connectionLost, message: "the connection was closed")
            }
            return try profiler.measure(.write) { try body(connection) }
        }
    }

    /// Runs a statement and returns its rows. Interpolated values are sent as parameters.
    /// - Parameters:
    ///   - sql: the statement.
    ///   - name: what error messages call it (defaults to its first words).
    @discardableResult
    public func query(_ sql: SQL, name: String? = nil) async throws -> PostgresRows {
        var statement = sql
        if let name { statement.name = name }
        return try await onSession { [statement] in try $0.execute(statement) }
    }

    /// Runs a statement whose rows are not needed.
    @discardableResult
    public func execute(_ sql: SQL, name: String? = nil) async throws -> PostgresRows {
        try await query(sql, name: name)
    }

    /// Waits up to `timeout` seconds for notifications on this session (after `LISTEN`); returns their
    /// payloads, or none when the time ran out. Runs on the connection's own thread.
    public func notifications(timeout: Double) async throws -> [String] {
        try await onSession { try $0.notifications(timeout: timeout) }
    }

    /// Runs trusted SQL text holding several statements and no parameters (migration files only).
    public func executeScript(_ text: String, label: String) async throws {
        try await onSession { try $0.executeScript(text, label: label) }
    }

    /// Streams COPY text-format rows into `statement` (`COPY table (columns) FROM STDIN`).
    /// - Returns: the number of rows copied.
    @discardableResult
    public func copyIn(_ statement: SQL, data: [UInt8]) async throws -> Int {
        try await onSession { try $0.copyIn(statement, data: data) }
    }

    /// Streams a ``CopyBuffer`` into `statement`.
    @discardableResult
    public func copyIn(_ statement: SQL, buffer: CopyBuffer) async throws -> Int {
        try await copyIn(statement, data: buffer.bytes)
    }

    /// Runs `body` in a transaction: COMMIT when it returns, ROLLBACK when it throws (the error is rethrown).
    @discardableResult
    public func withTransaction<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await execute("BEGIN")
        let value: T
        do {
            value = try await body(self)
        } catch {
            do {
                try await execute("ROLLBACK")
            } catch {
                logger.debug("rollback failed", metadata: ["error": "\(error)"])
            }
            throw error
        }
        try await execute("COMMIT")
        return value
    }

    /// Ends the session (`PQfinish`) and stops the worker thread. Later calls throw.
    public func close() async {
        let box = self.box
        _ = try? await worker.run { box.connection = nil }
        worker.shutdown()
    }
}
