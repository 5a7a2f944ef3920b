import ArgumentParser
import DirSyncCore
import Foundation
import GraphHTTP
import Logging
import PostgresStore

/// `dirsync run`: syncs every enabled domain's tenant.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Sync users, groups and memberships of every enabled domain's tenant into PostgreSQL.",
        discussion: """
            Domains sharing a tenant are synced once. Each tenant is guarded by a PostgreSQL advisory \
            lock, so an overlapping run skips it and says so. Each page is written in one transaction \
            with its resume point: a run killed at any instant resumes where it stopped. SIGTERM or \
            SIGINT finishes the current page, records the run as interrupted and exits.

            Exit codes: 0 all synced (or skipped because another run holds them), 1 some failed, \
            2 usage or configuration error, 3 halted by the deletion guard.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var graph: GraphOptions

    @Option(name: .customLong("domain"), help: "Sync only this domain's tenant (repeatable).")
    var domains: [String] = []

    @Flag(name: .long, help: "Start a full round even where a delta link is stored (objects not seen are then marked deleted).")
    var full = false

    @Flag(name: .long, help: "Fetch and report what would change; write nothing.")
    var dryRun = false

    @Flag(name: .long, help: "Apply deletions even above the deletion guard's limit (after review).")
    var allowDeletes = false

    @Option(name: .long, help: "Tenants synced at once.")
    var concurrency = 4

    @Option(name: .long, help: "Deletion guard: most objects one round may delete (default: 20% of the tenant or 500, whichever is smaller, at least 10).")
    var maxDeletions: Int?

    @Option(name: .long, help: "Write per-domain metrics in the Prometheus text format to this file at the end (atomically), for the node_exporter textfile collector.")
    var metricsFile: String?

    @Option(name: .long, help: ArgumentHelp(
        "Sync only the tenants of shard K of N (0 ≤ K < N), for N runs side by side; a tenant's shard is a stable hash of its id.",
        valueName: "K/N"))
    var shard: String?

    func validate() throws {
        guard (1...64).contains(concurrency) else { throw ValidationError("--concurrency must be between 1 and 64, not \(concurrency)") }
        if let maxDeletions, maxDeletions < 0 { throw ValidationError("--max-deletions must be 0 or more, not \(maxDeletions)") }
        for domain in domains {
            do { _ = try DomainName.normalize(domain) } catch { throw ValidationError(error.description) }
        }
        if shard != nil, !domains.isEmpty {
            throw ValidationError("--shard and --domain cannot be combined: a shard syncs the tenants the hash assigns it, --domain names tenants explicitly")
        }
        _ = try parsedShard()
    }

    /// `--shard` parsed; `nil` without it.
    private func parsedShard() throws -> TenantShard? {
        guard let shard else { return nil }
        do { return try TenantShard(parsing: shard) } catch { throw ValidationError(error.description) }
    }

    func run() async throws {
        let logger = global.makeLogger()
        let runtime = try graph.runtime(logger: logger, concurrentTenants: concurrency)
        let connection = try await Database.connect(logger: logger)
        let all = try await PostgresDomainStore(connection: connection).list()
        await connection.close()
        var selected = try select(from: all)
        guard !selected.isEmpty else {
            print("no enabled domains to sync; onboard one with dirsync domains add DOMAIN")
            return
        }
        if let shard = try parsedShard() {
            let owned = selected.filter { shard.owns($0.tenantID) }
            let ownedCount = Set(owned.map(\.tenantID)).count, enabledCount = Set(selected.map(\.tenantID)).count
            logger.info("this shard owns \(ownedCount) of \(enabledCount) enabled tenants",
                        metadata: ["shard": "\(shard)", "shard.tenants": "\(ownedCount)", "tenants.enabled": "\(enabledCount)"])
            guard !owned.isEmpty else {
                print("shard \(shard) owns none of the \(enabledCount) enabled tenants; nothing to sync")
                return
            }
            selected = owned
        }
        let tenants = Dictionary(grouping: selected, by: \.tenantID).sorted { $0.key.uuidString < $1.key.uuidString }
        let options = RoundOptions(forceFull: full, dryRun: dryRun, deletionGuard: DeletionGuard(fixedLimit: maxDeletions, allowDeletes: allowDeletes))
        let configuration = Database.configuration()
        let concurrency = self.concurrency
        let reporter = ProgressReporter(interactive: isatty(STDERR_FILENO) == 1 && global.logFormat != .json, logger: logger)
        let reporting = Task { await reporter.run() }

        let work = Task {
            try await withThrowingTaskGroup(of: TenantSyncResult.self) { group in
                var pending = tenants[...]
                var results: [TenantSyncResult] = []
                func startNext(_ group: inout ThrowingTaskGroup<TenantSyncResult, any Error>) {
                    guard let (tenantID, domains) = pending.popFirst() else { return }
                    group.addTask {
                        let result = await Self.syncTenant(tenantID, domains: domains, options: options, runtime: runtime, database: configuration,
                                                           logger: logger) { reporter.update(tenant: tenantID, report: $0) }
                        reporter.finish(tenant: tenantID)
                        return result
                    }
                }
                for _ in 0..<concurrency { startNext(&group) }
                while let result = try await group.next() {
                    results.append(result)
                    startNext(&group)
                }
                return results.sorted { $0.tenantID.uuidString < $1.tenantID.uuidString }
            }
        }
        ShutdownSignals.install { _ in work.cancel() }
        let results = try await work.value
        reporting.cancel()
        await reporting.value
        print(RunSummary.render(results))
        if let metricsFile { try await writeMetrics(to: metricsFile, logger: logger) }
        if let status = RunSummary.exitStatus(results), status != .success {
            throw CommandFailure(status, RunSummary.headline(results))
        }
    }

    /// Writes the per-domain metrics next to `path` and renames it into place, so a collector never
    /// reads a half-written file.
    private func writeMetrics(to path: String, logger: Logger) async throws {
        let connection = try await Database.connect(logger: logger)
        let statuses = try await StatusCommand.statuses(connection: connection, domains: [])
        await connection.close()
        let temporary = path + ".tmp-\(ProcessInfo.processInfo.processIdentifier)"
        do {
            try Data(StatusRenderer.prometheus(statuses).utf8).write(to: URL(fileURLWithPath: temporary))
            if rename(temporary, path) != 0 {
                throw CommandFailure(.failure, "cannot move the metrics file into place at \(path): \(String(cString: strerror(errno)))")
            }
        } catch let failure as CommandFailure {
            try? FileManager.default.removeItem(atPath: temporary)
            throw failure
        } catch {
            throw CommandFailure(.failure, "cannot write the metrics file \(path): \(error.localizedDescription); check that its directory exists and is writable")
        }
    }

    /// The enabled domains to sync: all of them, or those named with --domain (each must exist and be enabled).
    private func select(from all: [DomainRecord]) throws -> [DomainRecord] {
        guard !domains.isEmpty else { return all.filter(\.enabled) }
        var chosen: [DomainRecord] = []
        for name in try domains.map(DomainName.normalize) {
            guard let record = all.first(where: { $0.domain == name }) else {
                throw CommandFailure(.usage, "\(name) is not onboarded; add it with dirsync domains add \(name)")
            }
            guard record.enabled else {
                throw CommandFailure(.usage, "\(name) is disabled; enable it again with dirsync domains add \(name)")
            }
            chosen.append(record)
        }
        // Other enabled domains of the chosen tenants come along: a tenant is synced once for all its domains.
        let tenants = Set(chosen.map(\.tenantID))
        return all.filter { $0.enabled && tenants.contains($0.tenantID) }
    }

    /// Syncs one tenant on sessions of its own; never throws: failures become the tenant's result.
    private static func syncTenant(_ tenantID: UUID, domains: [DomainRecord], options: RoundOptions, runtime: GraphRuntime,
                                   database: PostgresConfiguration, logger: Logger,
                                   progress: @escaping @Sendable (RoundReport) -> Void) async -> TenantSyncResult {
        var tenantLogger = logger
        tenantLogger[metadataKey: "tenant.id"] = "\(tenantID.uuidString.lowercased())"
        let started = Date()
        var tenantOptions = options
        if options.deletionGuard.fixedLimit == nil, let limit = domains.compactMap(\.deletionLimit).min() {
            tenantOptions.deletionGuard.fixedLimit = limit
        }
        do {
            let client = try runtime.makeClient(logger: tenantLogger)
            let clientID = domains.compactMap(\.clientID).first?.uuidString.lowercased()
            let source = client.tenant(tenantID.uuidString.lowercased(), clientID: clientID)
            let session = try await PostgresConnection.connect(database, logger: tenantLogger)
            let ledger = PostgresSyncLedger(connection: session, configuration: database, logger: tenantLogger)
            let sync = TenantSync(ledger: ledger, source: source, time: SystemTimeSource(), logger: tenantLogger,
                                  throttledCount: { client.statistics.throttled })
            let request = TenantSyncRequest(tenantID: tenantID, domains: domains, options: tenantOptions)
            do {
                let result = try await sync.run(request, progress: progress)
                await session.close()
                RunSummary.log(result, logger: tenantLogger)
                return result
            } catch {
                await session.close()
                throw error
            }
        } catch {
            let failure = SyncFailure.classify(error)
            tenantLogger.error("tenant sync failed", metadata: ["error.class": "\(failure.kind.rawValue)", "error": "\(failure.message)"])
            var result = TenantSyncResult(tenantID: tenantID, domains: domains.map(\.domain), state: failure.kind == .interrupted ? .interrupted : .failed,
                                          mode: .incremental, dryRun: options.dryRun, startedAt: started, finishedAt: Date())
            result.failure = failure
            return result
        }
    }
}
