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
        "How a tenant's first sync reads it: parallel (listing and scoped delta chains, many requests in flight), delta (the sequential delta rounds), or auto (parallel from \(FirstLoadPlan.parallelThreshold) users and groups).",
        valueName: "auto|parallel|delta"))
    var firstLoad: FirstLoadSetting = .auto

    @Option(name: .long, help: ArgumentHelp(
        "A parallel first load waits this long after taking its delta links before listing, so changes made just before replicate (e.g. 2m, 0s).",
        valueName: "duration"))
    var firstLoadWait = "2m"

    @Option(name: .long, help: ArgumentHelp(
        "Extra user properties to keep in directory.users.attributes, comma-separated Graph names (default: DIRSYNC_USER_PROPERTIES). A change starts one full users round.",
        valueName: "names"))
    var userProperties: String?

    @Option(name: .long, help: ArgumentHelp(
        "Extra group properties to keep in directory.groups.attributes (default: DIRSYNC_GROUP_PROPERTIES). A change starts one full groups round.",
        valueName: "names"))
    var groupProperties: String?

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
        _ = try selection()
        _ = try firstLoadWaitSeconds()
    }

    /// `--first-load-wait` in seconds (`0s` allowed: no wait).
    private func firstLoadWaitSeconds() throws -> TimeInterval {
        if ["0", "0s", "0m"].contains(firstLoadWait.trimmingCharacters(in: .whitespaces)) { return 0 }
        do { return try StatusDuration.parse(firstLoadWait) } catch { throw ValidationError("--first-load-wait \(error.description)") }
    }

    /// Which domains the flags select.
    private func selection() throws -> DomainSelection {
        if let shard {
            do { return .shard(try TenantShard(parsing: shard)) } catch { throw ValidationError(error.description) }
        }
        return domains.isEmpty ? .all : .named(try domains.map(DomainName.normalize))
    }

    func run() async throws {
        let logger = global.makeLogger()
        let configuration = try global.configuration(cloud: graph.cloud, userProperties: userProperties, groupProperties: groupProperties)
        let profiler = configuration.profile ? CPUTimeProfiler() : nil
        // Each tenant runs its rounds side by side, each with a request in flight, plus token requests.
        let runtime = try await configuration.graphRuntime(logger: logger, connections: 3 * concurrency + 1, profiler: profiler ?? NoProfiler())
        let records = try await configuration.withDatabase(logger: logger) { try await PostgresDomainStore(connection: $0).list() }
        let selection = try selection()
        var options = RoundOptions(forceFull: full, dryRun: dryRun, deletionGuard: DeletionGuard(fixedLimit: maxDeletions, allowDeletes: allowDeletes))
        options.firstLoad = firstLoad
        options.firstLoadWait = try firstLoadWaitSeconds()
        let plan: FleetPlan
        do { plan = try FleetPlan.plan(domains: records, selection: selection, options: options) } catch { throw CommandFailure(.usage, error.message) }
        if case .shard(let shard) = selection {
            logger.info("this shard owns \(plan.tenants.count) of \(plan.enabledTenantCount) enabled tenants",
                        metadata: ["shard": "\(shard)", "shard.tenants": "\(plan.tenants.count)", "tenants.enabled": "\(plan.enabledTenantCount)"])
        }
        if let nothingToDo = plan.nothingToDo {
            print(nothingToDo)
            return
        }

        let reporter = ProgressReporter(interactive: isatty(STDERR_FILENO) == 1 && global.logFormat != .json, logger: logger)
        let reporting = Task { await reporter.run() }
        let wiring = TenantWiring(runtime: runtime, configuration: configuration, profiler: profiler ?? NoProfiler(), reporter: reporter, logger: logger,
                                  fleet: FleetResourceUnits())
        let fleet = FleetRunner(concurrency: concurrency)
        let work = Task { await fleet.run(plan) { try await wiring.sync($0) } }
        ShutdownSignals.install { _ in work.cancel() }
        let results = await work.value
        reporting.cancel()
        await reporting.value

        print(RunSummary.render(results))
        if let metricsFile { try await writeMetrics(to: metricsFile, configuration: configuration, logger: logger) }
        if let profiler { FileHandle.standardError.write(Data((profiler.report + "\n").utf8)) }
        switch RunOutcome(results) {
        case .succeeded: return
        case .failed: throw CommandFailure(.failure, RunOutcome.headline(results) ?? "a tenant failed")
        case .halted: throw CommandFailure(.halted, RunOutcome.headline(results) ?? "a tenant was halted")
        }
    }

    /// Writes the per-domain metrics next to `path` and renames it into place, so a collector never
    /// reads a half-written file.
    private func writeMetrics(to path: String, configuration: Configuration, logger: Logger) async throws {
        let context = try await configuration.statusContext()
        let statuses = try await configuration.withDatabase(logger: logger) { connection in
            try await StatusCommand.statuses(connection: connection, domains: [], context: context)
        }
        let temporary = path + ".tmp-\(configuration.identity.processID)"
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
}

/// Wires one tenant's sync: its Graph client view, a PostgreSQL session that holds its lock for the
/// whole sync (closed when the sync ends), and the engine.
struct TenantWiring: Sendable {
    let runtime: GraphRuntime
    let configuration: Configuration
    let profiler: any Profiler
    let reporter: ProgressReporter
    let logger: Logger
    /// The resource units every tenant's first load spends together.
    let fleet: FleetResourceUnits

    func sync(_ work: TenantWork) async throws -> TenantSyncResult {
        var logger = self.logger
        logger[metadataKey: "tenant.id"] = "\(work.tenantID.uuidString.lowercased())"
        defer { reporter.finish(tenant: work.tenantID) }
        do {
            let client = try runtime.makeClient(logger: logger)
            let source = client.tenant(work.tenantID.uuidString.lowercased(), clientID: work.clientID)
            let result = try await PostgresConnection.withConnection(configuration.database, logger: logger, profiler: profiler) { session in
                let ledger = PostgresSyncLedger(connection: session, configuration: configuration.database, identity: configuration.identity,
                                                schema: configuration.schema, logger: logger)
                let sync = TenantSync(ledger: ledger, source: source, time: SystemTimeSource(), logger: logger, profiler: profiler,
                                      throttledCount: { client.statistics.throttled }, fleet: fleet)
                let request = TenantSyncRequest(tenantID: work.tenantID, domains: work.domains, options: work.options)
                return try await sync.run(request) { reporter.update(tenant: work.tenantID, domains: work.domains.map(\.domain), report: $0) }
            }
            RunSummary.log(result, logger: logger)
            return result
        } catch {
            let failure = SyncFailure.classify(error)
            logger.error("tenant sync failed", metadata: ["error.class": "\(failure.kind.rawValue)", "error": "\(failure.message)"])
            throw error
        }
    }
}
