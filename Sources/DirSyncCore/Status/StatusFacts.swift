import Foundation

/// One `directory.sync_runs` row, as status needs it.
public struct RunRecord: Sendable, Equatable {
    public var runID: Int64
    public var startedAt: Date
    public var finishedAt: Date?
    public var mode: String
    public var state: String
    public var pages: Int
    public var objectsUpserted: Int
    public var objectsDeleted: Int
    public var throttled: Int
    public var errorClass: String?
    public var errorMessage: String?
    public var deletionsPending: Int?
    public var deletionLimit: Int?
    /// Why its rounds were not the usual ones (resyncs and their causes), by resource.
    public var reason: String?

    public init(runID: Int64, startedAt: Date, finishedAt: Date? = nil, mode: String, state: String, pages: Int = 0, objectsUpserted: Int = 0,
                objectsDeleted: Int = 0, throttled: Int = 0, errorClass: String? = nil, errorMessage: String? = nil,
                deletionsPending: Int? = nil, deletionLimit: Int? = nil, reason: String? = nil) {
        self.reason = reason
        self.runID = runID
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.mode = mode
        self.state = state
        self.pages = pages
        self.objectsUpserted = objectsUpserted
        self.objectsDeleted = objectsDeleted
        self.throttled = throttled
        self.errorClass = errorClass
        self.errorMessage = errorMessage
        self.deletionsPending = deletionsPending
        self.deletionLimit = deletionLimit
    }
}

/// Live progress of one resource's round (`directory.sync_progress`).
public struct ProgressRecord: Sendable, Equatable {
    public var resource: DirectoryResource
    public var runID: Int64
    /// `fetch`, `sweep` or `done`.
    public var phase: ProgressPhase
    public var pages: Int
    public var objects: Int
    public var expectedTotal: Int?
    public var startedAt: Date
    public var updatedAt: Date
    /// Why the round is not the usual one (a resync and its cause).
    public var note: String?

    public init(resource: DirectoryResource, runID: Int64, phase: ProgressPhase, pages: Int, objects: Int, expectedTotal: Int?, startedAt: Date, updatedAt: Date,
                note: String? = nil) {
        self.note = note
        self.resource = resource
        self.runID = runID
        self.phase = phase
        self.pages = pages
        self.objects = objects
        self.expectedTotal = expectedTotal
        self.startedAt = startedAt
        self.updatedAt = updatedAt
    }
}

/// The latest onboarding preflight of a domain (`directory.domain_checks`).
public struct DomainCheckRecord: Sendable, Equatable {
    public var checkedAt: Date
    public var ok: Bool
    public var consentMissing: Bool
    public var missingPermissions: [String]
    public var domainVerified: Bool?
    /// One line with the fix; `nil` when every check passed.
    public var message: String?

    public init(checkedAt: Date, ok: Bool, consentMissing: Bool = false, missingPermissions: [String] = [], domainVerified: Bool? = nil, message: String? = nil) {
        self.checkedAt = checkedAt
        self.ok = ok
        self.consentMissing = consentMissing
        self.missingPermissions = missingPermissions
        self.domainVerified = domainVerified
        self.message = message
    }
}

/// What the database knows about one onboarded domain and its tenant.
public struct StatusFacts: Sendable, Equatable {
    public var domain: DomainRecord
    public var users = 0
    public var groups = 0
    public var contacts = 0
    public var memberships = 0
    /// Verified email domains of the tenant that are not onboarded (from its last listed domains).
    public var unonboardedEmailDomains: [String] = []
    /// Live users whose UPN, mail or a proxy address is in this domain.
    public var domainUsers = 0
    /// The tenant's newest run, whatever its state.
    public var lastRun: RunRecord?
    /// The tenant's newest succeeded run.
    public var lastSuccess: RunRecord?
    /// Whether a dirsync process holds the tenant's lock right now.
    public var lockHeld = false
    /// Oldest stored deltaLink time across the tenant's resources (`nil` when any resource has none).
    public var deltaLinkAt: Date?
    /// Progress rows of the tenant's current or last run.
    public var progress: [ProgressRecord] = []
    /// The domain's latest `dirsync domains check`, if any.
    public var lastCheck: DomainCheckRecord?

    public init(domain: DomainRecord) {
        self.domain = domain
    }
}
