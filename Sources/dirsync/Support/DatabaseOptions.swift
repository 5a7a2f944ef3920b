import Foundation
import Logging
import PostgresStore

/// How commands reach PostgreSQL: `DATABASE_URL` when set, otherwise libpq's `PG*` variables.
enum Database {
    /// Opens a session as the environment says.
    static func connect(environment: [String: String] = ProcessInfo.processInfo.environment, logger: Logger) async throws -> PostgresConnection {
        let url = environment["DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
        return try await PostgresConnection.connect(PostgresConfiguration(connectionString: url), logger: logger)
    }
}
