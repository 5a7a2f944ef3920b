import ArgumentParser
import DirSyncCore
import Foundation
import GraphHTTP
import Logging
import PostgresStore

extension DomainsCommand {
    /// `dirsync domains check DOMAIN…`: the onboarding preflight.
    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Check that domains are ready to sync: tenant, token, admin consent, verified domain, each permission.",
            discussion: """
                Writes no directory rows. Each permission is probed with the cheapest Graph request that \
                needs it (one object, its id only), and the token's roles show exactly what was granted. \
                Prints one line per check (✓ passed, ✗ failed with the fix, – not checked) and exits 1 \
                when any check fails. For onboarded domains the result is recorded (when DATABASE_URL is \
                set), so dirsync status shows "awaiting consent" or "permission missing: …" before the \
                first sync.
                """
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var graph: GraphOptions
        @OptionGroup var tenantOptions: TenantOptions

        @Argument(help: "The domains to check; they need not be onboarded yet.")
        var domains: [String]

        @Option(name: .long, help: "Output format: table (text) or json.")
        var format: OutputFormat = .table

        func validate() throws {
            guard !domains.isEmpty else { throw ValidationError("name at least one domain") }
            for domain in domains { do { _ = try DomainName.normalize(domain) } catch { throw ValidationError(error.description) } }
        }

        func run() async throws {
            let logger = global.makeLogger()
            let names = try domains.map(DomainName.normalize)
            let configuration = try global.configuration(cloud: graph.cloud)
            let runtime = try await configuration.graphRuntime(logger: logger)
            let checker = DomainChecker(client: runtime.client, tokens: runtime.tokens, logger: logger)
            // The check works before a database exists; with DATABASE_URL it reads and records onboarded domains.
            let results = if configuration.databaseURLIsSet {
                try await configuration.withDatabase(logger: logger) { connection in
                    try await check(names, checker: checker, runtime: runtime,
                                    store: PostgresDomainStore(connection: connection), checks: PostgresDomainChecks(connection: connection))
                }
            } else {
                try await check(names, checker: checker, runtime: runtime, store: nil, checks: nil)
            }

            switch format {
            case .table: print(Self.text(results, databaseConfigured: configuration.databaseURLIsSet))
            case .json: print(try Self.json(results))
            }
            let failed = results.filter { !$0.report.ok }.map(\.report.domain)
            if !failed.isEmpty {
                throw CommandFailure(.failure, "\(failed.count) of \(results.count) domain(s) not ready to sync: \(failed.joined(separator: ", ")); the lines marked ✗ say what to fix")
            }
        }

        private func check(_ names: [String], checker: DomainChecker, runtime: GraphRuntime, store: PostgresDomainStore?,
                           checks: PostgresDomainChecks?) async throws -> [(report: DomainCheckReport, recorded: Bool)] {
            var results: [(report: DomainCheckReport, recorded: Bool)] = []
            for name in names {
                let record = try await store?.find(name)
                let tenant = TenantResolution.known(flag: tenantOptions.tenant, record: record)
                let client = tenantOptions.clientID?.lowercased() ?? record?.clientID?.uuidString.lowercased() ?? runtime.configuration.clientID
                let facts = await checker.facts(domain: name, tenant: tenant, clientID: client) { tenant in
                    AdminConsentLink(clientID: client, tenant: tenant, endpoints: runtime.configuration.endpoints, state: AdminConsentLink.randomState()).url
                }
                let report = DomainCheckReport.evaluate(facts)
                var recorded = false
                if let checks, record != nil, let tenant = report.tenantID ?? record?.tenantID {
                    recorded = try await checks.record(report, tenantID: tenant)
                }
                results.append((report, recorded))
            }
            return results
        }

        static func text(_ results: [(report: DomainCheckReport, recorded: Bool)], databaseConfigured: Bool) -> String {
            var lines: [String] = []
            let width = (["consent", "domain"] + GraphPermission.allCases.map(\.rawValue)).map(\.count).max() ?? 0
            for (report, recorded) in results {
                if !lines.isEmpty { lines.append("") }
                lines.append("\(report.domain): \(report.ok ? "ready to sync" : "not ready")")
                for line in report.lines {
                    var text = "  \(line.outcome.symbol) \(line.check.padding(toLength: width, withPad: " ", startingAt: 0))  \(line.detail)"
                    if let fix = line.fix { text += ". Fix: \(fix)" }
                    lines.append(text)
                }
                if recorded {
                    let shown = report.consentMissing ? "\"awaiting consent\""
                        : !report.missingPermissions.isEmpty ? "\"permission missing: \(report.missingPermissions.map(\.rawValue).joined(separator: ", "))\""
                        : report.statusMessage.map { "\"\($0.prefix { $0 != ":" })\"" } ?? "it as ready"
                    lines.append("  recorded: dirsync status shows \(shown)")
                } else if databaseConfigured {
                    lines.append("  not recorded: \(report.domain) is not onboarded (dirsync domains add \(report.domain))")
                }
            }
            return lines.joined(separator: "\n")
        }

        static func json(_ results: [(report: DomainCheckReport, recorded: Bool)]) throws -> String {
            let items: [[String: Any]] = results.map { report, recorded in
                [
                    "domain": report.domain, "tenant_id": report.tenantID.map { $0.uuidString.lowercased() } as Any? ?? NSNull(),
                    "ok": report.ok, "consent_missing": report.consentMissing,
                    "missing_permissions": report.missingPermissions.map(\.rawValue),
                    "domain_verified": report.domainVerified as Any? ?? NSNull(),
                    "consent_url": report.consentURL as Any? ?? NSNull(), "message": report.statusMessage as Any? ?? NSNull(),
                    "recorded": recorded,
                    "checks": report.lines.map { line in
                        ["check": line.check, "outcome": line.outcome.rawValue, "detail": line.detail, "fix": line.fix as Any? ?? NSNull()]
                    },
                ]
            }
            let data = try JSONSerialization.data(withJSONObject: items, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            return String(decoding: data, as: UTF8.self)
        }
    }
}
