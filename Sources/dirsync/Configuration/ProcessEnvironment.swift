import Foundation
import Logging
import PostgresStore

/// How commands reach PostgreSQL: `DATABASE_URL` when set, otherwise libpq's `PG*` variables.
enum Database {
    /// Opens a session as the environment says.
    static func connect(environment: [String: String] = ProcessInfo.processInfo.environment, logger: Logger) async throws -> PostgresConnection {
        try await PostgresConnection.connect(configuration(environment: environment), logger: logger)
    }

    /// The connection settings the environment describes.
    static func configuration(environment: [String: String] = ProcessInfo.processInfo.environment) -> PostgresConfiguration {
        PostgresConfiguration(connectionString: environment["DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 })
    }
}
