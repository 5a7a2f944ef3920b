import Foundation

/// The status of one onboarded domain, as `dirsync status` shows it.
///
/// The JSON form (``DomainStatus/jsonObject``) is a stable, documented contract: fields are only added.
public struct DomainStatus: Sendable, Equatable {
    /// Where a domain's sync stands.
    public enum State: String, Sendable, Equatable, CaseIterable {
        case neverSynced = "never_synced", running, succeeded, failed, halted, disabled
    }

    /// Live progress of a running sync.
    public struct Progress: Sendable, Equatable {
        /// `users`, `groups` or `sweep` (the round's end), whichever is still working.
        public var phase: String
        public var pages: Int
        public var objects: Int
        /// Objects per second since the round started.
        public var rate: Double
        public var elapsedSeconds: Double
        /// Percent done of a full round (from `/users/$count` and `/groups/$count`); `nil` otherwise.
        public var percent: Double?
        /// Seconds left at the current rate, for full rounds.
        public var etaSeconds: Double?
        /// Why rounds in progress are not the usual ones, by resource (`users: resync: selected properties changed (+preferredLanguage)`).
        public var note: String? = nil
    }

    public var domain: String
    public var tenantID: UUID
    public var enabled: Bool
    public var state: State
    public var lastSuccessAt: Date?
    public var lastSuccessAgeSeconds: Double?
    public var lastRun: RunRecord?
    public var lastRunDurationSeconds: Double?
    public var users: Int
    public var groups: Int
    public var contacts: Int
    public var memberships: Int
    public var domainUsers: Int
    /// Verified email domains of the tenant that no onboarded domain covers: mail for them is not protected.
    public var unonboardedEmailDomains: [String]
    /// Age of the oldest stored deltaLink; Graph forgets delta state after about 7 days.
    public var cursorAgeSeconds: Double?
    /// One line in plain words with the fix when something is wrong (or worth knowing); `nil` when all is well.
    public var message: String?
    public var progress: Progress?
    /// The domain's latest onboarding check (`dirsync domains check`), if any.
    public var lastCheck: DomainCheckRecord?
    /// The credential of the app registration the domain's tenant is synced with, when configured.
    public var credential: CredentialHealth? = nil

    /// A cursor older than this gets a warning (Graph's delta state lasts about 7 days).
    public static let cursorWarningAge: TimeInterval = 5 * 24 * 3600

    /// What status knows beyond the database: the time, the configured app and its credential.
    public struct Context: Sendable {
        public var now: Date
        /// The configured cloud's URLs, for the consent link messages carry; `nil` leaves it out.
        public var endpoints: GraphEndpoints?
        /// The configured application (client) id (a domain may name its own).
        public var clientID: String?
        /// What is known about the configured credential.
        public var credential: CredentialHealth.Facts?
        /// How long before expiry a credential gets a warning.
        public var credentialWarningWindow: TimeInterval

        public init(now: Date, endpoints: GraphEndpoints? = nil, clientID: String? = nil, credential: CredentialHealth.Facts? = nil,
                    credentialWarningWindow: TimeInterval = CredentialHealth.defaultWarningWindow) {
            self.now = now
            self.endpoints = endpoints
            self.clientID = clientID
            self.credential = credential
            self.credentialWarningWindow = credentialWarningWindow
        }
    }

    /// Derives a domain's status from the facts stored in PostgreSQL.
    public static func from(_ facts: StatusFacts, now: Date) -> DomainStatus {
        from(facts, context: Context(now: now))
    }

    /// Derives a domain's status from the facts stored in PostgreSQL and what the configuration knows.
    public static func from(_ facts: StatusFacts, context: Context) -> DomainStatus {
        let now = context.now
        let clientID = facts.domain.clientID?.uuidString.lowercased() ?? context.clientID
        let credential = context.credential.map { credentialFacts -> CredentialHealth in
            var perApp = credentialFacts
            perApp.clientID = clientID ?? credentialFacts.clientID
            return CredentialHealth.evaluate(perApp, now: now, warningWindow: context.credentialWarningWindow)
        }
        let consentLink = context.endpoints.flatMap { endpoints in
            clientID.map { AdminConsentLink(clientID: $0, tenant: facts.domain.tenantID.uuidString.lowercased(), endpoints: endpoints, state: "").url }
        }
        var status = DomainStatus(
            domain: facts.domain.domain, tenantID: facts.domain.tenantID, enabled: facts.domain.enabled, state: .neverSynced,
            lastSuccessAt: facts.lastSuccess?.finishedAt, lastSuccessAgeSeconds: facts.lastSuccess?.finishedAt.map { now.timeIntervalSince($0) },
            lastRun: facts.lastRun, lastRunDurationSeconds: facts.lastRun.flatMap { run in run.finishedAt.map { $0.timeIntervalSince(run.startedAt) } },
            users: facts.users, groups: facts.groups, contacts: facts.contacts, memberships: facts.memberships, domainUsers: facts.domainUsers,
            unonboardedEmailDomains: facts.unonboardedEmailDomains,
            cursorAgeSeconds: facts.deltaLinkAt.map { now.timeIntervalSince($0) }, message: nil, progress: nil,
            lastCheck: facts.lastCheck, credential: credential)

        let running = facts.lockHeld && facts.lastRun?.state == "running"
        if !facts.domain.enabled {
            status.state = .disabled
            status.message = "disabled: not synced; enable it again with dirsync domains add \(facts.domain.domain)"
            return status
        }
        if running {
            status.state = .running
            status.progress = progress(facts.progress.filter { $0.runID == facts.lastRun?.runID }, now: now)
            status.message = status.progress?.note
            status.lastRunDurationSeconds = facts.lastRun.map { now.timeIntervalSince($0.startedAt) }
        } else if let problem = facts.domain.problem {
            status.state = .failed
            status.message = problem
            return status
        } else if let run = facts.lastRun {
            switch run.state {
            case "succeeded": status.state = .succeeded
            case "halted": status.state = .halted
            case "running", "interrupted", "failed": status.state = .failed
            default: status.state = .failed
            }
            status.message = message(for: run, domain: facts.domain.domain, everSucceeded: facts.lastSuccess != nil, consentLink: consentLink)
        } else {
            status.state = .neverSynced
            if let check = facts.lastCheck {
                status.message = check.ok
                    ? "not synced yet: the onboarding check passed; the next dirsync run performs its first full sync"
                    : check.message ?? "the onboarding check failed; run dirsync domains check \(facts.domain.domain)"
            } else {
                status.message = "not synced yet: the next dirsync run checks the domain and runs its first full sync"
            }
        }
        // A failed check newer than the last run says more about the domain than that run does.
        if !running, let check = facts.lastCheck, !check.ok, let run = facts.lastRun, check.checkedAt > run.startedAt {
            status.message = check.message ?? "the onboarding check failed; run dirsync domains check \(facts.domain.domain)"
        }
        // An unusable credential stops the next run; an expiring one will. Neither hides why a run failed,
        // what the deletion guard holds back, or what a running sync is doing.
        if let problem = credential?.problem, status.state == .succeeded || status.state == .neverSynced || status.message == nil {
            status.message = problem
        }
        if status.message == nil, let warning = credential?.warning {
            status.message = warning
        }
        if status.message == nil, let age = status.cursorAgeSeconds, age > cursorWarningAge {
            let days = Int(age / 86_400)
            status.message = "delta link is \(days) days old and Graph forgets delta state after about 7: run dirsync at least daily, or the next run must resync in full"
        }
        if status.message == nil, !facts.unonboardedEmailDomains.isEmpty {
            let names = facts.unonboardedEmailDomains
            status.message = "the tenant also receives mail for \(names.joined(separator: ", ")), verified but not onboarded: mail for "
                + (names.count == 1 ? "it" : "them") + " is not covered; onboard with dirsync domains add \(names[0])"
        }
        return status
    }

    /// Plain words and the fix for how a run ended; `nil` for a clean success.
    /// - Parameters:
    ///   - everSucceeded: whether the tenant synced before: access lost since then was taken away.
    ///   - consentLink: the admin-consent link for the domain's tenant, when the app is known.
    static func message(for run: RunRecord, domain: String, everSucceeded: Bool = false, consentLink: String? = nil) -> String? {
        switch run.state {
        case "succeeded":
            return run.throttled > 0 ? "succeeded, but Graph throttled \(run.throttled) requests; if this persists, run tenants with lower --concurrency or less often" : nil
        case "halted":
            let numbers = run.deletionsPending.map { pending in "\(pending) deletions pending" + (run.deletionLimit.map { " (limit \($0))" } ?? "") } ?? "deletions pending"
            return "halted by the deletion guard: \(numbers); review them in Entra, then run dirsync run --allow-deletes --domain \(domain)"
        case "running":
            return "the last run stopped without finishing (process killed?); the next run resumes from its last committed page"
        case "interrupted":
            return "the last run was interrupted; the next run resumes from its last committed page"
        default:
            let detail = run.errorMessage ?? "the last run failed"
            let sendLink = "send the tenant's admin the consent link again: " + (consentLink ?? "see") + " (dirsync domains consent-url \(domain))"
            switch run.errorClass {
            case "consent_missing":
                return everSucceeded
                    ? "consent revoked in the tenant: the app no longer holds any of its permissions there (User.Read.All, Group.Read.All, GroupMember.Read.All, Directory.Read.All); \(sendLink). \(detail)"
                    : "admin consent missing: ask the tenant's admin to grant admin consent to the dirsync app (User.Read.All, Group.Read.All, GroupMember.Read.All, Directory.Read.All); "
                        + "consent link: " + (consentLink ?? "see") + " (dirsync domains consent-url \(domain)). \(detail)"
            case "app_missing":
                return everSucceeded
                    ? "app deleted in the tenant: the dirsync app's enterprise application (service principal) is gone, so no token is issued; \(sendLink) (consenting re-creates it). \(detail)"
                    : "app not in the tenant: admin consent was never granted there; \(sendLink). \(detail)"
            case "app_disabled":
                return "app disabled in the tenant: an admin turned off the dirsync enterprise application; ask them to enable it again. \(detail)"
            case "permission_missing":
                return (everSucceeded ? "permission removed in the tenant: " : "permission missing: ") + "\(detail) Then \(sendLink)."
            case "credential_expired":
                return "credential expired: \(detail)"
            case "credential_invalid":
                return "credential rejected: \(detail)"
            case "domain_not_verified":
                return "domain not verified: \(detail)"
            case "throttled":
                return "throttled by Graph beyond the run's deadline: \(detail); retry later or lower --concurrency"
            default:
                return detail
            }
        }
    }

    static func progress(_ rows: [ProgressRecord], now: Date) -> Progress? {
        guard !rows.isEmpty else { return nil }
        let working = rows.filter { $0.phase != .done }
        let phase: String
        let loading = rows.first { $0.phase.isFirstLoad }
        if let loading {
            // A parallel first load: tokens, waiting, listing or verifying, the same for every resource.
            phase = loading.phase.rawValue
        } else if working.isEmpty {
            phase = "sweep"
        } else if working.contains(where: { $0.phase == .sweep }) {
            phase = "sweep"
        } else if working.contains(where: { $0.note?.hasPrefix("catching up") == true }) {
            phase = "catching up"
        } else {
            phase = working.map(\.resource.rawValue).sorted().joined(separator: "+")
        }
        let pages = rows.reduce(0) { $0 + $1.pages }
        let objects = rows.reduce(0) { $0 + $1.objects }
        let started = rows.map(\.startedAt).min() ?? now
        let elapsed = max(0.001, now.timeIntervalSince(started))
        let rate = Double(objects) / elapsed
        var percent: Double?
        var eta: Double?
        // A finished round is all of itself; an unfinished one needs Graph's count to say how far it is.
        // A first load's percent counts what Graph counted (users, groups); contacts it does not count.
        let counted = loading == nil ? rows : rows.filter { $0.expectedTotal != nil }
        let shares = counted.map { row -> (done: Int, total: Int)? in
            if let total = row.expectedTotal { return (min(row.objects, total), total) }
            return row.phase == .done ? (row.objects, row.objects) : nil
        }
        if shares.allSatisfy({ $0 != nil }), case let total = shares.reduce(0, { $0 + $1!.total }), total > 0 {
            let done = Double(shares.reduce(0) { $0 + $1!.done })
            percent = (done / Double(total) * 1000).rounded() / 10
            eta = rate > 0 ? (Double(total) - done) / rate : nil
        }
        let notes = rows.sorted { $0.resource < $1.resource }.compactMap { row in row.note.map { "\(row.resource.rawValue): \($0)" } }
        let note = loading.map { "parallel first load, \($0.phase.rawValue)" } ?? (notes.isEmpty ? nil : notes.joined(separator: "; "))
        return Progress(phase: phase, pages: pages, objects: objects, rate: rate, elapsedSeconds: elapsed, percent: percent, etaSeconds: eta,
                        note: note)
    }
}
