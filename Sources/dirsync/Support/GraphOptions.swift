import ArgumentParser
import DirSyncCore
import DirSyncMigrations
import Foundation
import GraphHTTP
import Logging
import PostgresStore

/// Options that choose which Microsoft cloud to talk to.
struct GraphOptions: ParsableArguments {
    @Option(name: .long, help: "National cloud: global, usgovernment, dod or china (default: DIRSYNC_CLOUD, else global).")
    var cloud: String?

    func validate() throws {
        if let cloud, GraphCloud(name: cloud) == nil {
            throw ValidationError("--cloud '\(cloud)' names no known cloud: use global, usgovernment, dod or china")
        }
    }
}

/// `--tenant-id` and `--client-id`, shared by the `domains` commands.
struct TenantOptions: ParsableArguments {
    @Option(name: .long, help: "The Entra tenant id (GUID). Otherwise the onboarded domain's, else discovered from the domain.")
    var tenantID: String?

    @Option(name: .long, help: "The app registration's client id (GUID), if not the domain's or AZURE_CLIENT_ID.")
    var clientID: String?

    func validate() throws {
        if let tenantID, UUID(uuidString: tenantID) == nil { throw ValidationError("--tenant-id '\(tenantID)' is not a GUID (like 72f988bf-86f1-41af-91ab-2d7cd011db47)") }
        if let clientID, UUID(uuidString: clientID) == nil { throw ValidationError("--client-id '\(clientID)' is not a GUID (like 11111111-2222-3333-4444-555555555555)") }
    }

    /// `--tenant-id` as a UUID.
    var tenant: UUID? { tenantID.flatMap(UUID.init(uuidString:)) }
}

extension Configuration {
    /// The production Graph wiring for commands that get tokens; a missing or bad credential exits 2.
    /// - Parameter connections: concurrent transfers (see ``GraphRuntime/make(_:version:deadline:retryPolicy:logger:connections:profiler:)``).
    func graphRuntime(logger: Logger, connections: Int = 3, profiler: any Profiler = NoProfiler()) async throws -> GraphRuntime {
        do {
            return try await GraphRuntime.make(try graphSettings(), version: DirSync.version, logger: logger, connections: connections, profiler: profiler)
        } catch let error as ConfigurationError {
            throw CommandFailure.configuration(error.description)
        } catch let error as GraphError {
            throw CommandFailure.configuration(error.description)
        }
    }

    /// A Graph client for requests that need no token (tenant discovery).
    func discoveryClient(logger: Logger) throws -> GraphClient {
        try GraphClient.withoutCredential(endpoints: endpoints, clientID: clientID, version: DirSync.version, caFile: caFile, logger: logger)
    }

    /// Runs `body` on a PostgreSQL session that is closed when `body` ends, once the database's
    /// schema is known to be the one this binary embeds (``SchemaFit``): an unmigrated, outdated or
    /// newer schema exits 2 with the fix before anything is read or written.
    /// - Parameter checkingSchema: `false` only for `dirsync migrate`, which is the fix.
    func withDatabase<T>(logger: Logger, profiler: any Profiler = NoProfiler(), checkingSchema: Bool = true,
                         _ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await PostgresConnection.withConnection(database, logger: logger, profiler: profiler) { connection in
            if checkingSchema {
                let fit = try await Migrator(connection: connection, migrations: try EmbeddedMigrations.all(), logger: logger).fit()
                if let problem = fit.problem { throw CommandFailure(.usage, problem) }
            }
            return try await body(connection)
        }
    }
}
