import ArgumentParser
import DirSyncCore
import Foundation
import GraphHTTP
import Logging

/// Options that choose which Microsoft cloud to talk to.
struct GraphOptions: ParsableArguments {
    @Option(name: .long, help: "National cloud: global, usgovernment, dod or china (default: DIRSYNC_CLOUD, else global).")
    var cloud: String?

    func validate() throws {
        if let cloud, GraphCloud(name: cloud) == nil {
            throw ValidationError("--cloud '\(cloud)' names no known cloud: use global, usgovernment, dod or china")
        }
    }

    /// Builds the Graph runtime from the environment; configuration problems exit 2 with the fix.
    /// - Parameter concurrentTenants: tenants synced at once (sizes the connection pool).
    func runtime(logger: Logger, deadline: Date? = nil, concurrentTenants: Int = 1) throws -> GraphRuntime {
        var environment = ProcessInfo.processInfo.environment
        if let cloud { environment["DIRSYNC_CLOUD"] = cloud }
        do {
            return try GraphClient.make(environment: environment, version: DirSync.version, deadline: deadline, logger: logger,
                                        connections: 2 * concurrentTenants + 1)
        } catch let error as GraphError {
            throw CommandFailure.configuration(error.description)
        }
    }
}
