import Foundation

/// Tenant-level bookkeeping on a session held for the whole of a tenant's sync: the tenant lock,
/// run records and domain verification results.
public protocol SyncLedger: Sendable {
    /// Takes the tenant's advisory lock without waiting. `false` when another run holds it.
    func tryLockTenant(_ tenantID: UUID) async throws -> Bool
    func unlockTenant(_ tenantID: UUID) async throws
    /// Marks runs of the tenant still recorded as running as interrupted: only a run holding the
    /// lock can be running, so those processes died (kill -9, node lost). Returns how many.
    func markAbandonedRuns(tenantID: UUID) async throws -> Int
    /// Records a run's start; returns its id.
    func startRun(tenantID: UUID, mode: RunMode) async throws -> Int64
    /// Records a run's end.
    func finishRun(_ runID: Int64, result: TenantSyncResult) async throws
    /// Replaces the tenant's stored domains with those Graph listed.
    func storeTenantDomains(tenantID: UUID, domains: [GraphDomain]) async throws
    /// Stores the outcome of checking that a domain is verified in its tenant.
    func recordVerification(domain: String, verified: Bool, problem: String?) async throws
    /// The tenant's stored round cursors, one per resource (an empty cursor where none is stored);
    /// `nil` when this ledger cannot read them. A run guesses its rounds' first requests from them
    /// (``RoundMachine/firstRequest(resource:options:initialLink:selection:cursor:now:)``); each round
    /// still reads its own cursor through its store.
    func storedCursors(tenantID: UUID) async throws -> [DirectoryResource: SyncCursor]?
    /// Runs `body` with a round store for one resource, on a session of its own that is closed when
    /// `body` ends.
    func withRoundStore<T: Sendable>(tenantID: UUID, resource: DirectoryResource, runID: Int64?,
                                     _ body: (any RoundStore) async throws -> T) async throws -> T
    /// Runs `body` with the tenant's first-load store, on a session of its own; `nil` when this
    /// ledger cannot hold a parallel first load (the sequential rounds then do the first sync).
    func withFirstLoadStore<T: Sendable>(tenantID: UUID, runID: Int64?, _ body: (any FirstLoadStore) async throws -> T) async throws -> T?
}

extension SyncLedger {
    public func storedCursors(tenantID: UUID) async throws -> [DirectoryResource: SyncCursor]? {
        nil
    }

    public func withFirstLoadStore<T: Sendable>(tenantID: UUID, runID: Int64?, _ body: (any FirstLoadStore) async throws -> T) async throws -> T? {
        nil
    }
}

/// The process that runs a sync, recorded with each run so a crashed one can be recognised.
public struct RunIdentity: Sendable, Equatable {
    /// The host name.
    public var host: String
    /// The process id.
    public var processID: Int

    public init(host: String, processID: Int) {
        self.host = host
        self.processID = processID
    }
}

/// The mode a run record shows.
public enum RunMode: String, Sendable, Equatable, Codable {
    case full, incremental, resync
}
