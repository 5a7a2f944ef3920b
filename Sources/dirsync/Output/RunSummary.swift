import DirSyncCore
import Foundation
import Logging

/// Renders what `dirsync run` did, one row per tenant, and derives the exit status.
enum RunSummary {
    static func render(_ results: [TenantSyncResult]) -> String {
        var table = TextTable(columns: ["TENANT", "DOMAINS", "STATE", "MODE", "UPSERTED", "DELETED", "MEMBERS +/-", "PAGES", "SECONDS", "MESSAGE"])
        table.maxWidth = 60
        for result in results {
            let dry = result.dryRun ? " (dry run)" : ""
            table.add([
                result.tenantID.uuidString.lowercased(), result.domains.joined(separator: ","), result.state.rawValue + dry, result.mode.rawValue,
                String(result.objectsUpserted), String(result.dryRun ? result.deletionsPlanned : result.objectsDeleted),
                "+\(result.membershipsAdded)/-\(result.membershipsRemoved)", String(result.pages),
                String(format: "%.1f", result.finishedAt.timeIntervalSince(result.startedAt)), message(result),
            ])
        }
        return table.render()
    }

    static func message(_ result: TenantSyncResult) -> String {
        var parts: [String] = []
        if let failure = result.failure { parts.append(failure.message) }
        if !result.unverifiedDomains.isEmpty { parts.append("not verified in this tenant: \(result.unverifiedDomains.joined(separator: ", "))") }
        if result.state == .skipped { parts.append("another dirsync run is syncing this tenant") }
        if let reason = result.reason { parts.append(result.dryRun ? "due: \(reason)" : reason) }
        switch result.firstLoad?.outcome {
        case .loaded?: parts.append("parallel first load: \(result.firstLoad!.requests) requests, at most \(result.firstLoad!.peakInFlight) in flight")
        case .fellBack(let why)?: parts.append(why)
        default: break
        }
        return parts.joined(separator: "; ")
    }

    static func log(_ result: TenantSyncResult, logger: Logger) {
        logger.info("tenant sync finished", metadata: [
            "state": "\(result.state.rawValue)", "mode": "\(result.mode.rawValue)", "pages": "\(result.pages)",
            "objects.upserted": "\(result.objectsUpserted)", "objects.deleted": "\(result.objectsDeleted)",
            "memberships.added": "\(result.membershipsAdded)", "memberships.removed": "\(result.membershipsRemoved)",
            "requests": "\(result.requests)", "throttled": "\(result.throttled)", "reason": "\(result.reason ?? "")",
        ])
    }
}
