import Foundation

/// Runs a ``FleetPlan``: its tenants side by side, at most `concurrency` at once, and turns every
/// tenant's error into that tenant's result, so one tenant's failure never stops the others.
public struct FleetRunner: Sendable {
    /// Tenants synced at once.
    public let concurrency: Int
    let time: any TimeSource

    public init(concurrency: Int, time: any TimeSource = SystemTimeSource()) {
        self.concurrency = max(1, concurrency)
        self.time = time
    }

    /// Syncs every tenant of `plan` with `sync` and returns their results in tenant id order.
    ///
    /// When the run is cancelled (SIGTERM), tenants not yet started are not started: they end as
    /// `interrupted` at once, and those in progress stop after their current transaction.
    /// - Parameter sync: syncs one tenant; whatever it throws becomes the tenant's `failed` (or
    ///   `interrupted`) result.
    public func run(_ plan: FleetPlan, sync: @escaping @Sendable (TenantWork) async throws -> TenantSyncResult) async -> [TenantSyncResult] {
        let time = self.time
        let results = await withTaskGroup(of: TenantSyncResult.self) { group in
            var pending = plan.tenants[...]
            var results: [TenantSyncResult] = []
            func startNext(_ group: inout TaskGroup<TenantSyncResult>) {
                guard let work = pending.popFirst() else { return }
                group.addTask {
                    let started = time.now()
                    guard !Task.isCancelled else {
                        return TenantSyncResult(failed: work, error: CancellationError(), startedAt: started, finishedAt: started)
                    }
                    do {
                        return try await sync(work)
                    } catch {
                        return TenantSyncResult(failed: work, error: error, startedAt: started, finishedAt: time.now())
                    }
                }
            }
            for _ in 0..<concurrency { startNext(&group) }
            while let result = await group.next() {
                results.append(result)
                startNext(&group)
            }
            return results
        }
        return results.sorted { $0.tenantID.uuidString < $1.tenantID.uuidString }
    }
}

extension TenantSyncResult {
    /// The result of a tenant whose sync threw before it could report one.
    public init(failed work: TenantWork, error: any Error, startedAt: Date, finishedAt: Date) {
        let failure = SyncFailure.classify(error)
        self.init(tenantID: work.tenantID, domains: work.domains.map(\.domain), state: failure.kind == .interrupted ? .interrupted : .failed,
                  mode: .incremental, dryRun: work.options.dryRun, startedAt: startedAt, finishedAt: finishedAt)
        self.failure = failure
    }
}
