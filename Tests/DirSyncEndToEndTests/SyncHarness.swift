import DirSyncTestSupport
import Foundation
import PostgresStore
import Testing

/// A database, a graph-sim process and the built `dirsync`, wired together for one test.
struct SyncHarness {
    let database: TestDatabase
    let sim: GraphSimProcess
    let connection: PostgresConnection

    /// Runs `body` with a migrated database and a simulator started with `simulatorArguments`.
    static func with(_ simulatorArguments: [String], _ body: (SyncHarness) async throws -> Void) async throws {
        try await TestDatabase.with(migrated: true) { database in
            let sim = try await GraphSimProcess.start(simulatorArguments)
            defer { sim.stop() }
            let connection = try await database.connect()
            do {
                try await body(SyncHarness(database: database, sim: sim, connection: connection))
                await connection.close()
            } catch {
                await connection.close()
                throw error
            }
        }
    }

    /// Runs `dirsync` against this database and simulator.
    @discardableResult
    func dirsync(_ arguments: [String], extraEnvironment: [String: String?] = [:]) async throws -> ProductRunner.Outcome {
        try await start(arguments, extraEnvironment: extraEnvironment).finish()
    }

    /// Starts `dirsync` against this database and simulator; the caller waits for it to finish.
    func start(_ arguments: [String], extraEnvironment: [String: String?] = [:]) throws -> ProductRunner.Running {
        var environment = sim.environment(database: database)
        for (key, value) in extraEnvironment { environment[key] = value }
        return try ProductRunner.start("dirsync", arguments + ["--log-format", "json"], environment: environment)
    }

    /// Starts `dirsync run …`, waits until graph-sim holds its delta request number `after + 1` under
    /// `pathPrefix`, and kills it with SIGKILL there: a crash at a chosen point of the round.
    /// - Returns: what the killed run left behind.
    func runKilled(_ arguments: [String] = [], after: Int, pathPrefix: String = "/v1.0/users/delta") async throws -> ProductRunner.Outcome {
        try await sim.pause(after: after, pathPrefix: pathPrefix)
        let running = try start(["run"] + arguments)
        try await sim.waitUntilPaused(running)
        running.process.send(SIGKILL)
        let outcome = try await running.finish()
        try await sim.endPause()
        return outcome
    }

    /// Runs `dirsync run …` and expects exit code `expected`.
    @discardableResult
    func run(_ arguments: [String] = [], expect expected: Int32 = 0, sourceLocation: SourceLocation = #_sourceLocation) async throws -> ProductRunner.Outcome {
        let outcome = try await dirsync(["run"] + arguments)
        #expect(outcome.exitCode == expected, "dirsync run \(arguments) exited \(outcome.exitCode): \(outcome.stdout)\n\(outcome.stderr.suffix(2000))", sourceLocation: sourceLocation)
        return outcome
    }

    /// Onboards domains with their known tenants.
    func onboard(_ domains: [(String, UUID)]) async throws {
        for (domain, tenant) in domains {
            let outcome = try await dirsync(["domains", "add", domain, "--tenant-id", tenant.uuidString.lowercased()])
            #expect(outcome.exitCode == 0, "\(outcome.stderr)")
        }
    }

    /// Expects the directory tables to equal the simulator's truth for every tenant given.
    func expectTablesEqualTruth(_ tenants: [UUID], _ context: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        for tenant in tenants {
            let truth = try await sim.truth(tenant: tenant)
            let differences = try await truth.differences(from: connection, tenant: tenant)
            #expect(differences.isEmpty, "\(context): tenant \(tenant): \(differences.prefix(8).joined(separator: "\n"))", sourceLocation: sourceLocation)
        }
    }

    /// A fingerprint of every directory row version: changes whenever any row is inserted, updated or deleted.
    func rowVersions() async throws -> String {
        try await connection.query("""
            SELECT (SELECT coalesce(string_agg(xmin::text || id::text, ',' ORDER BY tenant_id, id), '') FROM directory.users)
                || '|' || (SELECT coalesce(string_agg(xmin::text || id::text, ',' ORDER BY tenant_id, id), '') FROM directory.groups)
                || '|' || (SELECT coalesce(string_agg(xmin::text || member_id::text, ',' ORDER BY tenant_id, group_id, member_id), '') FROM directory.group_members)
                || '|' || (SELECT coalesce(string_agg(xmin::text || resource, ',' ORDER BY tenant_id, resource), '') FROM directory.sync_cursors)
                || '|' || (SELECT count(*)::text FROM directory.sync_runs) AS v
            """).first?.string("v") ?? ""
    }

    func scalar(_ sql: SQL) async throws -> Int {
        try await connection.query(sql).first?.int("n") ?? -1
    }
}
