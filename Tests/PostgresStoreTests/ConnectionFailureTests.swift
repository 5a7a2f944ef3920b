import DirSyncTestSupport
import Foundation
import PostgresStore
import Testing

@Suite("PostgreSQL connection failures", .enabled(if: TestEnvironment.databaseTestsEnabled))
struct ConnectionFailureTests {
    /// The TCP port of the test server, read from the server itself.
    private func serverPort() async throws -> Int {
        guard let url = TestEnvironment.databaseURL else { throw TestDatabase.Unavailable() }
        return try await PostgresConnection.withConnection(PostgresConfiguration(connectionString: url), logger: TestEnvironment.quietLogger) { connection in
            try #require(try await connection.query("SELECT current_setting('port')::int AS port").first?.int("port"))
        }
    }

    private func failure(_ connectionString: String) async throws -> PostgresError {
        let configuration = PostgresConfiguration(connectionString: connectionString, defaultConnectTimeout: 3)
        return try await #require(throws: PostgresError.self) {
            _ = try await PostgresConnection.connect(configuration, logger: TestEnvironment.quietLogger)
        }
    }

    @Test("a wrong password names host, port and database, suggests the fix, and never shows the password")
    func wrongPassword() async throws {
        let port = try await serverPort()
        let error = try await failure("postgresql://postgres:Sup3rSecretPw@127.0.0.1:\(port)/postgres")
        #expect(error.code == .connectionFailed)
        #expect(error.description.contains("host 127.0.0.1"))
        #expect(error.description.contains("port \(port)"))
        #expect(error.description.contains("database postgres"))
        #expect(error.description.contains("password"))
        #expect(!error.description.contains("Sup3rSecretPw"))
        #expect(!error.debugDescription.contains("Sup3rSecretPw"))
        #expect(!error.description.contains("\n"))
    }

    @Test("a missing database says so and how to create it")
    func missingDatabase() async throws {
        guard let url = TestEnvironment.databaseURL else { throw TestDatabase.Unavailable() }
        let error = try await failure("\(url) dbname=no_such_database_here")
        #expect(error.description.contains("no_such_database_here"))
        #expect(error.description.contains("does not exist"))
        #expect(error.hint?.contains("createdb") == true)
    }

    @Test("an unreachable host or port names where it tried to connect")
    func unreachableServer() async throws {
        let error = try await failure("postgresql://dirsync:pw@127.0.0.1:1/directory")
        #expect(error.description.contains("host 127.0.0.1"))
        #expect(error.description.contains("port 1"))
        #expect(error.description.contains("database directory"))
        #expect(!error.description.contains(":pw@"))
    }

    @Test("a malformed connection string is reported as such, without echoing a password")
    func malformedConnectionString() async throws {
        let error = try await failure("postgresql://user:p%zzSecret@127.0.0.1:5432/db")
        #expect(error.code == .invalidConnectionString)
        #expect(error.description.contains("DATABASE_URL"))
        #expect(!error.description.contains("zzSecret"))
    }
}
