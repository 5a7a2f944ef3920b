import DirSyncCore
import Foundation
import Prometheus

/// Renders `dirsync status` as a table, as JSON, or in the Prometheus text format.
enum StatusRenderer {
    /// A table for a 120-column terminal: one row per domain, and an indented line for the
    /// message or live progress when there is one.
    static func table(_ statuses: [DomainStatus]) -> String {
        guard !statuses.isEmpty else { return "no domains onboarded; add one with dirsync domains add DOMAIN" }
        var table = TextTable(columns: ["DOMAIN", "TENANT", "STATE", "SUCCESS", "LAST RUN", "USERS", "GROUPS", "MEMBERS", "DOM.USERS", "CURSOR"])
        table.maxWidth = 25
        var notes: [Int: String] = [:]
        for (index, status) in statuses.enumerated() {
            let mode = status.lastRun.map { $0.mode == "incremental" ? "incr" : $0.mode }
            let run = status.state == .running ? "\(mode.map { $0 + " " } ?? "")now \(StatusDuration.short(status.lastRunDurationSeconds ?? 0))"
                : mode.map { mode in status.lastRunDurationSeconds.map { "\(mode) \(StatusDuration.short($0))" } ?? mode } ?? "-"
            table.add([
                status.domain, String(status.tenantID.uuidString.lowercased().prefix(8)), status.state.rawValue,
                status.lastSuccessAgeSeconds.map { StatusDuration.short($0) + " ago" } ?? "never", run,
                String(status.users), String(status.groups), String(status.memberships), String(status.domainUsers),
                status.cursorAgeSeconds.map(StatusDuration.short) ?? "-",
            ])
            if let progress = status.progress {
                var line = "running: \(progress.phase), \(progress.pages) pages, \(progress.objects) objects, \(Int(progress.rate.rounded()))/s, \(StatusDuration.short(progress.elapsedSeconds)) elapsed"
                if let percent = progress.percent { line += ", \(percent)% done" }
                if let eta = progress.etaSeconds { line += ", ETA \(StatusDuration.short(eta))" }
                notes[index] = line
            } else if let message = status.message {
                notes[index] = message
            }
        }
        let lines = table.render().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var output = [lines[0]]
        for (index, line) in lines.dropFirst().enumerated() {
            output.append(line)
            if let note = notes[index] { output.append(contentsOf: wrap("  ↳ " + note, width: 118, indent: "    ")) }
        }
        return output.joined(separator: "\n")
    }

    private static func wrap(_ text: String, width: Int, indent: String) -> [String] {
        var lines: [String] = []
        var current = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: false) {
            if !current.isEmpty, current.count + 1 + word.count > width {
                lines.append(current)
                current = indent + word
            } else {
                current += current.isEmpty ? String(word) : " " + word
            }
        }
        if !current.isEmpty { lines.append(current) }
        return lines.map { $0.count > 120 ? String($0.prefix(119)) + "…" : $0 }
    }

    /// The stable JSON form; see README.md ("dirsync status --format json") for the fields.
    static func json(_ statuses: [DomainStatus]) throws -> String {
        let iso = Date.ISO8601FormatStyle()
        func date(_ value: Date?) -> Any { value.map { iso.format($0) } ?? NSNull() }
        func number(_ value: Double?) -> Any { value.map { ($0 * 10).rounded() / 10 } ?? NSNull() }
        let items: [[String: Any]] = statuses.map { status in
            var item: [String: Any] = [
                "domain": status.domain, "tenant_id": status.tenantID.uuidString.lowercased(), "enabled": status.enabled,
                "state": status.state.rawValue, "last_success_at": date(status.lastSuccessAt),
                "last_success_age_seconds": number(status.lastSuccessAgeSeconds), "users": status.users, "groups": status.groups,
                "memberships": status.memberships, "domain_users": status.domainUsers, "cursor_age_seconds": number(status.cursorAgeSeconds),
                "contacts": status.contacts, "unonboarded_email_domains": status.unonboardedEmailDomains,
                "message": status.message ?? NSNull(),
            ]
            if let run = status.lastRun {
                item["last_run"] = [
                    "started_at": date(run.startedAt), "finished_at": date(run.finishedAt), "mode": run.mode, "state": run.state,
                    "duration_seconds": number(status.lastRunDurationSeconds), "error": run.errorMessage ?? NSNull(),
                    "error_class": run.errorClass ?? NSNull(), "pages": run.pages, "objects_upserted": run.objectsUpserted,
                    "objects_deleted": run.objectsDeleted, "throttled": run.throttled, "reason": run.reason ?? NSNull(),
                ] as [String: Any]
            } else {
                item["last_run"] = NSNull()
            }
            if let check = status.lastCheck {
                item["check"] = [
                    "checked_at": date(check.checkedAt), "ok": check.ok, "consent_missing": check.consentMissing,
                    "missing_permissions": check.missingPermissions, "domain_verified": check.domainVerified ?? NSNull(),
                    "message": check.message ?? NSNull(),
                ] as [String: Any]
            } else {
                item["check"] = NSNull()
            }
            if let credential = status.credential {
                item["credential"] = [
                    "kind": credential.kind.rawValue, "client_id": credential.clientID, "expires_at": date(credential.expiresAt),
                    "expires_in_seconds": number(credential.expiresInSeconds), "problem": credential.problem ?? NSNull(),
                    "warning": credential.warning ?? NSNull(),
                ] as [String: Any]
            } else {
                item["credential"] = NSNull()
            }
            if let progress = status.progress {
                item["progress"] = [
                    "phase": progress.phase, "pages": progress.pages, "objects": progress.objects, "rate": number(progress.rate),
                    "elapsed_seconds": number(progress.elapsedSeconds), "percent": number(progress.percent), "eta_seconds": number(progress.etaSeconds),
                    "note": progress.note ?? NSNull(),
                ] as [String: Any]
            } else {
                item["progress"] = NSNull()
            }
            return item
        }
        let data = try JSONSerialization.data(withJSONObject: items, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    /// Prometheus text exposition for the node_exporter textfile collector.
    /// - Parameter maxAgeSeconds: `--max-age`: emitted per enabled domain for the staleness alert.
    static func prometheus(_ statuses: [DomainStatus], maxAgeSeconds: Double? = nil) -> String {
        let registry = PrometheusCollectorRegistry()
        // One series per app registration and credential kind, however many domains use it.
        var credentials: [String: CredentialHealth] = [:]
        for credential in statuses.compactMap(\.credential) { credentials[credential.clientID + "/" + credential.kind.rawValue] = credential }
        for (_, credential) in credentials.sorted(by: { $0.key < $1.key }) {
            let labels = [("client_id", credential.clientID), ("kind", credential.kind.rawValue)]
            if let expiresAt = credential.expiresAt {
                registry.gauge("dirsync_credential_expiry_timestamp_seconds", labels,
                                   help: "Unix time the app registration's credential expires (certificate notAfter, DIRSYNC_CLIENT_SECRET_EXPIRES_AT, federated token exp).")
                    .set(expiresAt.timeIntervalSince1970)
            }
            registry.gauge("dirsync_credential_problem", labels,
                               help: "1 when the credential cannot be used now (expired, file missing or unreadable), else 0.").set(credential.problem == nil ? 0.0 : 1.0)
        }
        for status in statuses {
            let labels = [("domain", status.domain), ("tenant_id", status.tenantID.uuidString.lowercased())]
            if let maxAgeSeconds, status.enabled {
                registry.gauge("dirsync_domain_max_age_seconds", labels,
                                   help: "How old the domain's last success may get before it counts as stale (dirsync status --max-age).").set(maxAgeSeconds)
            }
            for state in DomainStatus.State.allCases {
                registry.gauge("dirsync_domain_state", labels + [("state", state.rawValue)],
                                   help: "1 for the domain's current sync state, 0 otherwise.").set(state == status.state ? 1.0 : 0.0)
            }
            registry.gauge("dirsync_domain_enabled", labels, help: "1 when the domain is synced.").set(status.enabled ? 1.0 : 0.0)
            if let success = status.lastSuccessAt {
                registry.gauge("dirsync_domain_last_success_timestamp_seconds", labels,
                                   help: "Unix time of the last successful sync of the domain's tenant.").set(success.timeIntervalSince1970)
            }
            if let duration = status.lastRunDurationSeconds {
                registry.gauge("dirsync_domain_last_run_duration_seconds", labels, help: "Duration of the tenant's last run.").set(duration)
            }
            if let run = status.lastRun {
                registry.gauge("dirsync_domain_last_run_objects", labels,
                                   help: "Objects upserted or deleted by the tenant's last run.").set(Double(run.objectsUpserted + run.objectsDeleted))
                registry.gauge("dirsync_domain_last_run_failed", labels,
                                   help: "1 when the tenant's last run failed, was interrupted or halted.").set(["failed", "interrupted", "halted"].contains(run.state) ? 1.0 : 0.0)
                registry.gauge("dirsync_domain_last_run_throttled_responses", labels,
                                   help: "Responses Graph throttled during the tenant's last run.").set(Double(run.throttled))
            }
            registry.gauge("dirsync_domain_users", labels, help: "Live users whose UPN, mail or a proxy address is in the domain.").set(Double(status.domainUsers))
            registry.gauge("dirsync_tenant_users", labels, help: "Live users of the domain's tenant.").set(Double(status.users))
            registry.gauge("dirsync_tenant_groups", labels, help: "Live groups of the domain's tenant.").set(Double(status.groups))
            registry.gauge("dirsync_tenant_contacts", labels, help: "Live org contacts of the domain's tenant.").set(Double(status.contacts))
            registry.gauge("dirsync_tenant_memberships", labels, help: "Direct memberships of the domain's tenant.").set(Double(status.memberships))
            registry.gauge("dirsync_tenant_unonboarded_email_domains", labels,
                               help: "Verified email domains of the tenant that are not onboarded (mail for them is not covered).").set(Double(status.unonboardedEmailDomains.count))
            if let age = status.cursorAgeSeconds {
                registry.gauge("dirsync_domain_cursor_age_seconds", labels, help: "Age of the oldest stored delta link (Graph keeps about 7 days).").set(age)
            }
            if let progress = status.progress {
                registry.gauge("dirsync_domain_progress_objects", labels, help: "Objects processed by the running sync.").set(Double(progress.objects))
            }
        }
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}

extension PrometheusCollectorRegistry {
    /// A gauge by its whole name (no namespace or unit parts), with its labels and help text.
    fileprivate func gauge(_ name: String, _ labels: [(String, String)], help: String) -> Gauge {
        makeGauge(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels)
    }
}
